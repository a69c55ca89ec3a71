"""Run an image until it serves, ask it over HTTP, stop it: the one container harness (the
image contract, the service's feature checks and compose's tests use it; the lab wraps it).

A container runs detached with its port 8000 published on an ephemeral port of 127.0.0.1; its
health path is polled until it answers 200, within a deadline; a container that exits or never
answers is removed, with its anonymous volumes, and reported with its last log lines.
"""

import contextlib
import http.client
import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tools import engine
from tools.profile import profile
from tools.project import NAME

# The port the images listen on inside the container.
CONTAINER_PORT = 8000
# A start slower than this, in seconds, is a failure.
START_LIMIT_SECONDS = 60.0
# Every container and volume a check makes carries this prefix and is removed by that check.
PREFIX = f"{NAME}-test"
# The host name the service reaches its database by (the profile's settings name it).
DATABASE_HOST = "db"
# A database that is not ready within this many seconds is a failure.
DATABASE_LIMIT_SECONDS = 60.0
# The private network of the database beside the service, while database_beside() runs: every
# container run_detached starts joins it.
_network: str | None = None


class NotServing(engine.ImageToolError):
    """The service exited, or did not answer 200 on its health path within the limit.

    ``exited`` says which; ``logs`` holds the last log lines ("" when none were asked for).
    """

    def __init__(self, observed: str, *, exited: bool, logs: str = "") -> None:
        super().__init__(f"{observed}; logs:\n{logs}" if logs else observed)
        self.observed, self.exited, self.logs = observed, exited, logs


@dataclass
class Response:
    """An HTTP answer: its status, its headers by lower-case name, its body as bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass(frozen=True)
class Running:
    """A container started by :func:`run_detached`: its id and the host port on 127.0.0.1 that
    reaches its port 8000 (0 when the engine published none: the container exited at once)."""

    id: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        payload: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send ``method path`` to the published port on 127.0.0.1, ``payload`` as a JSON body
        when given, with ``headers``; the answer within 10 s, else OSError."""
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
        return state(self.id)

    def logs(self) -> str:
        return logs(self.id)


# What the checks call a running container.
Container = Running


@contextlib.contextmanager
def named_volume(prefix: str) -> Iterator[str]:
    """A named volume, ``PREFIX-<random>``, yielded by name and removed on the way out, on
    failure too. Raises engine.ImageToolError when docker cannot create it."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    try:
        engine.docker("volume", "create", name)
        yield name
    finally:
        engine.docker("volume", "rm", "--force", name, check=False)


def run_detached(
    tag: str,
    *run_args: str,
    name: str | None = None,
    command: Sequence[str] = (),
    port: int = CONTAINER_PORT,
) -> Running:
    """``docker run --detach --publish 127.0.0.1::PORT [--name NAME] RUN_ARGS TAG [COMMAND]``,
    with the settings the service's profile requires first (RUN_ARGS may override them), on the
    network of the database beside it (database_beside) if one serves: ``command``, in exec
    form, replaces the image's CMD; ``port``, the container's port to publish (8000).

    Raises engine.ImageToolError when docker refuses to create or start the container (one it
    created, named, is removed first).
    """
    named = ("--name", name) if name else ()
    published = ("--publish", f"127.0.0.1::{port}")
    published += ("--network", _network) if _network else ()
    try:
        container = engine.docker(
            "run", "--detach", *named, *published, *profile().run_args(), *run_args, tag, *command
        ).strip()
    except engine.ImageToolError:
        # Created but not started (a network the engine cannot join...): not left behind.
        if name:
            engine.remove_container(name)
        raise
    address = engine.docker("port", container, f"{port}/tcp", check=False).splitlines()
    return Running(container, int(address[0].rsplit(":", 1)[1]) if address else 0)


@contextlib.contextmanager
def database_beside() -> Iterator[str | None]:
    """While it runs, the database the service's profile declares (none: nothing is done)
    serves on a private network as DATABASE_HOST, and every container run_detached starts
    joins that network; yields the database's container id (None without one). Its container,
    volumes and network are removed on the way out, on failure too. NotServing, with its log,
    when it is not ready within DATABASE_LIMIT_SECONDS."""
    global _network
    database = profile().database
    if database is None:
        yield None
        return
    from tools import base_images  # only a service with a database needs the stand-ins

    image = base_images.image_to_run(database.image)
    network = f"{PREFIX}-net-{uuid.uuid4().hex[:12]}"
    engine.docker("network", "create", network)
    container = ""
    try:
        container = engine.docker(
            "run", "--detach", "--name", f"{PREFIX}-db-{uuid.uuid4().hex[:12]}",
            "--network", network, "--network-alias", DATABASE_HOST, *database.run_args(), image,
        ).strip()  # fmt: skip
        deadline = time.monotonic() + DATABASE_LIMIT_SECONDS
        ready = ["docker", "exec", container, *database.ready]
        while subprocess.run(ready, capture_output=True).returncode:
            if time.monotonic() > deadline or not state(container)["Running"]:
                raise NotServing(
                    f"the database {image} was not ready within {DATABASE_LIMIT_SECONDS:g} s",
                    exited=not state(container)["Running"],
                    logs=logs(container, 30),
                )
            time.sleep(0.5)
        _network = network
        yield container
    finally:
        _network = None
        if container:
            remove_container(container)
        engine.docker("network", "rm", network, check=False)


def answers(port: int, path: str | None = None, timeout: float = 1.0) -> bool:
    """Whether GET http://127.0.0.1:PORT/PATH (default: the profile's health path) answers 200
    within ``timeout`` seconds."""
    path = path or profile().health_path
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def wait_until_serving(
    port: int,
    alive: Callable[[], bool],
    *,
    path: str | None = None,
    limit: float = START_LIMIT_SECONDS,
    started: float | None = None,
    interval: float = 0.05,
    check_after: float = 0.0,
) -> float:
    """Poll ``path`` on 127.0.0.1:``port`` every ``interval`` seconds until it answers 200.

    Returns the seconds from ``started`` (a ``time.perf_counter()`` value; default: now) to the
    answer. ``alive()`` is asked after each failed poll once ``check_after`` seconds have
    passed (asking costs the engine a call: a benchmark waits before it asks). Raises
    NotServing (without logs) when ``alive()`` says no, or after ``limit`` seconds.
    """
    started = time.perf_counter() if started is None else started
    path = path or profile().health_path
    url = f"http://127.0.0.1:{port}{path}"
    while (waited := time.perf_counter() - started) < limit:
        if port and answers(port, path):
            return time.perf_counter() - started
        if waited >= check_after and not alive():
            raise NotServing(f"exited before {url} answered", exited=True)
        time.sleep(interval)
    raise NotServing(f"no answer on {path} within {limit:g} s", exited=False)


def state(container: str) -> dict:
    """The container's ``.State`` as docker inspect gives it (Running, ExitCode, Health...)."""
    return json.loads(engine.docker("inspect", "--format", "{{json .State}}", container))


