"""The site's generated parts, in seconds and without a browser: every Dockerfile instruction
gets its note, and the build stops when a note and its file drift apart."""

import ast
import re
from pathlib import Path

import pytest

from docs.generate import (
    CHECKS,
    DOCUMENTED,
    NOTES,
    DocsError,
    annotated,
    cited_checks,
    generate,
    instructions,
    project_test_names,
    results,
)
from tools.project import ROOT

DOCKERFILES = list(DOCUMENTED)


def notes_of(dockerfile: str) -> str:
    return (NOTES / f"{dockerfile}.md").read_text()


def test_the_generated_parts_are_written(tmp_path: Path) -> None:
    written = generate(tmp_path)
    names = {path.name for path in written if path.parent == tmp_path}
    expected = {f"{name}.md" for name in DOCKERFILES} | {"settings.md", "sessions.md", "checks.md"}
    assert names == expected
    assert {path.parent for path in written} == {tmp_path, tmp_path / "results"}


def a_site(tmp_path: Path, *results: str) -> tuple[Path, Path]:
    """A page including the journey's result, and a lab holding ``results`` (NAME.md files)."""
    pages, lab = tmp_path / "pages", tmp_path / "lab" / "results"
    pages.mkdir()
    (pages / "journey.md").write_text('# The journey\n\n--8<-- "build/docs/results/journey.md"\n')
    lab.mkdir(parents=True)
    for name in results:
        (lab / name).write_text(f"Measured by `{name}`.\n")
    return pages, lab


def test_a_measured_result_is_included_with_its_chart_after_its_summary(tmp_path: Path) -> None:
    pages, lab = a_site(tmp_path, "journey.md", "journey.png")
    (lab / "journey.md").write_text("Measured by `nox -s journey`.\n\n### baseline\n\nA step.\n")
    [written] = results(tmp_path / "out", pages, lab)
    text = written.read_text()
    assert text.startswith("Measured by `nox -s journey`.")
    assert text.index("](results/journey.png)") < text.index("### baseline")
    assert (pages / "results" / "journey.png").is_file()


def test_a_result_the_lab_has_not_recorded_stops_the_build(tmp_path: Path) -> None:
    pages, lab = a_site(tmp_path)
    with pytest.raises(DocsError, match=r"lab/results/journey\.md"):
        results(tmp_path / "out", pages, lab)


def test_without_the_lab_each_result_says_this_copy_measures_nothing(tmp_path: Path) -> None:
    pages, lab = a_site(tmp_path)
    lab.rmdir()
    lab.parent.rmdir()
    [written] = results(tmp_path / "out", pages, lab)
    assert "which this copy does not have (`rm -r lab`)" in written.read_text()


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_each_instruction_gets_one_marker_in_order(dockerfile: str) -> None:
    block = annotated(dockerfile, notes_of(dockerfile), "notes")
    code = block.split("\n```\n")[0]
    markers = [int(n) for n in re.findall(r"^\s*# \((\d+)\)", code, re.MULTILINE)]
    count = len(instructions((ROOT / dockerfile).read_text().splitlines()))
    assert markers == list(range(1, count + 1))
    # The file's own lines are all there, in order, as written.
    shown = [line for line in code.splitlines()[1:] if not re.fullmatch(r"\s*# \(\d+\)!", line)]
    original = (ROOT / dockerfile).read_text().splitlines()
    assert [re.sub(r"^(\s*)# \(\d+\)", r"\1#", line) for line in shown] == original


def test_a_note_naming_no_instruction_stops_the_build() -> None:
    notes = notes_of("Dockerfile") + "\n## `RUN make-believe`\n\nNothing runs this.\n"
    with pytest.raises(DocsError, match="`RUN make-believe` names no instruction"):
        annotated("Dockerfile", notes, "notes")


def test_an_instruction_without_its_note_stops_the_build() -> None:
    notes = re.sub(r"## `EXPOSE 8000`\n.*?(?=\n## )", "", notes_of("Dockerfile"), flags=re.S)
    with pytest.raises(DocsError, match=r"Dockerfile:\d+: `EXPOSE 8000` has no note"):
        annotated("Dockerfile", notes, "notes")


def test_notes_out_of_the_files_order_stop_the_build() -> None:
    text = notes_of("Dockerfile.baseline")
    swapped = text.replace("## `EXPOSE 8000`", "## `SWAP`").replace("## `CMD`", "## `EXPOSE 8000`")
    with pytest.raises(DocsError, match="not in the order"):
        annotated("Dockerfile.baseline", swapped.replace("## `SWAP`", "## `CMD`"), "notes")


def test_the_checks_page_lists_every_image_check(tmp_path: Path) -> None:
    generate(tmp_path)
    page = (tmp_path / "checks.md").read_text()
    for folder in CHECKS:
        for path in folder.glob("test_*.py"):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.FunctionDef) and "expected" in {
                    arg.arg for arg in node.args.args
                }:
                    assert f"| `{node.name}" in page, node.name


def test_a_note_citing_a_check_the_tests_lack_is_reported() -> None:
    known = project_test_names()
    assert not cited_checks(notes_of("Dockerfile"), "notes", known)
    problems = cited_checks("(`test_that_was_renamed`)", "notes", known)
    assert problems == ["notes: cites `test_that_was_renamed`, no test of that name"]


def test_a_heredoc_is_one_instruction_with_its_lines() -> None:
    lines = ["FROM x", "RUN <<EOF", "# not a comment", "echo hi", "EOF", "COPY <<-END /f", "\tEND"]
    found = instructions(lines)
    assert [(i.first, i.text.split()[0]) for i in found] == [(0, "FROM"), (1, "RUN"), (5, "COPY")]
