"""The one helper the noxfile and the lab's sessions share."""

import nox


def sync(session: nox.Session, *groups: str) -> None:
    """Install the project and only the named dependency groups of pyproject.toml (test,
    images, lint, lab) into the session's venv, from uv.lock."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        "--no-default-groups",
        *(f"--group={group}" for group in groups),
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )
