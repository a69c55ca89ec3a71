"""The negative controls that are not the baseline: each check of the contract that the
baseline cannot fail is shown failing here, on an image or a tree made to fail it; and the
table (expected.py) states an outcome for every check of the contract, and only for those."""

import ast
import re
import subprocess
import uuid
from pathlib import Path

import testinfra

from tests import service
from tests.contract.reproducible.test_reproducible import two_builds
from tests.contract.test_attack_surface import linked_libraries
from tests.contract.test_hardening import dive_verdict, header_flood, world_writable
from tests.contract.test_runtime import DOCKER_LOG_MESSAGE_BYTES, longest_log_line
from tests.contract.toolbox import find
from tools import engine, images
from tools.containers import CONTAINER_PORT, PREFIX, remove_container, run_python, serve, start
from tools.project import ROOT

from .expected import OUTCOMES, SAME_HERE


def test_world_writable_flags_a_mode_666_file_and_nothing_writable_by_design(
    tmp_path: Path,
) -> None:
    """The check's own negative control, since the baseline gives none: the same `find`, run
    here (testinfra's local backend) on a planted tree, flags the optimized image's former
    `.venv/.lock` and a 777 folder; not /tmp, /data, sticky folders, links or a 644 file."""
    planted = {
        "app/.venv/.lock": 0o666,
        "app/shared/": 0o777,
        "app/.venv/pyvenv.cfg": 0o644,
        "tmp/scratch": 0o666,
        "data/": 0o777,
        "data/shortlink.sqlite3": 0o666,
        "var/tmp/": 0o1777,
    }
    for name, mode in planted.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if name.endswith("/") else path.touch()
        path.chmod(mode)
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/bin/python3").symlink_to("python3.13")
    local = testinfra.get_host("local://")
    found = find(local, world_writable(str(tmp_path)), root=str(tmp_path))
    assert found == ["app/.venv/.lock", "app/shared"]


# A layer that rewrites the 8 MB file the layer below it wrote: 8 MB that every pull moves twice.
WRITES_A_FILE_TWICE = """FROM {base}
USER 0
RUN head -c 8000000 /dev/urandom > /var/tmp/written-twice
RUN head -c 8000000 /dev/urandom > /var/tmp/written-twice
"""


def test_layers_waste_nothing_fails_an_image_that_writes_a_file_twice() -> None:
    """The negative control of `test_layers_waste_nothing`: the same dive verdict, on the
    optimized image plus two layers writing one file, fails."""
    tag = f"{PREFIX}-written-twice:{uuid.uuid4().hex[:12]}"
    built = subprocess.run(
        ["docker", "buildx", "build", "--load", "--quiet", "--tag", tag, "-"],
        input=WRITES_A_FILE_TWICE.format(base=images.OPTIMIZED.tag),
        capture_output=True,
        text=True,
    )
    try:
        assert built.returncode == 0, built.stderr[-1500:]
        passes, seen = dive_verdict(tag)
        assert not passes, f"dive let a file written twice through: {seen}"
    finally:
        engine.docker("image", "rm", "--force", tag, check=False)


# The optimized image without one library an extension module of its standard library links
# (_bz2's libbz2): it starts and serves, since the service never imports bz2.
WITHOUT_A_LIBRARY = """FROM {base}
USER 0
RUN rm /usr/lib/*-linux-gnu/libbz2.so.1*
USER {user}
"""


def test_every_extension_module_finds_its_shared_libraries_fails_one_without_libbz2() -> None:
    """The negative control of `test_every_extension_module_finds_its_shared_libraries`: the
    same resolution, run by the image's Python, finds _bz2's library missing."""
    tag = f"{PREFIX}-without-libbz2:{uuid.uuid4().hex[:12]}"
    user = engine.inspect(images.OPTIMIZED.tag)["Config"]["User"]
    built = subprocess.run(
        ["docker", "buildx", "build", "--load", "--quiet", "--tag", tag, "-"],
        input=WITHOUT_A_LIBRARY.format(base=images.OPTIMIZED.tag, user=user),
        capture_output=True,
        text=True,
    )
    try:
        assert built.returncode == 0, built.stderr[-1500:]
        container = start(tag)
        try:

            def python(code: str) -> str:
                done = run_python(container, ("python",), code)
                assert done.returncode == 0, done.stderr[-2000:]
                return done.stdout

            holds, evidence = linked_libraries(python)
        finally:
            remove_container(container)
        assert not holds, f"a missing libbz2 went unseen: {evidence}"
        assert re.search(r"_bz2\.\S+\.so': \['libbz2\.so", evidence), evidence
    finally:
        engine.docker("image", "rm", "--force", tag, check=False)


