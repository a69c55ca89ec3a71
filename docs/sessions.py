"""The site's nox session, registered when the noxfile imports this module; deleting docs/
removes it (README, "Layout")."""

import nox

from tools.sessions import sync


@nox.session(python="3.13")
def docs(session: nox.Session) -> None:
    """The documentation site, strict (a broken link, a missing include or a Dockerfile note
    without its instruction fails it), into build/site; then headless Chromium opens it."""
    sync(session, "docs", "test")
    session.run("python", "-m", "docs.generate")
    # Material prints a notice of MkDocs 2 on every build; the build's own output is enough.
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("pytest", "docs/tests", *session.posargs)
