"""The project's name, said once in pyproject.toml: every tool and test reads it from here (the
service's profile, also in pyproject.toml: tools/profile.py)."""

import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

NAME: str = _PROJECT["name"]
VERSION: str = _PROJECT["version"]
# What the service is, in one sentence: the images' description label says it too.
DESCRIPTION: str = _PROJECT["description"]
# The import package, and the prefix of every setting the service reads (see its settings.py).
PACKAGE = NAME.replace("-", "_")
ENV_PREFIX = f"{PACKAGE.upper()}_"


class NotACheckout(RuntimeError):
    """The project is not in a git checkout, so its files cannot be listed."""


def files() -> list[str]:
    """The project's files: tracked, and new ones git does not ignore (an uncommitted tree
    counts), as paths relative to ROOT; NotACheckout outside a git checkout."""
    return _listed("--cached", "--others", "--exclude-standard")


def copy_files(destination: Path) -> None:
    """Copy the project's files (files()) to ``destination``, keeping their paths and times:
    the checkout a cloner has, without its local tool folders (.venv, .nox, caches, build/)."""
    for name in files():
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)


def new_files() -> list[str]:
    """The project's files git does not track yet and does not ignore: those `pre-commit run
    --all-files` (git's index) leaves out; NotACheckout outside a git checkout."""
    return _listed("--others", "--exclude-standard")


def _listed(*options: str) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", *options],
        capture_output=True,
        text=True,
    )
    if listed.returncode:
        raise NotACheckout(f"{ROOT} is not a git checkout: `git ls-files` cannot list it")
    return sorted({f for f in listed.stdout.split("\0") if f and (ROOT / f).is_file()})
