"""What each image is when it runs: its user, its health, its stop, what it may write.

None of these checks needs a shell in the image (the minimal image has none): its files,
processes and sockets are read with testinfra from a toolbox beside the running container
(toolbox.py); what only the image's own Python can answer is asked through `docker exec` in exec
form; the configuration (`docker inspect`), the stop and the service over HTTP from outside.
"""

import contextlib
import http.client
import json
import re
from collections.abc import Callable

import pytest
import testinfra

from tests import service
from tools import engine, images
from tools.containers import (
    CONTAINER_PORT,
    Running,
    remove_container,
    run_python,
    start,
    stop,
    wait_for_health,
)
from tools.profile import profile
from tools.project import PACKAGE, ROOT

from .health import healthy_and_round_trips
from .profile import Expected, Subject, verdict
from .toolbox import CONTAINER_ROOT, service_processes

# Docker's embedded DNS server, on every user-defined network (docs.docker.com, "Networking
# overview": DNS services).
ENGINE_DNS = "://127.0.0.11:"
# Short, so the baseline's SIGKILL comes quickly; the optimized image stops well within it.
STOP_TIMEOUT = 3
# IPv6 off in the container's network namespace, every interface and its loopback included.
IPV6_OFF = "net.ipv6.conf.all.disable_ipv6=1"
# Docker's log drivers read a container's output in messages of at most 16 KiB and split a
# longer line into several records, none of them whole JSON or a whole line to a collector
# (moby's daemon/logger/copier.go; moby/moby#34620); `docker logs` joins them again.
DOCKER_LOG_MESSAGE_BYTES = 16 * 1024
# A request path that long: what scanners and broken clients send, and what a log repeats.
LONG_PATH_BYTES = 20_000


def locate_app(python: Callable[[str], str]) -> dict[str, str]:
    return json.loads(python(service.LOCATE_APP))


def test_serves_health_and_round_trips_through_the_published_port(
    container: Running, expected: Expected
) -> None:
    problem = service.round_trip(container)
    verdict(expected, not problem, problem or "round trip through the published port worked")


