"""Sessions: lint, unit, build, test, journey, bench. CI: `nox -s build test`; see the README."""

import sys
from pathlib import Path

import nox

# The build and measurement tooling lives in tools/, beside this file.
sys.path.insert(0, str(Path(__file__).parent))
from tools import images, sessions

nox.options.sessions = ["lint", "unit"]
nox.options.default_venv_backend = "uv"
nox.options.error_on_external_run = True


@nox.session(python="3.13")
def lint(session: nox.Session) -> None:
    """ruff; hadolint on both Dockerfiles (the baseline must have findings); the CI files."""
    sessions.sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("hadolint", images.OPTIMIZED.dockerfile)
    sessions.expect_hadolint_findings(session, images.BASELINE.dockerfile)
    sessions.validate_github_files(session)


@nox.session(python="3.13")
def unit(session: nox.Session) -> None:
    """The service's own tests; no Docker needed."""
    sessions.sync(session)
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session(venv_backend="none")
def build(session: nox.Session) -> None:
    """Build both images; print each one's size and build time."""
    sessions.build_images(session)


@nox.session(python="3.13")
def test(session: nox.Session) -> None:
    """Unit tests, then the image tests against the images `nox -s build` made."""
    sessions.require_images(session)
    sessions.sync(session)
    session.run("pytest", "tests/unit", "tests/image", *session.posargs)


@nox.session(python="3.13")
def journey(session: nox.Session) -> None:
    """Build and measure every step from the baseline to the Dockerfile; write docs/ and README."""
    sessions.sync(session)
    sessions.measure_journey(session)


@nox.session(python="3.13")
def bench(session: nox.Session) -> None:
    """Load the service before (a fixed commit) and after, in one run; `-- --write`: README."""
    sessions.sync(session)
    session.run("python", "-m", "tools.bench", *session.posargs)
