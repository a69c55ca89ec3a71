"""Fixtures for the image tests: the engine, the built images, running containers."""

import http.client
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

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


def start_container(tag: str, *run_args: str) -> Container:
    """``docker run`` an image with its port published on loopback; wait for /healthz."""
    container_id = images.docker("run", "--detach", "--publish", "127.0.0.1::8000", *run_args, tag)
    container_id = container_id.strip()
    address = images.docker("port", container_id, "8000/tcp").splitlines()[0]
    container = Container(
        container_id, int(address.rsplit(":", 1)[1]), testinfra.get_host(f"docker://{container_id}")
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if container.request("GET", "/healthz").status == 200:
                return container
        except OSError:
            pass
        if not container.state()["Running"]:
            break
        time.sleep(0.2)
    logs = container.logs()
    remove_container(container)
    pytest.fail(f"{tag} did not answer /healthz within {STARTUP_SECONDS} s:\n{logs}")


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
