"""What each image is when it runs: its user, its health, its stop, what it may write."""

import json
import re
import time

from tools import images

from .conftest import (
    PYTHON_COMMAND,
    Container,
    per_image,
    remove_container,
    start_container,
    wait_for_health,
)

LOCATE_APP = (
    "import json, shortlink, sys; from shortlink.settings import Settings; "
    "print(json.dumps({'code': shortlink.__path__[0], 'venv': sys.prefix, "
    "'data': str(Settings().data_dir.resolve())}))"
)


@per_image(optimized=True, baseline=True)
def test_serves_health_and_round_trips_a_link_through_the_published_port(
    container: Container, expected: bool
) -> None:
    assert (container.request("GET", "/healthz").status == 200) is expected
    created = container.request("POST", "/links", {"url": "https://example.com/round-trip"})
    assert created.status == 201
    followed = container.request("GET", f"/{created.json()['code']}")
    assert followed.status == 307
    assert followed.headers["location"] == "https://example.com/round-trip"


@per_image(optimized=True, baseline=True)
def test_image_runs_the_code_of_this_checkout(
    image: images.Image, container: Container, expected: bool
) -> None:
    python = PYTHON_COMMAND[image.name]
    code = json.loads(container.host.check_output(f'{python} -c "{LOCATE_APP}"'))["code"]
    sources = sorted((images.ROOT / "src" / "shortlink").glob("*.py"))
    stale = [
        path.name
        for path in sources
        if container.host.file(f"{code}/{path.name}").content_string != path.read_text()
    ]
    assert (sources and not stale) is expected, f"differs from the checkout: {stale}"


@per_image(optimized=True, baseline=False)
def test_runs_as_a_non_root_numeric_uid(
    image: images.Image, container: Container, expected: bool
) -> None:
    configured = images.inspect(image.tag)["Config"]["User"]
    numeric = re.fullmatch(r"(\d+)(:\d+)?", configured)
    uid_inside = container.host.user().uid
    holds = bool(numeric) and int(numeric.group(1)) != 0 and uid_inside != 0
    assert holds is expected, f"Config.User={configured!r}, id -u inside: {uid_inside}"


@per_image(optimized=True, baseline=False)
def test_app_user_cannot_write_its_code_or_venv_but_can_write_data(
    image: images.Image, container: Container, expected: bool
) -> None:
    python = PYTHON_COMMAND[image.name]
    places = json.loads(container.host.check_output(f'{python} -c "{LOCATE_APP}"'))

    def writable(folder: str) -> bool:
        return container.host.run("touch %s", f"{folder}/.write-probe").rc == 0

    code, venv, data = writable(places["code"]), writable(places["venv"]), writable(places["data"])
    holds = not code and not venv and data
    assert holds is expected, f"writable: code {code}, venv {venv}, data {data}; {places}"


@per_image(optimized=True, baseline=False)
def test_healthcheck_reports_healthy(container: Container, expected: bool) -> None:
    status = wait_for_health(container)
    assert (status == "healthy") is expected, f"health status: {status}"


@per_image(optimized=True, baseline=False)
def test_docker_stop_is_graceful_within_2_seconds(image: images.Image, expected: bool) -> None:
    container = start_container(image.tag)
    try:
        started = time.perf_counter()
        images.docker("stop", container.id)
        seconds = time.perf_counter() - started
        exit_code = container.state()["ExitCode"]
        logs = container.logs()
    finally:
        remove_container(container)
    holds = seconds < 2 and exit_code == 0
    assert holds is expected, f"docker stop took {seconds:.1f} s, exit code {exit_code}"
    if expected:
        assert "database closed" in logs


@per_image(optimized=True, baseline=False)
def test_labels_and_version_endpoint_carry_the_build_metadata(
    image: images.Image, container: Container, expected: bool
) -> None:
    labels = images.inspect(image.tag)["Config"]["Labels"] or {}
    metadata = images.build_metadata()
    reported = container.request("GET", "/version").json()
    holds = reported == {
        "version": metadata["VERSION"],
        "revision": metadata["REVISION"],
        "build_date": metadata["CREATED"],
    } and all(
        labels.get(f"org.opencontainers.image.{label}") == metadata[arg]
        for label, arg in [("version", "VERSION"), ("revision", "REVISION"), ("created", "CREATED")]
    )
    assert holds is expected, f"labels {labels}, /version {reported}"
