"""A cloner who replaces the service: in a copy without the lab, renamed, the URL shortener is
replaced by hello (tests/adoption/hello/: no database, no admin token, no /version), and only
the service, its unit tests and the seam (tests/service.py) are rewritten. Lint, unit,
build, the whole image contract and compose then pass, and the checks of the features hello
does not have are listed as not applicable."""

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import engine

from .test_rename import renamed_copy, run

NEW = "greeter"
HELLO = Path("tests/adoption/hello")
# The features hello's seam declares None, and a check of each that must not run.
ABSENT = {
    "ADMIN_TOKEN": "test_an_unreadable_admin_token_file_fails_fast_with_one_line",
    "BUILD_INFO": "test_the_service_reports_the_build_metadata_the_image_passes_it",
    "CLOSED_ON_STOP": "test_docker_stop_lets_the_service_close_its_storage",
    "SERVICE_LINKS": "test_an_injected_service_link_is_ignored_and_said_in_one_line",
    "PROXY": "test_links_follow_a_trusted_proxy_and_only_a_trusted_one",
    "UNWRITABLE_DATABASE": "test_a_database_left_by_another_uid_fails_fast_with_one_line",
}


@pytest.fixture(scope="module")
def replaced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of this checkout without the lab, renamed, its service replaced by hello."""
    copy = renamed_copy(tmp_path_factory.mktemp("another-service") / NEW, NEW)
    # What a cloner edits: the service, its unit tests, the seam. Nothing else.
    shutil.rmtree(copy / "src" / NEW)
    shutil.copytree(copy / HELLO / "src" / "hello", copy / "src" / NEW)
    shutil.rmtree(copy / "tests" / "unit")
    shutil.copytree(copy / HELLO / "unit", copy / "tests" / "unit")
    for test in (copy / "tests" / "unit").glob("*.py"):
        test.write_text(re.sub(r"\bhello\b", NEW, test.read_text()))
    shutil.copy2(copy / HELLO / "service.py", copy / "tests" / "service.py")
    try:
        yield copy
    finally:
        for image in ("optimized", "minimal", "baseline"):
            engine.docker("rmi", "--force", f"{NEW}:{image}", check=False)


def test_lint_unit_build_the_image_contract_and_compose_pass_on_another_service(
    replaced: Path,
) -> None:
    done = run("nox", "-s", "lint", "unit", "build", "test", "compose", cwd=replaced)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    summary = output.split("not applicable to this service", 1)
    assert len(summary) == 2, "no check was listed as not applicable"
    for feature, check in ABSENT.items():
        assert re.search(rf"{check}\[\S+\]: {feature} = None", summary[1]), (feature, check)
