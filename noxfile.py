"""Sessions. The kernel a cloner keeps: lint, unit, build, test, up, compose, rename,
reproducible, adoption. The lab adds its own (multiarch, publish, verify, supply_chain, bench,
startup, cold_builds, and the journey's steps and journey) when lab/ is present: `rm -r lab`
removes them (README, "Layout"); docs/ adds `docs`, the documentation site.

Each session is its own recipe: it syncs the dependency groups it needs (pyproject.toml), then
runs pytest or a tool of tools/ as ``python -m tools.NAME`` (each with its own --help). A tool
that cannot go on says why in one line and exits 1.
"""

import sys
from pathlib import Path

import nox

# tools/ and lab/, beside this file, are packages of the project root.
sys.path.insert(0, str(Path(__file__).parent))
from tools.sessions import sync

nox.options.sessions = ["lint", "unit"]
nox.options.default_venv_backend = "uv"
nox.options.error_on_external_run = True


def tool(session: nox.Session, name: str, *args: str) -> None:
    """``python -m tools.NAME ARGS``: in the session's venv, or nox's own Python without one."""
    python = "python" if session.venv_backend != "none" else sys.executable
    session.run(python, "-m", f"tools.{name}", *args, external=session.venv_backend == "none")


@nox.session(python="3.13")
def lint(session: nox.Session) -> None:
    """ruff; hadolint on the Dockerfiles (the baseline must have its findings); the CI files."""
    sync(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run(
        "hadolint", "Dockerfile", "Dockerfile.minimal", "dev.Dockerfile",
        "tests/image/toolbox.Dockerfile",
    )  # fmt: skip
    tool(session, "lint")


@nox.session(python="3.13")
def unit(session: nox.Session) -> None:
    """The service's own tests, its seam to the image checks, the tools' tests; no Docker."""
    sync(session, "test")
    session.run("pytest", "tests/unit", "tests/seam", "tests/tools", *session.posargs)


@nox.session(venv_backend="none")
def build(session: nox.Session) -> None:
    """Build the images (optimized, minimal, baseline); print each one's size and build time."""
    tool(session, "build", *session.posargs)


@nox.session(python="3.13")
def test(session: nox.Session) -> None:
    """Unit tests, then the image tests against the images `nox -s build` made."""
    tool(session, "build", "--check")  # before installing anything: no engine, no images
    sync(session, "test", "images")
    session.run(
        "pytest", "tests/unit", "tests/seam", "tests/tools", "tests/image", *session.posargs
    )


@nox.session(venv_backend="none")
def up(session: nox.Session) -> None:
    """Build the optimized image and run it on http://127.0.0.1:8000 (`-- PORT` for another)."""
    tool(session, "build", "--serve", *(session.posargs or ["8000"]))


@nox.session(python="3.13")
def compose(session: nox.Session) -> None:
    """compose.yaml: locked-down `up --wait`, the watch dev loop, unit tests in the dev image."""
    sync(session, "test", "images")
    # The stand-ins and CA bundle of this machine, in an override file the tests add.
    tool(session, "compose")
    session.run("pytest", "tests/compose", *session.posargs)


@nox.session(venv_backend="none")
def rename(session: nox.Session) -> None:
    """Adopt the project under your own name: `nox -s rename -- NEWNAME`."""
    tool(session, "rename", *session.posargs)


@nox.session(python="3.13")
def reproducible(session: nox.Session) -> None:
    """Two builds of each image without cache: each gives the same filesystem twice."""
    tool(session, "build", "--check")
    sync(session, "test", "images")
    session.run("pytest", "tests/reproducible", *session.posargs)


@nox.session(python="3.13")
def adoption(session: nox.Session) -> None:
    """In copies without the lab: rename, lint, unit, build, serve; then another service
    (tests/adoption/hello) in place of this one: lint, unit, build, test and compose."""
    sync(session, "test", "images")
    session.run("pytest", "tests/adoption", *session.posargs)


# The lab, optional: delete lab/ and its sessions go with it (README, "Layout"). Only its own
# absence is quiet: a module missing inside it still fails.
try:
    import lab.sessions  # noqa: F401  (multiarch, publish, verify, supply_chain, bench, ...)
except ModuleNotFoundError as missing:
    if missing.name != "lab":
        raise

# The documentation site, optional too: `rm -r docs mkdocs.yml` removes it and `nox -s docs`.
try:
    import docs.sessions  # noqa: F401  (docs)
except ModuleNotFoundError as missing:
    if missing.name != "docs":
        raise
