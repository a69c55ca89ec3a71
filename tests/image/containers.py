"""Running the images under test: start, ask, stop, and what was observed on the way."""

import http.client
import json
import subprocess
import time
import uuid
from dataclasses import dataclass, field

import pytest
import testinfra

from tests.service import HEALTH_PATH
from tools import containers as harness
from tools import engine, images
from tools.project import NAME

STARTUP_SECONDS = 60
# Every container and volume a test makes carries this prefix and is removed by that test.
PREFIX = f"{NAME}-test"


@dataclass
class Response:
    """An HTTP answer: its status, its headers by lower-case name, its body as bytes."""

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

    def request(
        self,
        method: str,
        path: str,
        payload: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send ``method path`` to the container's published port on 127.0.0.1, ``payload``
        as a JSON body when given, with ``headers``; the answer within 10 s, else OSError."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = json.dumps(payload) if payload is not None else None
        sent = ({"Content-Type": "application/json"} if body else {}) | (headers or {})
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            headers = {name.lower(): value for name, value in answer.getheaders()}
            return Response(answer.status, headers, answer.read())
        finally:
            connection.close()

    def state(self) -> dict:
        return harness.state(self.id)

    def logs(self) -> str:
        return harness.logs(self.id)


def try_start(
    tag: str,
    *run_args: str,
    health_path: str = HEALTH_PATH,
    startup_seconds: float = STARTUP_SECONDS,
) -> tuple[Container | None, str]:
    """``docker run`` an image, its port published on loopback, until ``health_path`` answers.

    Returns the container, or None and what was observed (exit code, logs) when it stopped or
    never answered (tools/containers.py, the harness every tool uses, removed it then).
    """
    try:
        running, _ = harness.serve(
            tag,
            *run_args,
            name=f"{PREFIX}-{uuid.uuid4().hex[:12]}",
            path=health_path,
            limit=startup_seconds,
            interval=0.2,
        )
    except harness.NotServing as failure:
        return None, f"{failure.observed}; logs:\n{failure.logs[-2000:]}"
    return Container(running.id, running.port, testinfra.get_host(f"docker://{running.id}")), ""


def start_container(
    tag: str, *run_args: str, startup_seconds: float = STARTUP_SECONDS
) -> Container:
    container, observed = try_start(tag, *run_args, startup_seconds=startup_seconds)
    if container is None:
        pytest.fail(f"{tag} did not start: {observed}")
    return container


def stop(container: Container, seconds: int) -> tuple[float, int]:
    """``docker stop --time seconds``: how long it took and the exit code."""
    started = time.perf_counter()
    engine.docker("stop", "--time", str(seconds), container.id)
    return time.perf_counter() - started, container.state()["ExitCode"]


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
    harness.remove_container(container.id)


# How each image's own Python is started, in exec form: testinfra's docker backend wraps every
# command in `/bin/sh -c`, which a shell-less image has not, and the toolbox beside it
# (toolbox.py) cannot run the image's interpreter; `docker exec` with an argv runs it itself.
PYTHON_COMMAND = {
    "optimized": ("python",),
    "minimal": ("python",),
    "baseline": ("poetry", "run", "python"),
}


def python_in(image: images.Image, container: Container, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` with the image's Python in the running container, as its configured user."""
    return subprocess.run(
        ["docker", "exec", container.id, *PYTHON_COMMAND[image.name], "-c", code],
        capture_output=True,
        text=True,
    )


def python_output(image: images.Image, container: Container, code: str) -> str:
    done = python_in(image, container, code)
    assert done.returncode == 0, f"{image.tag}'s Python failed: {done.stderr[-2000:]}"
    return done.stdout
