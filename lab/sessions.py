"""The lab's nox sessions, registered when the noxfile imports this module: each runs a lab
tool (``python -m lab.X``, its own argparse CLI); ``-- --record`` writes its README section."""

import nox

import lab.journey.sessions  # noqa: F401  (nox -s steps, nox -s journey)
from tools import sessions


@nox.session(python="3.13")
def bench(session: nox.Session) -> None:
    """Load the service and its stack's ceiling (lab/ceiling.py) in one run; `-- --record`."""
    sessions.sync(session)
    session.run("python", "-m", "lab.bench", *session.posargs)


@nox.session(python="3.13")
def startup(session: nox.Session) -> None:
    """The built images' start to /healthz and `docker stop`, interleaved; `-- --record`."""
    sessions.sync(session)
    session.run("python", "-m", "lab.startup", *session.posargs)


@nox.session(python="3.13")
def cold_builds(session: nox.Session) -> None:
    """Each image's size, layers and median cold build (`-- --platform P1,P2`); `-- --record`."""
    sessions.sync(session)
    session.run("python", "-m", "lab.builds", *session.posargs)