# An image whose build writes the time it ran: no two builds give the same file.
WRITES_ITS_BUILD_TIME = """FROM {base}
RUN date +%s%N > /var/tmp/built-at
"""


def test_reproducible_fails_an_image_that_writes_its_build_time(tmp_path: Path) -> None:
    """The negative control of `test_two_builds_without_cache_give_the_same_filesystem`: the
    same two builds without cache and the same comparison, of the optimized image plus a layer
    that records its build's time, find that one path differs."""
    (tmp_path / "Dockerfile").write_text(WRITES_ITS_BUILD_TIME.format(base=images.OPTIMIZED.tag))
    control = images.Image("built-at", f"{PREFIX}-built-at", "Dockerfile")
    same, seen = two_builds(
        control, {images.OPTIMIZED.tag: images.OPTIMIZED.tag}, tmp_path, context=tmp_path
    )
    assert not same, f"two builds writing their time were found the same: {seen}"
    assert re.search(r"differ in 1 of .*'var/tmp/built-at'", seen), seen


def contract_checks() -> set[str]:
    """The names of the contract's checks run per image (each takes ``expected``, its outcome
    there), with ``[case]`` for each case of a check parametrized over a module-level tuple of
    names."""
    checks = set()
    for path in (ROOT / "tests" / "contract").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        tuples = {
            target.id: [element.value for element in node.value.elts]
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                if "expected" not in {argument.arg for argument in node.args.args}:
                    continue
                cases = [
                    case
                    for decorator in node.decorator_list
                    if isinstance(decorator, ast.Call)
                    and len(decorator.args) == 2
                    and isinstance(decorator.args[1], ast.Name)
                    for case in tuples.get(decorator.args[1].id, [])
                ]
                checks |= {f"{node.name}[{case}]" for case in cases} or {node.name}
    return checks


def guard_off(guard: str) -> tuple[str, str]:
    """``docker run`` arguments that turn ``guard`` off (the seam's GUARDS_OFF)."""
    setting = (service.GUARDS_OFF or {}).get(guard)
    assert setting, f"service.GUARDS_OFF: declare the setting that turns {guard} off"
    return "--env", setting


def test_refuses_oversized_request_heads_fails_with_the_servers_bound_turned_off() -> None:
    holds, observed = header_flood(images.OPTIMIZED.tag, *guard_off("header-bytes"))
    assert not holds, f"passed with the bound turned off: {observed}"
    assert re.search(r"\b[1-9]\d* of \d+ heads .* answered 2xx|OOM-killed True", observed), observed


def test_every_log_line_fits_one_docker_log_message_fails_a_server_logging_whole_lines() -> None:
    """The standard library's http.server, in the optimized image, logs each request line
    whole: the same check finds the long path's line over Docker's message size."""
    container, _ = serve(
        images.OPTIMIZED.tag, command=("python", "-m", "http.server", str(CONTAINER_PORT)), path="/"
    )
    try:
        longest = longest_log_line(container)
    finally:
        remove_container(container)
    assert longest > DOCKER_LOG_MESSAGE_BYTES, f"longest log line {longest} bytes"


def test_the_table_states_every_check_of_the_contract_and_nothing_else() -> None:
    checks = contract_checks()
    stated = set(OUTCOMES) | set(SAME_HERE)
    assert checks, "no check of the contract was found"
    assert not checks - stated, f"no outcome stated for {sorted(checks - stated)}"
    assert not stated - checks, f"stated for no check of the contract: {sorted(stated - checks)}"
    assert not set(OUTCOMES) & set(SAME_HERE), "a check both expected to fail and not run"
