"""Adopt the project under your own name: ``python -m tools.rename NEWNAME`` (nox -s rename).

The name is said once, in pyproject.toml; the service and the tools read it from there or from
``__package__``. What still spells it out (imports in tests, the Dockerfiles' CMD and ENV, the
README, CI files) is rewritten here in one pass, the package folder is renamed and uv.lock
follows. Nothing is written until every check has passed; a failure restores what was written.
"""

import keyword
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tools import images
from tools.project import NAME, PACKAGE, ROOT, NotACheckout, files

# Lower-case letters and digits, words joined by single underscores: a valid import name, a
# valid distribution name, a valid image repository name and, upper-cased, a valid env prefix.
VALID_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
# Its copyright line names the project's original authors.
KEPT = {"LICENSE"}


class RenameError(ValueError):
    """The new name cannot be used; the message says why."""


def check(new: str) -> None:
    """Refuse, with one line, every name that would leave a broken or ambiguous tree."""
    if not new:
        raise RenameError("give the new name: nox -s rename -- NEWNAME (e.g. acmelinks)")
    if not VALID_NAME.fullmatch(new):
        raise RenameError(
            f"{new!r} is not a lower-case Python package name: letters and digits, words joined "
            f"by single underscores, starting with a letter (e.g. acmelinks, acme_links)"
        )
    if keyword.iskeyword(new) or keyword.issoftkeyword(new):
        raise RenameError(f"{new!r} is a Python keyword")
    if new in sys.stdlib_module_names:
        raise RenameError(f"{new!r} would hide the standard library's module of that name")
    if new == PACKAGE:
        raise RenameError(f"the project is already called {new!r}")
    if new in locked_packages():
        raise RenameError(f"{new!r} is the name of a dependency in uv.lock")


