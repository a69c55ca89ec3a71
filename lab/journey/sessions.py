"""The journey's nox sessions, registered when lab/sessions.py imports this module."""

import nox

from tools import sessions


@nox.session(python="3.13")
def steps(session: nox.Session) -> None:
    """Every journey step builds and serves (CI runs this; `journey` measures them)."""
    sessions.sync(session, "test", "images")
    session.run("pytest", "lab/journey", *session.posargs)


@nox.session(python="3.13")
def journey(session: nox.Session) -> None:
    """Build and measure every step, baseline to Dockerfile and beyond, into lab/journey/.

    `-- RUNS`: builds of each step, 3 unless told."""
    sessions.sync(session, "test", "images", "lab")
    session.run("python", "-m", "lab.journey.measure", *session.posargs)
