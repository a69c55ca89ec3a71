"""The site's generated parts, written before each build: ``python -m docs.generate [OUT]``.

Into OUT (build/docs/ by default), one Markdown file each, which the pages include with
pymdownx.snippets (``check_paths``: a missing one fails the build):

- each Dockerfile, read now, with a code annotation on every instruction: its note in
  docs/notes/<Dockerfile>.md. A note names its instruction; a note naming none, an instruction
  without a note, notes out of the file's order, or a note citing a check the tests no longer
  have stop the build with the list of them;
- the settings, from src/<package>/settings.py (the field, its default, its value in the image);
- the sessions, from the noxfile and the modules it imports (the lab's marked);
- the image checks, from the test suite itself: each check, its expected outcome per image
  (its ``@per_image`` decorator) and the evidence the baseline must show;
- the measured results a page includes (``build/docs/results/NAME.md``): the lab's own
  lab/results/NAME.md, written by a lab tool's ``--record``, and its chart NAME.png, if any,
  shown after its summary (before its first ``###`` section) and copied beside the pages
  (docs/pages/results/, not kept in git). A result the lab lacks stops the build; without the
  lab (``rm -r lab``), each says in one line that this copy measures nothing.

Plain files, no MkDocs hook: Zensical, Material for MkDocs' successor, reads no ``hooks:``.
Exits 1 with what is wrong.
"""

import argparse
import ast
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.images import OPTIMIZED, shipped
from tools.project import ENV_PREFIX, PACKAGE, ROOT

NOTES = ROOT / "docs" / "notes"
OUT = ROOT / "build" / "docs"
PAGES = ROOT / "docs" / "pages"
LAB_RESULTS = ROOT / "lab" / "results"
# Where a page includes a measured result: --8<-- "build/docs/results/NAME.md".
RESULT_INCLUDE = re.compile(r'--8<-- "build/docs/results/([\w-]+)\.md"')
# What a note's heading names: "## `FROM python:… AS builder`"; … stands for any text.
NOTE_HEADING = re.compile(r"^## `(.+)`\s*$", re.MULTILINE)


class DocsError(ValueError):
    """The sources disagree; the message lists where."""


@dataclass(frozen=True)
class Instruction:
    first: int  # index of its first line in the file
    text: str  # its lines joined, comments and continuations removed, spaces collapsed


# A heredoc's opening (`RUN <<EOF`, `COPY <<-"EOT" /file`): its lines are the instruction's.
HEREDOC = re.compile(r"<<(-?)[\"']?(\w+)[\"']?")


def instructions(lines: list[str]) -> list[Instruction]:
    """The Dockerfile's instructions, each with where it starts."""
    found, start, parts, heredocs = [], None, [], []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if heredocs:  # inside a heredoc: every line is its text, up to its delimiter
            if (stripped if heredocs[0][0] else line) == heredocs[0][1]:
                heredocs.pop(0)
            if not heredocs:
                found.append(Instruction(start, " ".join(" ".join(parts).split())))
                start, parts = None, []
            continue
        if not stripped or stripped.startswith("#"):
            continue  # a comment or a blank line, between instructions or inside one
        if start is None:
            start = number
        parts.append(stripped.removesuffix("\\").strip())
        if stripped.endswith("\\"):
            continue
        heredocs = [(dash == "-", word) for dash, word in HEREDOC.findall(" ".join(parts))]
        if not heredocs:
            found.append(Instruction(start, " ".join(" ".join(parts).split())))
            start, parts = None, []
    return found


def notes(text: str) -> list[tuple[str, str]]:
    """(the instruction it names, its text) of each note, in order; text before the first
    heading is for the notes' editors, not the page."""
    pieces = NOTE_HEADING.split(text)[1:]
    return [(key, body.strip()) for key, body in zip(pieces[::2], pieces[1::2], strict=True)]


def matches(key: str, instruction: Instruction) -> bool:
    pattern = ".*?".join(re.escape(" ".join(part.split())) for part in key.split("…"))
    return re.match(pattern, instruction.text) is not None


