"""Where users deploy the image: the situations in which services in containers are reported to
break (issue 20; docs, "Running it in production"), each reproduced on the service's images.

Each proves an optional feature the seam declares (tests/service.py), but the platform's PORT:
shortlink's own setting.
"""

import json
import socket
import time
from pathlib import Path

import pytest

from tests import service
from tests.contract.profile import Expected, fails, one_clear_line, verdict
from tools import engine, images
from tools.containers import (
    remove_container,
    start,
    stop,
    try_start,
    wait_for_health,
)
from tools.profile import profile
from tools.project import ENV_PREFIX

# What Kubernetes injects into every pod of a namespace holding a Service named like the
# package (here with a named port, http); `docker run --link peer:NAME` injects the same kind.
SERVICE_LINK_ENV = {
    "PORT": "tcp://10.96.12.34:8000",
    "PORT_8000_TCP": "tcp://10.96.12.34:8000",
    "PORT_8000_TCP_PROTO": "tcp",
    "PORT_8000_TCP_PORT": "8000",
    "PORT_8000_TCP_ADDR": "10.96.12.34",
    "SERVICE_HOST": "10.96.12.34",
    "SERVICE_PORT": "8000",
    "SERVICE_PORT_HTTP": "8000",
}
# The table's reproduction: more idle connections than descriptors, held a few seconds.
NOFILE = 64
IDLE_CONNECTIONS = 100
HOLD_SECONDS = 3
# Beyond what a service logs as it starts, serves a few requests and counts an episode.
MOST_LINES = 40


def with_env(settings: dict[str, str]) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("--env", f"{name}={value}")]


@pytest.mark.feature("SERVICE_LINKS")
def test_an_injected_service_link_is_ignored_and_said_in_one_line(
    image: images.Image, expected: Expected
) -> None:
    injected = {f"{ENV_PREFIX}{name}": value for name, value in SERVICE_LINK_ENV.items()}
    container, observed = try_start(image.tag, *with_env(injected))
    if container is None:
        verdict(expected, False, f"did not start with the service links: {observed}")
        return
    try:
        health = wait_for_health(container)
        problem = service.round_trip(container)
        said = container.logs().count(service.SERVICE_LINKS)
    finally:
        remove_container(container)
    verdict(
        expected,
        health == "healthy" and not problem and said == 1,
        f"health {health}; {problem or 'round trip'}; {service.SERVICE_LINKS!r} said {said}x",
    )


@pytest.mark.feature("JSON_LOGS")
@pytest.mark.parametrize("setting", service.INVALID_SETTINGS.values(), ids=service.INVALID_SETTINGS)
def test_an_invalid_setting_is_reported_in_the_configured_log_format(
    image: images.Image, expected: Expected, setting: str
) -> None:
    container, observed = try_start(image.tag, "--env", service.JSON_LOGS, "--env", setting)
    if container is not None:
        remove_container(container)
        verdict(expected, False, f"started with {setting}")
        return
    said = observed.split("logs:\n", 1)[-1].strip().splitlines()

    def json_object(line: str) -> dict | None:
        try:
            parsed = json.loads(line)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    not_json = [line for line in said if json_object(line) is None]
    naming = [line for line in said if setting.split("=")[0] in line]
    verdict(
        expected,
        "exited with code 2" in observed and said and not not_json and len(naming) == 1,
        f"{observed[:300]}; lines not JSON: {not_json[:3]}",
    )


@pytest.mark.feature("PROXY")
def test_links_follow_a_trusted_proxy_and_only_a_trusted_one(
    image: images.Image, expected: Expected
) -> None:
    """The proxy is on the engine's default network, as a reverse proxy container would be:
    that network is trusted, and a published port's clients reach the service from it."""
    proxy = service.PROXY
    network = engine.docker(
        "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Subnet}}"
    ).strip()
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": proxy.host,
        "X-Forwarded-For": "203.0.113.7",
    }
    links = {}
    for case, trusted in (("trusted", network), ("untrusted", "192.0.2.1")):
        run_args = with_env({proxy.trusted: trusted}) + with_env(
            dict(setting.split("=", 1) for setting in proxy.settings)
        )
        container = start(image.tag, *run_args)
        try:
            links[case] = proxy.link(container, headers)
        finally:
            remove_container(container)
    wanted = f"https://{proxy.host}/"
    holds = links["trusted"].startswith(wanted) and not links["untrusted"].startswith("https:")
    verdict(expected, holds, f"trusting {network}: {links}; wanted {wanted}... when trusted")


@pytest.mark.feature("RESOURCE_ERRORS")
def test_running_out_of_file_descriptors_logs_a_few_lines_and_recovers(
    image: images.Image, expected: Expected
) -> None:
    container = start(image.tag, "--ulimit", f"nofile={NOFILE}:{NOFILE}")
    try:
        held = []
        for _ in range(IDLE_CONNECTIONS):
            try:
                held.append(socket.create_connection(("127.0.0.1", container.port), timeout=5))
            except OSError:
                break
        time.sleep(HOLD_SECONDS)
        for connection in held:
            connection.close()
        # The episode ends once no error came for a while: then its count is logged.
        time.sleep(4)
        logged = container.logs().splitlines()
        problem = service.round_trip(container)
    finally:
        remove_container(container)
    tracebacks = sum("Traceback" in line for line in logged)
    counted = any(service.RESOURCE_ERRORS in line for line in logged)
    holds = len(logged) <= MOST_LINES and not tracebacks and counted and not problem
    verdict(
        expected,
        holds,
        f"{len(held)} connections held {HOLD_SECONDS} s under nofile={NOFILE}: {len(logged)} "
        f"lines logged ({tracebacks} with a traceback), the count line: {counted}; "
        f"afterwards {problem or 'a round trip worked'}",
    )


