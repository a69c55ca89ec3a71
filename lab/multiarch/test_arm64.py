"""The optimized image for linux/arm64, built from the same Dockerfile, proven under emulation.

Only the contract that does not depend on speed: what the image is (its architecture, the
machine code in its venv, no secret) and that it serves, runs unprivileged and stops cleanly.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import platforms
from tests.service import round_trip
from tools import base_images, canaries, engine, images
from tools.containers import Running as Container
from tools.containers import run_python, stop, wait_for_health
from tools.project import NAME

from . import elf
from .emulated import ARM64, HEALTH_SECONDS, STOP_SECONDS


def test_image_is_for_arm64(arm64: platforms.Built, saved: dict) -> None:
    assert ARM64 in saved, f"{arm64.ref} holds {sorted(saved)}, no {ARM64}"
    assert saved[ARM64].config["architecture"] == "arm64"


def test_one_index_holds_both_platforms_where_the_store_can(
    arm64: platforms.Built, saved: dict
) -> None:
    if platforms.containerd_store():
        assert {"linux/amd64", ARM64} <= set(saved), f"{arm64.ref} holds {sorted(saved)}"
        return
    # The classic store holds one platform per tag: each platform under a tag of its own.
    assert set(saved) == {ARM64}, f"{arm64.ref} holds {sorted(saved)}"
    native = platforms.last_built().get(platforms.native_platform())
    assert native is not None, "no native image was recorded by the two-platform build"
    assert native.ref != arm64.ref, f"both platforms under one tag {arm64.ref}"


def test_venv_holds_aarch64_machine_code(exported: Path) -> None:
    found = elf.machines(exported, "app/.venv/")
    assert found, "no shared object in the venv: nothing to read the architecture from"
    foreign = {path: machine for path, machine in found.items() if machine != elf.MACHINES["arm64"]}
    assert not foreign, f"not aarch64 (e_machine {elf.MACHINES['arm64']}): {foreign}"


def test_serves_and_a_link_round_trips_under_emulation(container: Container) -> None:
    assert round_trip(container) == ""


def test_healthcheck_reports_healthy(container: Container) -> None:
    assert wait_for_health(container, HEALTH_SECONDS) == "healthy"


def test_runs_as_a_non_root_numeric_uid(saved: dict, container: Container) -> None:
    user = saved[ARM64].config["config"].get("User", "")
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", user), f"Config.User {user!r}"
    uid = run_python(container, ("python",), "import os; print(os.getuid())")
    assert uid.stdout.strip() not in ("", "0"), uid


@pytest.fixture(scope="module")
def canary_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The arm64 image built from a copy of the context holding the canaries.

    With the layer cache, unlike the native check: a step whose inputs hold a canary is rebuilt
    in this context, and a cached one cannot hold any; an emulated build from scratch would
    prove no more, at minutes' cost.
    """
    workdir = tmp_path_factory.mktemp("canary")
    netrc = canaries.plant(workdir / "context")
    tag = f"{NAME}-canary:optimized-arm64"
    bases = base_images.resolve((images.OPTIMIZED,), "arm64")[1]
    try:
        images.build(
            images.OPTIMIZED,
            bases,
            tag=tag,
            context=workdir / "context",
            options=(f"--platform={ARM64}",),
            quiet=True,
            **canaries.build_inputs(netrc),
        )
        # The containerd store unpacks another platform's layers only for a container, and
        # `docker history` reads them there.
        engine.remove_container(engine.docker("create", "--platform", ARM64, tag).strip())
        yield tag
    finally:
        engine.docker("rmi", "--force", tag, check=False)


def test_no_canary_secret_appears_in_the_image(
    canary_image: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    leaks = canaries.find(canary_image, tmp_path_factory.mktemp("saved"))
    assert not any(leaks.values()), f"canaries found: {leaks}"


# Last: it stops the shared container.
def test_docker_stop_is_graceful(container: Container) -> None:
    seconds, exit_code = stop(container, STOP_SECONDS)
    assert exit_code == 0, f"exit {exit_code} after {seconds:.1f} s"