def logs(container: str, lines: int | None = None) -> str:
    """Its stdout and stderr, the last ``lines`` lines only when given."""
    tail = ("--tail", str(lines)) if lines else ()
    done = subprocess.run(["docker", "logs", *tail, container], capture_output=True, text=True)
    return done.stdout + done.stderr


def serve(
    tag: str,
    *run_args: str,
    name: str | None = None,
    command: Sequence[str] = (),
    path: str | None = None,
    limit: float = START_LIMIT_SECONDS,
    interval: float = 0.05,
    check_after: float = 0.0,
    log_lines: int | None = None,
    port: int = CONTAINER_PORT,
) -> tuple[Running, float]:
    """Run ``tag`` detached (``command`` replacing its CMD when given; ``port``, the container's
    port to publish) and wait until ``path`` answers 200 (see wait_until_serving).

    Returns the container and the seconds from just before `docker run` to the answer; the
    caller removes it (remove_container). On failure the container is removed and NotServing
    raised, saying whether it exited (with its code) and holding its last ``log_lines`` log
    lines (all of them when None).
    """
    started = time.perf_counter()
    container = run_detached(tag, *run_args, name=name, command=command, port=port)
    try:
        seconds = wait_until_serving(
            container.port,
            lambda: state(container.id)["Running"],
            path=path,
            limit=limit,
            started=started,
            interval=interval,
            check_after=check_after,
        )
    except NotServing as failure:
        found = state(container.id)
        observed = (
            f"exited with code {found['ExitCode']}" if not found["Running"] else failure.observed
        )
        said = logs(container.id, log_lines).strip() or "it logged nothing"
        remove_container(container.id)
        raise NotServing(observed, exited=not found["Running"], logs=said) from None
    except BaseException:
        remove_container(container.id)
        raise
    return container, seconds


def remove_container(container: "Running | str") -> None:
    """Remove it (a Running or an id), running or not, with its anonymous volumes."""
    engine.remove_container(container if isinstance(container, str) else container.id)


def try_start(
    tag: str,
    *run_args: str,
    health_path: str | None = None,
    limit: float = START_LIMIT_SECONDS,
    port: int = CONTAINER_PORT,
) -> tuple[Running | None, str]:
    """Serve ``tag`` (a fresh ``PREFIX-...`` name, its ``port`` published) until ``health_path``
    answers 200: the container and '', or None and what was observed (exit code, last logs)
    when it stopped or never answered (removed then)."""
    try:
        running, _ = serve(
            tag,
            *run_args,
            name=f"{PREFIX}-{uuid.uuid4().hex[:12]}",
            path=health_path,
            limit=limit,
            interval=0.2,
            port=port,
        )
    except NotServing as failure:
        return None, f"{failure.observed}; logs:\n{failure.logs[-2000:]}"
    return running, ""


def start(tag: str, *run_args: str, limit: float = START_LIMIT_SECONDS) -> Running:
    """:func:`try_start`, or NotServing saying what was observed."""
    container, observed = try_start(tag, *run_args, limit=limit)
    if container is None:
        raise NotServing(f"{tag} did not start: {observed}", exited=True)
    return container


def stop(container: Running, seconds: int, signal: str = "SIGTERM") -> tuple[float, int]:
    """``docker stop --signal SIGNAL --time SECONDS``: how long it took and the exit code."""
    started = time.perf_counter()
    engine.docker("stop", "--signal", signal, "--time", str(seconds), container.id)
    return time.perf_counter() - started, container.state()["ExitCode"]


def wait_for_health(container: Running, seconds: float = 30) -> str | None:
    """The HEALTHCHECK's verdict once it has one (None: the image has no HEALTHCHECK)."""
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        status = (container.state().get("Health") or {}).get("Status")
        if status in ("healthy", "unhealthy", None):
            return status
        time.sleep(0.5)
    return status


def run_python(container: Running, python: Sequence[str], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` with the image's Python (``python``: the argv that starts it, exec form: an
    image may have no shell) in the running container, as its configured user."""
    return subprocess.run(
        ["docker", "exec", container.id, *python, "-c", code], capture_output=True, text=True
    )
