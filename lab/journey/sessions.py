"""The journey's nox sessions, registered when lab/sessions.py imports this module."""

import nox

from tools import sessions


@nox.session(python="3.13")
def steps(session: nox.Session) -> None:
    """Every journey step builds and serves, and the result renders (CI runs this; `journey`
    measures them)."""
    sessions.sync(session, "test", "images", "lab")
    session.run("pytest", "lab/journey", *session.posargs)


@nox.session(python="3.13")
def journey(session: nox.Session) -> None:
    """Build and measure every step, baseline to Dockerfile and beyond, into lab/results/.

    `-- RUNS`: builds of each step, 3 unless told."""
    # lint: hadolint, whose verdict on each step is measured.
    sessions.sync(session, "test", "images", "lab", "lint")
    session.run("python", "-m", "lab.journey.measure", *session.posargs)
