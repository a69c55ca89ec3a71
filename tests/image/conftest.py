"""Fixtures for the image tests: the engine, the built images, running containers."""

import http.client
import json
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import testinfra

from tools import images

STARTUP_SECONDS = 60
# How each image's own Python is started, to ask it where its code and data live.
PYTHON_COMMAND = {"optimized": "python", "baseline": "poetry run python"}


def per_image(**expected: bool) -> pytest.MarkDecorator:
    """Run a check on each image with the outcome expected of it: True, the property holds.

    The baseline is the negative control: a check it does not fail proves nothing.
    """
    return pytest.mark.parametrize(
        ("image", "expected"),
        [(getattr(images, name.upper()), holds) for name, holds in expected.items()],
        ids=[f"{name}-{'holds' if holds else 'fails'}" for name, holds in expected.items()],
    )


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Container:
    id: str
    port: int
    host: testinfra.host.Host = field(repr=False)

    def request(self, method: str, path: str, payload: dict | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = json.dumps(payload) if payload is not None else None
        headers = {"Content-Type": "application/json"} if body else {}
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return Response(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            connection.close()

    def state(self) -> dict:
        return json.loads(images.docker("inspect", "--format", "{{json .State}}", self.id))

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", self.id], capture_output=True, text=True)
        return done.stdout + done.stderr


def try_start(tag: str, *run_args: str) -> tuple[Container | None, str]:
    """``docker run`` an image, its port published on loopback, until /healthz answers.

    Returns the container, or None and its logs when it stopped or never answered.
    """
    container_id = images.docker("run", "--detach", "--publish", "127.0.0.1::8000", *run_args, tag)
    container_id = container_id.strip()
    address = images.docker("port", container_id, "8000/tcp", check=False).splitlines()
    port = int(address[0].rsplit(":", 1)[1]) if address else 0
    container = Container(container_id, port, testinfra.get_host(f"docker://{container_id}"))
    deadline = time.monotonic() + STARTUP_SECONDS
    while port and time.monotonic() < deadline:
        try:
            if container.request("GET", "/healthz").status == 200:
                return container, ""
        except OSError:
            pass
        if not container.state()["Running"]:
            break
        time.sleep(0.2)
    logs = container.logs()
    remove_container(container)
    return None, logs


def start_container(tag: str, *run_args: str) -> Container:
    container, logs = try_start(tag, *run_args)
    if container is None:
        pytest.fail(f"{tag} did not answer /healthz within {STARTUP_SECONDS} s:\n{logs}")
    return container


def run_until_exit(tag: str, *run_args: str, seconds: float = 15) -> tuple[int | None, str]:
    """Run a container in the foreground: its exit code (None: still running) and its output."""
    name = f"shortlink-test-{uuid.uuid4().hex[:12]}"
    try:
        done = subprocess.run(
            ["docker", "run", "--name", name, *run_args, tag],
            capture_output=True,
            text=True,
            timeout=seconds,
        )
        return done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        return None, f"still running after {seconds} s"
    finally:
        images.docker("rm", "--force", name, check=False)


def wait_for_health(container: Container, seconds: float = 30) -> str | None:
    """The HEALTHCHECK's verdict once it has one (None: the image has no HEALTHCHECK)."""
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        status = (container.state().get("Health") or {}).get("Status")
        if status in ("healthy", "unhealthy", None):
            return status
        time.sleep(0.5)
    return status


def remove_container(container: Container) -> None:
    images.docker("rm", "--force", "--volumes", container.id, check=False)


@pytest.fixture(scope="session", autouse=True)
def built_images() -> None:
    """Stop the run with one clear message when the engine or the images are missing."""
    try:
        images.require_engine()
        images.require_built(*images.IMAGES)
    except images.ImageToolError as error:
        pytest.exit(str(error), returncode=1)


@pytest.fixture(scope="session")
def bases() -> dict[str, str]:
    """Official base image name -> the image the build used (official or stand-in)."""
    return images.resolve_base_images()[1]


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


@pytest.fixture
def volume() -> Iterator[str]:
    """A named volume for /data, removed afterwards."""
    name = f"shortlink-test-{uuid.uuid4().hex[:12]}"
    images.docker("volume", "create", name)
    yield name
    images.docker("volume", "rm", "--force", name, check=False)


@pytest.fixture(scope="session")
def filesystem(tmp_path_factory: pytest.TempPathFactory) -> Callable[[images.Image], Path]:
    """The flattened filesystem of an image (``docker export``), made once per image."""
    exported: dict[str, Path] = {}

    def export(image: images.Image) -> Path:
        if image.tag not in exported:
            path = tmp_path_factory.mktemp("export") / f"{image.name}.tar"
            container_id = images.docker("create", image.tag).strip()
            try:
                images.docker("export", "--output", str(path), container_id)
            finally:
                images.docker("rm", container_id, check=False)
            exported[image.tag] = path
        return exported[image.tag]

    return export


def members(archive: Path) -> Iterator[tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        yield from tar


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
