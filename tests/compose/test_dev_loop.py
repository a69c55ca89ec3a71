"""The dev loop (`docker compose up --watch dev`) and the unit tests in the dev image."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import service
from tools import engine
from tools.containers import Running as Container
from tools.profile import profile
from tools.project import ROOT

from .stack import BUILD_SECONDS, Stack, numeric_non_root

# An edit must be served within this many seconds of being saved.
EDIT_SECONDS = 3
REBUILD_SECONDS = 120
# From the container's start until the dev server answers on the health path.
SERVE_SECONDS = 60
# Not copied: what git, tools and caches keep beside the project.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".nox", "build", "data", "__pycache__", ".*_cache", "admin_token"
)


@pytest.fixture(scope="module")
def dev_loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Watch mode running on a temporary copy of the project, bounded in time, then removed."""
    root = tmp_path_factory.mktemp("project") / "copy"
    shutil.copytree(ROOT, root, ignore=NOT_COPIED)
    stack = Stack(root=root)
    log = (root.parent / "watch.log").open("w")
    watch = subprocess.Popen(
        ["timeout", "--signal=INT", str(BUILD_SECONDS), *stack.command("up", "--watch", "dev")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=stack.environment(),
        start_new_session=True,
    )
    try:
        container = stack.container("dev", seconds=BUILD_SECONDS)
        deadline = time.monotonic() + BUILD_SECONDS
        while "Watch enabled" not in (root.parent / "watch.log").read_text():
            if watch.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"watch mode did not start: {(root.parent / 'watch.log').read_text()}")
            time.sleep(0.2)
        deadline = time.monotonic() + SERVE_SECONDS
        while not serves(container):
            running = container.state()["Running"]
            if not running or time.monotonic() > deadline:
                said = "exited" if not running else f"did not serve within {SERVE_SECONDS} s"
                pytest.fail(
                    f"the dev server ({' '.join(profile().dev_command)}) {said}; its log:\n"
                    f"{container.logs()[-3000:]}"
                )
            time.sleep(0.2)
        yield stack
    finally:
        watch.terminate()
        try:
            watch.wait(timeout=20)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()
        log.close()
        left = stack.remove()
        assert not left, f"left behind by {stack.project}: {left}"


def serves(container: Container) -> bool:
    try:
        return container.request("GET", profile().health_path).status == 200
    except OSError:
        return False


@pytest.mark.feature("DEV_EDIT")
def test_an_edit_under_src_is_served_within_3_seconds(dev_loop: Stack) -> None:
    container, edit = dev_loop.container("dev"), service.DEV_EDIT
    edit.edit(dev_loop.root, "edited")
    saved = time.monotonic()
    while time.monotonic() - saved < EDIT_SECONDS:
        if edit.serves(container, "edited"):
            break
        time.sleep(0.1)
    assert edit.serves(container, "edited"), f"not served within {EDIT_SECONDS} s"
    print(f"edit served after {time.monotonic() - saved:.1f} s")


def test_every_process_of_the_dev_container_runs_as_the_images_non_root_uid(
    dev_loop: Stack,
) -> None:
    container = dev_loop.container("dev")
    user = engine.inspect(dev_loop.image("dev"))["Config"]["User"]
    assert numeric_non_root(user)
    # The engine needs the pid column; the uids are counted in the host's namespace, as is.
    table = engine.docker("top", container.id, "-o", "pid,uid").splitlines()[1:]
    processes = [row.split()[1] for row in table]
    assert processes
    assert set(processes) == {user.split(":")[0]}, processes


def test_a_changed_lock_file_rebuilds_and_replaces_the_container(dev_loop: Stack) -> None:
    before = dev_loop.container("dev").id
    lock = dev_loop.root / "uv.lock"
    # The same bytes written again: a change watch sees, served from the layer cache.
    lock.write_bytes(lock.read_bytes())
    deadline = time.monotonic() + REBUILD_SECONDS
    while time.monotonic() < deadline:
        ids = dev_loop.run("ps", "--quiet", "dev", check=False).stdout.split()
        if ids and ids[0] != before:
            return
        time.sleep(0.5)
    pytest.fail(f"no new dev container within {REBUILD_SECONDS} s of rewriting uv.lock")


def test_unit_tests_pass_in_the_dev_image_as_its_non_root_user(tmp_path: Path) -> None:
    stack = Stack()
    try:
        done = stack.run("run", "--rm", "--build", "test", timeout=BUILD_SECONDS, check=False)
        user = engine.inspect(stack.image("test"))["Config"]["User"]
    finally:
        left = stack.remove()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    assert numeric_non_root(user)
    assert not left, f"left behind by {stack.project}: {left}"
