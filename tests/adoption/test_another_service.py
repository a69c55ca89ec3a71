"""A cloner who replaces the service: in a copy with every removable room removed but the
offline support (the lab, the docs, the demonstration, these adoption proofs), renamed, the URL
shortener is replaced by a service of another shape, and only the service's room is rewritten:
the service (src/), its unit tests, its feature checks (none here), the seam
(tests/service.py) and, where the service brings its own, pyproject.toml (its dependencies and
its profile, [tool.service]) with uv.lock. Lint, unit, build, the whole image contract (the
clients that wait, `nox -s clients`, included) and compose then pass; no baseline is built.
What the copy changed is printed, as `git diff --stat`, and must lie in that room.

The services, each a folder here (its README.md says its shape):
- hello/: no database, no admin token, no /version; shortlink's pyproject.toml kept;
- more, each with its own pyproject.toml and uv.lock, its package named as its folder.
"""

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.test_attack_surface import linked_libraries
from tools import base_images, engine, images
from tools.containers import PREFIX
from tools.project import ROOT

from .test_rename import OPTIONAL, renamed_copy, run

HERE = ROOT / "tests" / "adoption"
# hello keeps shortlink's pyproject.toml, so its copy is renamed to another name than its own.
HELLO_AS = "greeter"
SERVICES = sorted(path.name for path in HERE.iterdir() if (path / "service.py").is_file())
# Every removable room but the offline support (README, "Layout"): a cloner's clone.
REMOVED = (
    *OPTIONAL, "demonstration", "Dockerfile.baseline", "Dockerfile.baseline.dockerignore",
    "tests/adoption",
)  # fmt: skip
# What a cloner edits to replace the service (README, "Use this as your starting point").
ROOM = ("src/", "tests/unit/", "tests/features/", "tests/service.py", "pyproject.toml", "uv.lock")


def replace_the_room(copy: Path, source: Path, package: str) -> None:
    """Put the service in ``source`` in place of the copy's, as the package ``package``."""
    shutil.rmtree(copy / "src")
    shutil.copytree(source / "src" / source.name, copy / "src" / package)
    for folder in ("unit", "features"):
        shutil.rmtree(copy / "tests" / folder, ignore_errors=True)
    shutil.copytree(source / "unit", copy / "tests" / "unit")
    if source.name != package:
        for test in (copy / "tests" / "unit").glob("*.py"):
            test.write_text(re.sub(rf"\b{source.name}\b", package, test.read_text()))
    shutil.copy2(source / "service.py", copy / "tests" / "service.py")
    for name in ("pyproject.toml", "uv.lock"):
        if (source / name).is_file():
            shutil.copy2(source / name, copy / name)


def changed_outside_the_room(copy: Path) -> tuple[list[str], str]:
    """The paths the replacement changed outside ROOM, and `git diff --stat` of all it changed
    (against the renamed copy, committed before)."""
    subprocess.run(["git", "add", "--all"], cwd=copy, check=True)
    names = run("git", "diff", "--cached", "--name-only", cwd=copy).stdout.split()
    stat = run("git", "diff", "--cached", "--stat=100", cwd=copy).stdout
    return [name for name in names if not name.startswith(ROOM)], stat


@pytest.fixture(scope="module", params=SERVICES)
def replaced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A cloner's copy of this checkout, renamed, its service's room replaced by another's."""
    source = HERE / request.param
    package = source.name if (source / "pyproject.toml").is_file() else HELLO_AS
    copy = tmp_path_factory.mktemp(f"adopted-{source.name}") / package
    renamed_copy(copy, package, remove=REMOVED)
    commit = ["git", "-c", "user.name=adoption", "-c", "user.email=adoption@localhost", "commit"]
    subprocess.run(["git", "add", "--all"], cwd=copy, check=True)
    subprocess.run([*commit, "--quiet", "-m", "renamed"], cwd=copy, check=True)
    replace_the_room(copy, source, package)
    try:
        yield copy, package
    finally:
        for image in ("optimized", "minimal"):
            engine.docker("rmi", "--force", f"{package}:{image}", check=False)


def test_lint_unit_build_the_image_contract_and_compose_pass_on_another_service(
    replaced: tuple[Path, str],
) -> None:
    copy, package = replaced
    outside, stat = changed_outside_the_room(copy)
    print(f"what adopting it changed in the renamed copy:\n{stat}")
    assert not outside, f"edited outside the service's room {ROOM}: {outside}"
    # The README's commands; `test` runs the unit tests too, so `unit` would run them twice.
    done = run("nox", "-s", "lint", "build", "test", "clients", "compose", cwd=copy)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert re.search(r"tests/contract/\S+\[minimal\] PASSED|\d+ passed", output), output[-2000:]
    assert not engine.image_exists(f"{package}:baseline"), "a clone without it built the baseline"
    # The image checks of an image that does not promise it, listed by name.
    assert "test_has_no_shell[optimized]: optimized does not declare no_shell" in output


# Dockerfile.minimal as it was when a broken image passed every check: the libraries it gathers
# are those of /usr/local alone, not those the venv's extension modules link.
BEFORE_THE_FIX = ("find /usr/local /app/.venv -type f", "find /usr/local -type f")


@pytest.mark.parametrize("replaced", ["ledger"], indirect=True)
def test_a_minimal_image_without_its_drivers_library_fails_the_library_check(
    replaced: tuple[Path, str],
) -> None:
    """The negative control of `test_every_extension_module_finds_its_shared_libraries`: the
    compiled-driver service's minimal image built as Dockerfile.minimal was (its venv's libraries
    left out) lacks libpq.so.5, and the check, run by that image's own Python, says so."""
    copy, _ = replaced
    dockerfile = copy / "Dockerfile.minimal"
    broken = copy / "Dockerfile.broken-minimal"
    assert BEFORE_THE_FIX[0] in dockerfile.read_text(), "the library step moved: update this"
    broken.write_text(dockerfile.read_text().replace(*BEFORE_THE_FIX))
    tag = f"{PREFIX}-broken-minimal:{uuid.uuid4().hex[:12]}"
    try:
        images.build(
            images.Image("broken-minimal", tag, broken.name),
            # Resolved here: this checkout may have built nothing (build/images.json).
            base_images.resolve()[1],
            tag=tag,
            context=copy,
            quiet=True,
        )

        def python(code: str) -> str:
            done = subprocess.run(
                ["docker", "run", "--rm", "--entrypoint", "python", tag, "-c", code],
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            return done.stdout

        holds, evidence = linked_libraries(python)
    finally:
        broken.unlink()
        engine.docker("image", "rm", "--force", tag, check=False)
    assert not holds, f"the broken minimal image passed: {evidence}"
    assert re.search(r"psycopg2/_psycopg\S*\.so': \['libpq\.so\.5'", evidence), evidence