def annotated(dockerfile: str, notes_text: str, notes_name: str) -> str:
    """A fenced code block of the Dockerfile, a marker on each instruction, then its notes."""
    lines = (ROOT / dockerfile).read_text().splitlines()
    found = instructions(lines)
    written = notes(notes_text)
    problems, owner = [], {}
    for key, _ in written:
        hits = [i for i, instruction in enumerate(found) if matches(key, instruction)]
        if not hits:
            problems.append(f"{notes_name}: the note `{key}` names no instruction of {dockerfile}")
        elif len(hits) > 1:
            lines_named = ", ".join(str(found[i].first + 1) for i in hits)
            problems.append(
                f"{notes_name}: `{key}` names several instructions (lines {lines_named})"
            )
        elif hits[0] in owner:
            problems.append(f"{notes_name}: `{key}` and `{owner[hits[0]]}` name one instruction")
        else:
            owner[hits[0]] = key
    for i, instruction in enumerate(found):
        if i not in owner:
            problems.append(
                f"{dockerfile}:{instruction.first + 1}: `{instruction.text[:60]}` has no note in "
                f"{notes_name} (a `## \\`INSTRUCTION\\`` heading, … for any text)"
            )
    if not problems and list(owner) != sorted(owner):
        problems.append(f"{notes_name}: the notes are not in the order of {dockerfile}")
    if problems:
        raise DocsError("\n".join(problems))
    # The marker: at the start of the comment just above the instruction, when there is one
    # (Material turns "(n)" in a comment into the note's button, which stays in view however
    # long the line), else on a comment line of its own whose "(n)!" the button replaces. A
    # comment at the end of an instruction is no comment in a Dockerfile: none goes there.
    marked = list(lines)
    for number, instruction in enumerate(found, start=1):
        top = instruction.first
        while top > 0 and lines[top - 1].lstrip().startswith("#"):
            top -= 1
        line = lines[instruction.first]
        if top < instruction.first:
            hashes, _, comment = lines[top].partition("#")
            marked[top] = f"{hashes}# ({number}){comment}"
        else:
            indent = line[: len(line) - len(line.lstrip())]
            marked[instruction.first] = f"{indent}# ({number})!\n{line}"
    items = []
    for _, body in written:
        indented = "\n".join(f"    {line}" if line else "" for line in body.splitlines())
        items.append(f"1.  {indented.lstrip()}")
    fence = f'```dockerfile title="{dockerfile}"'
    return "\n".join([fence, *marked, "```", "", "\n\n".join(items), ""])


def image_env(dockerfile: str) -> dict[str, str]:
    """The environment a Dockerfile's `ENV` instructions set, as written."""
    env = {}
    for instruction in instructions((ROOT / dockerfile).read_text().splitlines()):
        if instruction.text.startswith("ENV "):
            for word in shlex.split(instruction.text[4:]):
                key, _, value = word.partition("=")
                env[key] = value
    return env


