"""A cloner who replaces the service: in a copy with every removable room removed but the
offline support (the lab, the docs, the demonstration, these adoption proofs), renamed, the URL
shortener is replaced by hello (tests/adoption/hello/: no database, no admin token, no
/version), and only the service's room is rewritten: the service, its unit tests, its feature
checks (hello has none) and the seam (tests/service.py). Lint, unit, build, the whole image
contract and compose then pass; no baseline is built."""

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import engine
from tools.project import ROOT

from .test_rename import OPTIONAL, renamed_copy, run

NEW = "greeter"
HELLO = Path("tests/adoption/hello")
HELLO_ROOT = ROOT / HELLO
# Every removable room but the offline support (README, "Layout"): a cloner's clone.
REMOVED = (
    *OPTIONAL, "demonstration", "Dockerfile.baseline", "Dockerfile.baseline.dockerignore",
    "tests/adoption",
)  # fmt: skip


@pytest.fixture(scope="module")
def replaced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cloner's copy of this checkout, renamed, its service's room replaced by hello's."""
    copy = tmp_path_factory.mktemp("another-service") / NEW
    renamed_copy(copy, NEW, remove=REMOVED)
    # What a cloner edits: the service, its unit tests, its feature checks, the seam.
    shutil.rmtree(copy / "src" / NEW)
    shutil.copytree(HELLO_ROOT / "src" / "hello", copy / "src" / NEW)
    for folder in ("unit", "features"):
        shutil.rmtree(copy / "tests" / folder)
    shutil.copytree(HELLO_ROOT / "unit", copy / "tests" / "unit")
    for test in (copy / "tests" / "unit").glob("*.py"):
        test.write_text(re.sub(r"\bhello\b", NEW, test.read_text()))
    shutil.copy2(HELLO_ROOT / "service.py", copy / "tests" / "service.py")
    try:
        yield copy
    finally:
        for image in ("optimized", "minimal"):
            engine.docker("rmi", "--force", f"{NEW}:{image}", check=False)


def test_lint_unit_build_the_image_contract_and_compose_pass_on_another_service(
    replaced: Path,
) -> None:
    done = run("nox", "-s", "lint", "unit", "build", "test", "compose", cwd=replaced)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert re.search(r"tests/contract/\S+\[minimal\] PASSED|\d+ passed", output), output[-2000:]
    assert not engine.image_exists(f"{NEW}:baseline"), "a clone without it built the baseline"
    # The image checks of an image that does not promise it, listed by name.
    assert "test_has_no_shell[optimized]: optimized does not declare no_shell" in output
