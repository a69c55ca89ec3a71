"""Fixtures for the arm64 proof: the image the multi-platform build made, one container of it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import platforms
from tools import engine
from tools.containers import Running as Container
from tools.containers import remove_container, start

from .emulated import ARM64, HEALTH_TIMEOUT, STARTUP_SECONDS


@pytest.fixture(scope="session")
def arm64() -> platforms.Built:
    """Stop the run with one clear line when emulation or the arm64 image is missing."""
    try:
        engine.require_engine()
        platforms.require_emulation(ARM64, platforms.native_platform())
        built = platforms.last_built().get(ARM64)
        if built is None or not engine.image_exists(built.ref):
            raise engine.ImageToolError(f"no {ARM64} image: run `nox -s multiarch`")
    except engine.ImageToolError as error:
        pytest.exit(str(error), returncode=1)
    return built


@pytest.fixture(scope="session")
def saved(arm64: platforms.Built, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return platforms.saved_platforms(arm64.ref, tmp_path_factory.mktemp("saved"))


@pytest.fixture(scope="session")
def container(arm64: platforms.Built) -> Iterator[Container]:
    """One emulated container, shared: each start costs seconds under qemu."""
    running = start(
        arm64.ref,
        "--platform",
        ARM64,
        f"--health-timeout={HEALTH_TIMEOUT}",
        limit=STARTUP_SECONDS,
    )
    yield running
    remove_container(running)


@pytest.fixture(scope="session")
def exported(arm64: platforms.Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The arm64 image's filesystem (`docker export`: read from outside, nothing runs)."""
    path = tmp_path_factory.mktemp("export") / "arm64.tar"
    container_id = engine.docker("create", "--platform", ARM64, arm64.ref).strip()
    try:
        engine.docker("export", "--output", str(path), container_id)
    finally:
        engine.remove_container(container_id)
    return path