def settings_table() -> str:
    """The service's settings: variable, default, value in the optimized image, meaning."""
    settings = __import__(f"{PACKAGE}.settings", fromlist=["Settings"])
    image = image_env(OPTIMIZED.dockerfile)
    rows = [
        f"| variable | default | in `{OPTIMIZED.dockerfile}`'s image | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in settings.Settings.model_fields.items():
        variable = f"{ENV_PREFIX}{name.upper()}"
        default = "unset" if field.default is None else f"`{field.default}`"
        in_image = f"`{image[variable]}`" if variable in image else "the default"
        rows.append(f"| `{variable}` | {default} | {in_image} | {field.description} |")
    return "\n".join(rows) + "\n"


def session_files() -> list[Path]:
    """The noxfile and every sessions module it imports, the lab's and the site's."""
    found = [ROOT / "noxfile.py"]
    for part in ("lab", "docs"):
        found += sorted((ROOT / part).glob("**/sessions.py"))
    return found


def sessions_table() -> str:
    rows = ["| session | what it does | defined in |", "|---|---|---|"]
    for path in session_files():
        relative = path.relative_to(ROOT).as_posix()
        # A session a room brings may be defined under `if ROOM is present:`.
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                if ast.unparse(getattr(call, "func", decorator)) != "nox.session":
                    continue
                keywords = {k.arg: k.value for k in getattr(call, "keywords", [])}
                name = keywords["name"].value if "name" in keywords else node.name
                lab = " (lab)" if relative.startswith("lab/") else ""
                doc = " ".join((ast.get_docstring(node) or "").split()).replace("|", "\\|")
                rows.append(f"| `nox -s {name}`{lab} | {doc} | `{relative}` |")
    return "\n".join(rows) + "\n"


# Where the image checks are: the contract (every image), the service's features (its images).
CHECKS = (ROOT / "tests" / "contract", ROOT / "tests" / "contract" / "reproducible")
FEATURES = ROOT / "tests" / "features"
try:  # The demonstration, optional: its table gives the baseline's column.
    from demonstration import expected as demonstrated
except ModuleNotFoundError as missing:
    if missing.name != "demonstration":
        raise
    demonstrated = None
# The Dockerfiles whose notes the site shows: the service's, and the demonstration's. A page
# of one that a clone removed says so in one line.
DOCUMENTED = tuple(image.dockerfile for image in shipped()) + (
    ("Dockerfile.baseline",) if demonstrated else ()
)
REMOVABLE = ("Dockerfile.minimal", "Dockerfile.baseline")


def check_names(module: ast.Module, parameter: str | None) -> list[tuple[str, str]]:
    """(check, what it applies to) of each test function (taking ``parameter``, when given),
    one per case of a parametrize over a module-level tuple of names (``name[case]``)."""
    tuples = {
        target.id: [element.value for element in node.value.elts]
        for node in module.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    rows = []
    for node in module.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        if parameter and parameter not in {arg.arg for arg in node.args.args}:
            continue
        applies, cases = ("every image" if parameter else "the service's images"), []
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            func = ast.unparse(call.func) if call else ""
            if func == "pytest.mark.declared":
                applies = f"images declaring `{call.args[0].value}`"
            elif func == "pytest.mark.feature":
                applies = f"the seam's `{call.args[0].value}`"
            elif func == "pytest.mark.parametrize" and isinstance(call.args[1], ast.Name):
                cases = tuples.get(call.args[1].id, [])
        if node.name.endswith("_the_negative_control"):
            applies = "the optimized image, its protection turned off: must fail"
        rows += [(f"{node.name}[{case}]", applies) for case in cases] or [(node.name, applies)]
    return rows


def on_the_baseline(check: str) -> str:
    """The demonstration's expected outcome of ``check`` on the baseline, as a cell."""
    if check in demonstrated.OUTCOMES:
        return f"fails: evidence matches `{demonstrated.OUTCOMES[check].because}`"
    if check in demonstrated.SAME_HERE:
        return f"not run: {demonstrated.SAME_HERE[check]}"
    raise DocsError(f"demonstration/expected.py states nothing for {check}")


def checks_tables() -> str:
    """One table per test module of the contract, under its name and its docstring's first
    paragraph, with the baseline's column when the demonstration is present; then the
    service's features."""
    out = []
    baseline = " | on the baseline (demonstration) |" if demonstrated else " |"
    # A contract check takes `expected`, its outcome on each image; a feature check may not.
    for folder, parameter in [*((folder, "expected") for folder in CHECKS), (FEATURES, None)]:
        for path in sorted(folder.glob("test_*.py")):
            module = ast.parse(path.read_text())
            rows = check_names(module, parameter)
            if not rows:
                continue
            summary = " ".join((ast.get_docstring(module) or "").split("\n\n")[0].split())
            title = path.stem.removeprefix("test_").replace("_", " ").capitalize()
            feature = folder == FEATURES
            out.append(f"### {'Feature: ' if feature else ''}{title}\n")
            out.append(f"{summary} (`{path.relative_to(ROOT).as_posix()}`)\n")
            with_baseline = demonstrated and not feature
            out.append(f"| check | applies to{baseline if with_baseline else ' |'}")
            out.append("|---|---|" + ("---|" if with_baseline else ""))
            for check, applies in rows:
                cell = f" {on_the_baseline(check)} |" if with_baseline else ""
                out.append(f"| `{check}` | {applies} |{cell}")
            out.append("")
    return "\n".join(out)


def project_test_names() -> set[str]:
    """Every test function of the project: what a note may cite as its proof."""
    names = set()
    for folder in ("tests", "lab"):
        for path in (ROOT / folder).glob("**/test_*.py"):
            names |= {
                node.name
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            }
    return names


def cited_checks(notes_text: str, notes_name: str, known: set[str]) -> list[str]:
    """A problem for each check a note cites (`test_...`) that the tests no longer have."""
    cited = set(re.findall(r"`(test_\w+)`", notes_text))
    return [f"{notes_name}: cites `{name}`, no test of that name" for name in sorted(cited - known)]


def results(out: Path, pages: Path = PAGES, lab: Path = LAB_RESULTS) -> list[Path]:
    """Write each result a page includes into OUT/results/; its chart beside the pages.

    Raises DocsError naming the results the lab should have and lacks.
    """
    wanted = sorted(
        {
            name
            for page in pages.glob("**/*.md")
            for name in RESULT_INCLUDE.findall(page.read_text())
        }
    )
    (out / "results").mkdir(parents=True, exist_ok=True)
    charts = pages / "results"
    shutil.rmtree(charts, ignore_errors=True)
    missing = [
        name for name in wanted if lab.parent.is_dir() and not (lab / f"{name}.md").is_file()
    ]
    if missing:
        listed = ", ".join(f"lab/results/{name}.md" for name in missing)
        raise DocsError(f"a page includes a result the lab has not recorded: {listed}")
    written = []
    for name in wanted:
        if not lab.parent.is_dir():
            text = "*Measured by the lab, which this copy does not have (`rm -r lab`).*\n"
        else:
            text = (lab / f"{name}.md").read_text()
            if (lab / f"{name}.png").is_file():
                charts.mkdir(exist_ok=True)
                shutil.copy2(lab / f"{name}.png", charts / f"{name}.png")
                # After the summary, before the sections (### headings) of its parts.
                summary, heading, parts = text.partition("\n### ")
                chart = f"![The chart of lab/results/{name}.png](results/{name}.png)"
                text = f"{summary.rstrip()}\n\n{chart}\n\n{heading.lstrip()}{parts}"
        (out / "results" / f"{name}.md").write_text(text)
        written.append(out / "results" / f"{name}.md")
    return written


def generate(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    known = project_test_names()
    parts = {
        "settings.md": settings_table,
        "sessions.md": sessions_table,
        "checks.md": checks_tables,
    }
    problems, written = [], []
    for dockerfile in sorted(set(REMOVABLE) - set(DOCUMENTED)):
        (out / f"{dockerfile}.md").write_text(
            f'This copy has no `{dockerfile}`: it was removed (README, "Layout").\n'
        )
    for dockerfile in DOCUMENTED:
        notes_path = NOTES / f"{dockerfile}.md"
        name = notes_path.relative_to(ROOT).as_posix()
        problems += cited_checks(notes_path.read_text(), name, known)
        try:
            text = annotated(dockerfile, notes_path.read_text(), name)
        except DocsError as error:
            problems.append(str(error))
            continue
        (out / f"{dockerfile}.md").write_text(text)
        written.append(out / f"{dockerfile}.md")
    for filename, make in parts.items():
        try:
            (out / filename).write_text(make())
        except DocsError as error:
            problems.append(str(error))
            continue
        written.append(out / filename)
    try:
        written += results(out)
    except DocsError as error:
        problems.append(str(error))
    if problems:
        raise DocsError("\n".join(problems))
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=OUT, help="default: build/docs")
    arguments = parser.parse_args()
    try:
        written = generate(arguments.out)
    except DocsError as error:
        print(f"error: the site's sources disagree:\n{error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
