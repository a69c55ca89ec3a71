"""The journey's nox sessions, registered when the noxfile imports this module."""

import nox

from tools import images, sessions


@nox.session(python="3.13")
def steps(session: nox.Session) -> None:
    """Every journey step builds and serves (CI runs this; `journey` measures them)."""
    sessions.sync(session)
    session.run("pytest", "journey", *session.posargs)


@nox.session(python="3.13")
def journey(session: nox.Session) -> None:
    """Build and measure every step from the baseline to the Dockerfile and beyond; write
    journey/."""
    sessions.sync(session)
    with sessions.clear_errors(session):
        images.require_engine()
    session.run("python", "-m", "journey.measure", *session.posargs)