def test_image_runs_the_code_of_this_checkout(
    python: Callable[[str], str], expected: Expected, host: testinfra.host.Host
) -> None:
    # The whole package tree: sub-packages and data files too, not only its top-level modules.
    package = ROOT / "src" / PACKAGE
    sources = {
        path.relative_to(package).as_posix(): path.read_bytes()
        for path in sorted(package.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    code = locate_app(python)["code"]
    # Resolved by the image's Python: under /proc/1/root a link would resolve in the toolbox.
    resolved = python(f"import os; print(os.path.realpath({code!r}))").strip()
    stale = [
        name
        for name, content in sources.items()
        if not (found := host.file(f"{CONTAINER_ROOT}{resolved}/{name}")).is_file
        or found.content != content
    ]
    verdict(expected, bool(sources) and not stale, f"differs from the checkout: {stale}")


def test_runs_as_a_non_root_numeric_uid(
    image: images.Image, host: testinfra.host.Host, expected: Expected
) -> None:
    configured = engine.inspect(image.tag)["Config"]["User"]
    numeric = re.fullmatch(r"(\d+)(:\d+)?", configured)
    uids = sorted({process.euid for process in service_processes(host)})
    holds = bool(numeric) and int(numeric.group(1)) != 0 and bool(uids) and 0 not in uids
    verdict(expected, holds, f"Config.User={configured!r}, uids of its processes: {uids}")


# Where an image listens on every address: IPv4's wildcard, or IPv6's (IPv4 too, dual stack:
# testinfra lists that one socket under both).
WILDCARDS = ("0.0.0.0", "::")  # noqa: S104  (read, not bound)


def test_listens_on_its_exposed_port_and_no_other(
    image: images.Image, host: testinfra.host.Host, expected: Expected
) -> None:
    exposed = sorted(engine.inspect(image.tag)["Config"].get("ExposedPorts") or {})
    # Not the service's: on a user-defined network (a database beside it), the engine's DNS
    # resolver listens in the container's network namespace at this address.
    listening = sorted(s for s in host.socket.get_listening_sockets() if ENGINE_DNS not in s)
    ports = [port.split("/")[0] for port in exposed if port.endswith("/tcp")]
    wanted = {f"tcp://{address}:{port}" for port in ports for address in WILDCARDS}
    holds = bool(ports) and all(
        any(host.socket(f"tcp://{address}:{port}").is_listening for address in WILDCARDS)
        for port in ports
    )
    verdict(
        expected,
        holds and set(listening) <= wanted,
        f"exposed {exposed}, listening {listening}",
    )


def ipv6_status(container: Running, python: tuple[str, ...]) -> str:
    """What the service answers on the container's IPv6 loopback, asked by the image's own
    Python: the status, or the error's last line."""
    ask = (
        f"import http.client as h; c = h.HTTPConnection('::1', {CONTAINER_PORT}, timeout=5); "
        f"c.request('GET', {profile().health_path!r}); print(c.getresponse().status)"
    )
    answer = run_python(container, python, ask)
    return answer.stdout.strip() or "".join(answer.stderr.strip().splitlines()[-1:])


def test_serves_ipv6_and_ipv4_by_default(
    image: Subject, container: Running, expected: Expected
) -> None:
    """As configured, with no setting given: IPv4 through the published port (the engine's
    bridge) and the HEALTHCHECK, IPv6 on ::1 (an IPv6-only cluster's probes and peers)."""
    health = wait_for_health(container)
    ipv6 = ipv6_status(container, image.profile.python)
    verdict(expected, health == "healthy" and ipv6 == "200", f"health {health}; IPv6 {ipv6}")


def test_starts_and_serves_where_ipv6_is_disabled(image: images.Image, expected: Expected) -> None:
    """A host or pod with IPv6 switched off (no ::1 on the loopback either): still healthy, and
    a write round-trips."""
    verdict(expected, *healthy_and_round_trips(image.tag, "--sysctl", IPV6_OFF))


def test_app_user_cannot_write_its_code_or_venv_but_can_write_data(
    image: Subject, container: Running, python: Callable[[str], str], expected: Expected
) -> None:
    places = locate_app(python)

    def writable(folder: str) -> bool:
        probe = f"open({folder + '/.write-probe'!r}, 'a').close()"
        return run_python(container, image.profile.python, probe).returncode == 0

    code, venv, data = writable(places["code"]), writable(places["venv"]), writable(places["data"])
    holds = not code and not venv and data
    verdict(expected, holds, f"writable: code {code}, venv {venv}, data {data}; {places}")


def test_healthcheck_reports_healthy(container: Running, expected: Expected) -> None:
    status = wait_for_health(container)
    note = " (no HEALTHCHECK)" if status is None else ""
    verdict(expected, status == "healthy", f"health status: {status}{note}")


# How the service is stopped: `docker stop`, SIGTERM to it as PID 1; and under an init process
# that passes signals on (`docker run --init`, tini, a pod's shared process namespace), where
# it is not PID 1 and a signal it leaves to its default action ends it with 128 + the signal:
# SIGTERM, and SIGINT (Ctrl-C in `docker run -it`, `docker stop --signal SIGINT`).
STOPS = ("sigterm", "sigterm-under-init", "sigint-under-init")


def stopped_logs(image: images.Image, how: str = "sigterm") -> tuple[float, int, str]:
    """Start ``image``, stop it as ``how`` (one of STOPS) says: the seconds it took, its exit
    code, its logs."""
    container = start(image.tag, *(["--init"] if how.endswith("-under-init") else []))
    try:
        seconds, exit_code = stop(container, STOP_TIMEOUT, signal=how.split("-")[0].upper())
        return seconds, exit_code, container.logs()
    finally:
        remove_container(container)


@pytest.mark.parametrize("how", STOPS)
def test_docker_stop_is_graceful_within_2_seconds(
    image: images.Image, expected: Expected, how: str
) -> None:
    seconds, exit_code, _ = stopped_logs(image, how)
    verdict(
        expected,
        seconds < 2 and exit_code == 0,
        f"{how}: exit code {exit_code} after {seconds:.1f} s (SIGKILL comes at {STOP_TIMEOUT} s)",
    )


def longest_log_line(container: Running) -> int:
    """The bytes of its longest log line, newline included, after a request whose path is
    LONG_PATH_BYTES long (answered however the service likes)."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        container.request("GET", "/" + "a" * LONG_PATH_BYTES)
    return max((len(line.encode()) + 1 for line in container.logs().splitlines()), default=0)


def test_every_log_line_fits_one_docker_log_message(container: Running, expected: Expected) -> None:
    longest = longest_log_line(container)
    verdict(
        expected,
        longest <= DOCKER_LOG_MESSAGE_BYTES,
        f"longest log line {longest} bytes after a {LONG_PATH_BYTES}-byte path "
        f"(Docker splits above {DOCKER_LOG_MESSAGE_BYTES})",
    )


def test_labels_carry_the_build_metadata(image: images.Image, expected: Expected) -> None:
    labels = {
        name: value
        for name, value in (engine.inspect(image.tag)["Config"]["Labels"] or {}).items()
        if name.startswith("org.opencontainers.image.")
    }
    metadata = images.build_metadata()
    holds = all(
        labels.get(f"org.opencontainers.image.{label}") == metadata[arg]
        for label, arg in [("version", "VERSION"), ("revision", "REVISION"), ("created", "CREATED")]
    )
    verdict(expected, holds, f"OCI labels {labels}")