def locked_packages() -> set[str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {re.sub(r"[-.]", "_", p["name"]).lower() for p in lock.get("package", [])}


def project_files() -> list[str]:
    try:
        return files()
    except NotACheckout as error:
        raise RenameError(f"{error}; rename needs it") from None


def texts() -> dict[str, str]:
    """Every project file that is text, by path; binaries (images) are left alone."""
    found = {}
    for name in project_files():
        if name in KEPT:
            continue
        data = (ROOT / name).read_bytes()
        try:
            found[name] = data.decode()
        except UnicodeDecodeError:
            continue
    return found


# A section a tool writes between `<!-- NAME:start -->` and `<!-- NAME:end -->` (lab/report.py).
SECTION = re.compile(r"(<!-- ([\w-]+):start -->\n)(.*?)(<!-- \2:end -->)", re.DOTALL)
# Put before figures measured under the old name, until the next measured run replaces them.
NOT_YET_MEASURED = "*Not yet measured under the name {new}: these are {old}'s figures.*"


# A file of measured results (lab/report.py): whole, what a measured section is in the README.
MEASURED_FILES = re.compile(r"^lab/results/[\w-]+\.md$")


def not_yet_measured(body: str, new: str) -> str:
    """Measured ``body``, its old names kept, under one note that says so."""
    if body.startswith("*Not yet measured under the name "):
        return body
    return f"{NOT_YET_MEASURED.format(new=new, old=NAME)}\n\n{body}"


# Kubernetes names its objects in DNS labels (RFC 1123: lower-case letters, digits and '-').
KUBERNETES = "deploy/kubernetes/"


def replace(text: str, new: str, *, measured_file: bool = False, dns: bool = False) -> str:
    """``text`` with the project's name, package and env prefix replaced by ``new``'s; a
    measured section (one that says "Measured by"), or a whole ``measured_file``, keeps its
    figures and the old names in them, marked as not yet measured under the new name. ``dns``:
    the name as a DNS label, its underscores hyphens (the env prefix keeps them)."""
    if measured_file and "Measured by" in text:
        return not_yet_measured(text, new)
    measured: list[str] = []

    def keep(match: re.Match) -> str:
        if "Measured by" not in match.group(3):
            return match.group(0)
        measured.append(match.group(3))
        return f"{match.group(1)}\0{len(measured) - 1}\0{match.group(4)}"

    text = SECTION.sub(keep, text)
    # One pass, longest first: a new name that contains the old one is not renamed again.
    label = new.replace("_", "-") if dns else new
    names = {NAME: label, PACKAGE: label, PACKAGE.upper(): new.upper()}
    olds = re.compile("|".join(re.escape(old) for old in sorted(names, key=len, reverse=True)))
    text = olds.sub(lambda match: names[match.group(0)], text)
    for number, body in enumerate(measured):
        text = text.replace(f"\0{number}\0", not_yet_measured(body, new))
    return text


def paths_to_move() -> list[str]:
    """The package folder (whole, caches and all), then any other file named after the project."""
    files = project_files()
    folders = sorted({str(Path(f).parent) for f in files if Path(f).parent.name in (NAME, PACKAGE)})
    inside = tuple(f"{folder}/" for folder in folders)
    named = [f for f in files if not f.startswith(inside) and PACKAGE in Path(f).name]
    return folders + named


def rename(new: str) -> list[str]:
    """Rename the project to ``new``; return one line per change made."""
    check(new)
    found = texts()
    rewritten = {
        path: replace(
            text,
            new,
            measured_file=bool(MEASURED_FILES.match(path)),
            dns=path.startswith(KUBERNETES),
        )
        for path, text in found.items()
    }
    originals = {path: text for path, text in found.items() if rewritten[path] != text}
    moves = [(ROOT / path, ROOT / replace(path, new)) for path in paths_to_move()]
    done: list[str] = []
    try:
        for path in originals:
            (ROOT / path).write_text(rewritten[path])
        for old, renamed in moves:
            old.rename(renamed)
        locked = subprocess.run(["uv", "lock", "--quiet"], cwd=ROOT, capture_output=True, text=True)
        if locked.returncode:
            raise RenameError(f"uv lock failed, nothing changed: {locked.stderr.strip()[-500:]}")
    except BaseException:
        for old, renamed in reversed(moves):
            if renamed.exists():
                renamed.rename(old)
        for path, text in originals.items():
            (ROOT / path).write_text(text)
        raise
    done += [f"rewrote {path}" for path in originals]
    done += [f"moved {o.relative_to(ROOT)} -> {r.relative_to(ROOT)}" for o, r in moves]
    done.append("uv.lock updated by `uv lock`")
    return done + formatted()


def formatted() -> list[str]:
    """The project's Python, its imports sorted and formatted by ruff as `nox -s lint` wants:
    another name's length joins or splits lines, its place in the alphabet moves imports.
    RenameError, after the rename, when ruff is missing or fails."""
    for command in (["check", "--fix", "--select", "I"], ["format"]):
        try:
            done = subprocess.run(["ruff", *command, "--quiet", "."], cwd=ROOT, capture_output=True)
        except FileNotFoundError:
            raise RenameError(
                "renamed, but ruff is not installed to format it: "
                "`ruff check --fix --select I . && ruff format .` (nox -s rename installs it)"
            ) from None
        if done.returncode:
            said = done.stderr.decode(errors="replace").strip()[-300:]
            raise RenameError(f"renamed, but `ruff {' '.join(command)}` failed: {said}")
    return ["Python imports sorted and formatted by ruff (lint's rules)"]


def main() -> int:
    new = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        changes = rename(new.strip())
    except RenameError as error:
        print(f"rename: {error}", file=sys.stderr)
        return 1
    print("\n".join(changes))
    print(
        f"{NAME} is now {new}: images "
        f"{', '.join(f'{new}:{image.name}' for image in images.shipped())}, settings "
        f"{new.upper()}_*. Next: nox -s build test"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
