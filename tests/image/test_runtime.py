"""What each image is when it runs: its user, its health, its stop, what it may write.

None of these checks needs a shell in the image (the minimal image has none): its files,
processes and sockets are read with testinfra from a toolbox beside the running container
(toolbox.py); what only the image's own Python can answer is asked through `docker exec` in exec
form; the configuration (`docker inspect`), the stop and the service over HTTP from outside.
"""

import json
import re

import pytest
import testinfra

from tests import service
from tools import engine, images
from tools.project import PACKAGE, ROOT

from .containers import (
    Container,
    python_in,
    python_output,
    remove_container,
    start_container,
    stop,
    wait_for_health,
)
from .contract import HOLDS, HOLDS_TOO, Expected, fails, per_image, verdict
from .toolbox import CONTAINER_ROOT, service_processes

# Short, so the baseline's SIGKILL comes quickly; the optimized image stops well within it.
STOP_TIMEOUT = 3


def locate_app(image: images.Image, container: Container) -> dict[str, str]:
    return json.loads(python_output(image, container, service.LOCATE_APP))


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=HOLDS_TOO)
def test_serves_health_and_round_trips_through_the_published_port(
    container: Container, expected: Expected
) -> None:
    problem = service.round_trip(container)
    verdict(expected, not problem, problem or "round trip through the published port worked")


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=HOLDS_TOO)
def test_image_runs_the_code_of_this_checkout(
    image: images.Image,
    container: Container,
    expected: Expected,
    host: testinfra.host.Host,
) -> None:
    code = locate_app(image, container)["code"]
    sources = sorted((ROOT / "src" / PACKAGE).glob("*.py"))
    # Resolved by the image's Python: under /proc/1/root a link would resolve in the toolbox.
    resolved = python_output(image, container, f"import os; print(os.path.realpath({code!r}))")
    folder = host.file(f"{CONTAINER_ROOT}{resolved.strip()}")
    inside = set(folder.listdir()) if folder.is_directory else set()
    stale = [
        path.name
        for path in sources
        if path.name not in inside
        or host.file(f"{folder.path}/{path.name}").content != path.read_bytes()
    ]
    verdict(expected, bool(sources) and not stale, f"differs from the checkout: {stale}")


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=fails(r"uids of its processes: \[0\]"))
def test_runs_as_a_non_root_numeric_uid(
    image: images.Image, host: testinfra.host.Host, expected: Expected
) -> None:
    configured = engine.inspect(image.tag)["Config"]["User"]
    numeric = re.fullmatch(r"(\d+)(:\d+)?", configured)
    uids = sorted({process.euid for process in service_processes(host)})
    holds = bool(numeric) and int(numeric.group(1)) != 0 and bool(uids) and 0 not in uids
    verdict(expected, holds, f"Config.User={configured!r}, uids of its processes: {uids}")


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=HOLDS_TOO)
def test_listens_on_its_exposed_port_and_no_other(
    image: images.Image, host: testinfra.host.Host, expected: Expected
) -> None:
    exposed = sorted(engine.inspect(image.tag)["Config"].get("ExposedPorts") or {})
    listening = sorted(host.socket.get_listening_sockets())
    wanted = [f"tcp://0.0.0.0:{port.split('/')[0]}" for port in exposed if port.endswith("/tcp")]
    holds = bool(wanted) and all(host.socket(s).is_listening for s in wanted)
    verdict(expected, holds and listening == wanted, f"exposed {exposed}, listening {listening}")


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=fails(r"writable: code True"))
def test_app_user_cannot_write_its_code_or_venv_but_can_write_data(
    image: images.Image, container: Container, expected: Expected
) -> None:
    places = locate_app(image, container)

    def writable(folder: str) -> bool:
        probe = f"open({folder + '/.write-probe'!r}, 'a').close()"
        return python_in(image, container, probe).returncode == 0

    code, venv, data = writable(places["code"]), writable(places["venv"]), writable(places["data"])
    holds = not code and not venv and data
    verdict(expected, holds, f"writable: code {code}, venv {venv}, data {data}; {places}")


@per_image(
    optimized=HOLDS, minimal=HOLDS, baseline=fails(r"health status: None \(no HEALTHCHECK\)")
)
def test_healthcheck_reports_healthy(container: Container, expected: Expected) -> None:
    status = wait_for_health(container)
    note = " (no HEALTHCHECK)" if status is None else ""
    verdict(expected, status == "healthy", f"health status: {status}{note}")


def stopped_logs(image: images.Image) -> tuple[float, int, str]:
    """Start ``image``, `docker stop` it: the seconds it took, its exit code, its logs."""
    container = start_container(image.tag)
    try:
        seconds, exit_code = stop(container, STOP_TIMEOUT)
        return seconds, exit_code, container.logs()
    finally:
        remove_container(container)


@per_image(
    optimized=HOLDS, minimal=HOLDS, baseline=fails(rf"exit code 137 after {STOP_TIMEOUT}\.\d s")
)
def test_docker_stop_is_graceful_within_2_seconds(image: images.Image, expected: Expected) -> None:
    seconds, exit_code, _ = stopped_logs(image)
    verdict(
        expected,
        seconds < 2 and exit_code == 0,
        f"exit code {exit_code} after {seconds:.1f} s (SIGKILL comes at {STOP_TIMEOUT} s)",
    )


@pytest.mark.feature("CLOSED_ON_STOP")
@per_image(optimized=HOLDS, minimal=HOLDS, baseline=fails(r"logged on stop: False"))
def test_docker_stop_lets_the_service_close_its_storage(
    image: images.Image, expected: Expected
) -> None:
    _, exit_code, logs = stopped_logs(image)
    closed = service.CLOSED_ON_STOP in logs
    observed = f"{service.CLOSED_ON_STOP!r} logged on stop: {closed} (exit code {exit_code})"
    verdict(expected, closed, observed)


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=fails(r"OCI labels \{\}"))
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


@pytest.mark.feature("BUILD_INFO")
@per_image(optimized=HOLDS, minimal=HOLDS, baseline=fails(r"reported \{.*'revision': 'unknown'"))
def test_the_service_reports_the_build_metadata_the_image_passes_it(
    container: Container, expected: Expected
) -> None:
    metadata = images.build_metadata()
    reported = service.BUILD_INFO(container)
    wanted = {
        "version": metadata["VERSION"],
        "revision": metadata["REVISION"],
        "build_date": metadata["CREATED"],
    }
    verdict(expected, reported == wanted, f"reported {reported}, built from {wanted}")
