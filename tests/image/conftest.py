"""Fixtures for the image tests: the engine, the built images, running containers."""

from collections.abc import Iterator

import pytest
import testinfra

from tools import base_images, engine, images
from tools.containers import named_volume

from . import toolbox
from .containers import PREFIX, Container, remove_container, start_container


@pytest.fixture(scope="session", autouse=True)
def built_images() -> None:
    """Stop the run with one clear message when the engine or the images are missing."""
    try:
        engine.require_engine()
        images.require_built(*images.IMAGES)
        base_images.used()
    except engine.ImageToolError as error:
        pytest.exit(str(error), returncode=1)


@pytest.fixture(scope="session")
def bases() -> dict[str, str]:
    """Official base image name -> the image `nox -s build` used (official or stand-in)."""
    return base_images.used()


class ContainerPool:
    """One running container per image, shared by the checks that only look at it."""

    def __init__(self) -> None:
        self._running: dict[str, Container] = {}

    def get(self, image: images.Image) -> Container:
        if image.tag not in self._running:
            self._running[image.tag] = start_container(image.tag)
        return self._running[image.tag]

    def close(self) -> None:
        for container in self._running.values():
            remove_container(container)


@pytest.fixture(scope="session")
def pool() -> Iterator[ContainerPool]:
    containers = ContainerPool()
    yield containers
    containers.close()


@pytest.fixture
def container(pool: ContainerPool, image: images.Image) -> Container:
    return pool.get(image)


class Toolboxes:
    """A toolbox beside each of the pool's containers (toolbox.py), its image built once."""

    def __init__(self, pool: ContainerPool, bases: dict[str, str]) -> None:
        self._pool = pool
        self._tag = toolbox.build(bases)
        self._attached: dict[str, str] = {}

    def host(self, image: images.Image) -> testinfra.host.Host:
        if image.tag not in self._attached:
            self._attached[image.tag] = toolbox.attach(self._tag, self._pool.get(image))
        return toolbox.get_host(self._attached[image.tag])

    def close(self) -> None:
        for container in self._attached.values():
            engine.remove_container(container)
        toolbox.remove_image(self._tag)


@pytest.fixture(scope="session")
def toolboxes(pool: ContainerPool, bases: dict[str, str]) -> Iterator[Toolboxes]:
    """Torn down before the pool it depends on: the toolboxes, then their image, go first."""
    boxes = Toolboxes(pool, bases)
    try:
        yield boxes
    finally:
        boxes.close()


@pytest.fixture
def host(toolboxes: Toolboxes, image: images.Image) -> testinfra.host.Host:
    """testinfra's host for the running container of ``image``: its processes and sockets, and
    its files under toolbox.CONTAINER_ROOT (/proc/1/root), through a toolbox beside it."""
    return toolboxes.host(image)


@pytest.fixture
def volume() -> Iterator[str]:
    """A named volume for /data, removed afterwards."""
    with named_volume(PREFIX) as name:
        yield name


FIGURES: list[str] = []


@pytest.fixture
def figures() -> list[str]:
    """Measurements a test wants shown at the end of the run, whatever its outcome."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("image measurements")
        for line in FIGURES:
            terminalreporter.write_line(line)