def database_left_by_root(tag: str, volume: str, *run_args: str) -> tuple[bool, str]:
    """The volume of an older image that ran as root: the folder is still the app's, the
    files in it are root's (0644); then ``tag`` started on it with ``run_args``: whether it
    stopped with one clear line (before: it started, reported healthy, and answered every write
    503 "retry later", forever), and what was observed."""
    data = ("--env", f"{service.DATA_DIR}=/data", "--volume", f"{volume}:/data")
    as_root = start(tag, "--user", "0", *data)
    try:
        assert service.write(as_root, 1), "the root-run service should have stored a write"
        stop(as_root, 5)
    finally:
        remove_container(as_root)
    container, observed = try_start(tag, *data, *run_args)
    if container is not None:
        try:
            wrote = service.write(container, 2) is not None
            answer = container.request("GET", profile().health_path).status
        finally:
            remove_container(container)
        return False, f"started (health {answer}); a write stored: {wrote}"
    return one_clear_line(observed, 1, service.UNWRITABLE_DATABASE), observed


@pytest.mark.feature("UNWRITABLE_DATABASE")
def test_a_database_left_by_another_uid_fails_fast_with_one_line(
    image: images.Image, expected: Expected, volume: str
) -> None:
    verdict(expected, *database_left_by_root(image.tag, volume))


@pytest.mark.feature("UNWRITABLE_DATABASE")
def test_a_database_left_by_another_uid_is_written_by_root_the_negative_control(
    volume: str,
) -> None:
    """Run as root, the setting the image's USER protects from, it starts and writes."""
    holds, observed = database_left_by_root(images.OPTIMIZED.tag, volume, "--user", "0")
    verdict(fails(r"started \(health 200\); a write stored: True"), holds, observed)


@pytest.fixture
def token_as_saved_on_windows(tmp_path: Path) -> Path:
    """A byte-order mark, the token between spaces, a CRLF: as Notepad saves a line."""
    token = tmp_path / "admin_token"
    token.write_bytes(b"\xef\xbb\xbf  saved-with-a-bom \r\n")
    token.chmod(0o644)
    return token


@pytest.mark.feature("ADMIN_TOKEN")
def test_an_admin_token_file_with_a_bom_and_whitespace_is_the_token(
    image: images.Image, expected: Expected, token_as_saved_on_windows: Path
) -> None:
    token = service.ADMIN_TOKEN
    mount = f"type=bind,src={token_as_saved_on_windows},dst={token.path},readonly"
    container = start(image.tag, "--mount", mount)
    try:
        accepted = token.accepted(container, "saved-with-a-bom")
    finally:
        remove_container(container)
    verdict(expected, accepted, f"the token without its BOM and spaces accepted: {accepted}")


# The variable Cloud Run, Heroku and App Runner name the port in, and the service's own port
# setting: each set to a port other than the image's 8000 and the other's, so that the port it
# answers on says which one it took.
PLATFORM_PORT = {"PORT": "9000"}
OWN_PORT = {f"{ENV_PREFIX}PORT": "9001"}


def serves_on(tag: str, port: int, settings: dict[str, str]) -> tuple[bool, str]:
    """Started with ``settings``, ``port`` published: whether the service answers there and
    its HEALTHCHECK (which reads the same settings) says healthy, and what was observed."""
    container, observed = try_start(tag, *with_env(settings), port=port, limit=20)
    if container is None:
        said, _, logs = observed.partition("; logs:\n")
        return False, f"with {settings}, port {port} published: {said}; logs: {logs[-500:]}"
    try:
        health = wait_for_health(container)
    finally:
        remove_container(container)
    return health == "healthy", f"with {settings}, answered on {port}; health {health}"


def test_without_its_own_port_setting_it_serves_on_the_platforms_port(
    image: images.Image, expected: Expected
) -> None:
    """A platform names the port in PORT; the image sets no port of its own (its ENV), which
    would hide it. Service logic: test_without_a_port_of_its_own_it_serves_on_the_platforms_port
    is the control."""
    verdict(expected, *serves_on(image.tag, int(PLATFORM_PORT["PORT"]), PLATFORM_PORT))


def test_its_own_port_setting_wins_over_the_platforms(
    image: images.Image, expected: Expected
) -> None:
    """As settings.py documents (and what an ENV setting the port would do to PORT). Service
    logic: test_its_own_port_wins_over_the_platforms is the control."""
    own = int(OWN_PORT[f"{ENV_PREFIX}PORT"])
    verdict(expected, *serves_on(image.tag, own, PLATFORM_PORT | OWN_PORT))
