"""What the noxfile's sessions do, kept here so the noxfile reads as a table of contents."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import nox

from tools import images


def sync(session: nox.Session) -> None:
    """Install the locked dependencies (dev group included) into the session's venv."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


def expect_hadolint_findings(session: nox.Session, dockerfile: str) -> None:
    """The baseline is bad on purpose: show its findings, and fail only if there are none."""
    found = subprocess.run(
        [f"{session.bin}/hadolint", "--no-fail", "--no-color", dockerfile], capture_output=True, text=True
    ).stdout.strip()
    if not found:
        session.error(f"{dockerfile} has no hadolint findings: the negative control is broken")
    session.log(f"{dockerfile} is bad on purpose; hadolint's expected findings:\n{found}")


@contextmanager
def clear_errors(session: nox.Session) -> Iterator[None]:
    """End the session with the tool's one-line message instead of a traceback."""
    try:
        yield
    except images.ImageToolError as error:
        session.error(str(error))


def require_images(session: nox.Session) -> None:
    with clear_errors(session):
        images.require_engine()
        images.require_built(*images.IMAGES)


def build_images(session: nox.Session) -> None:
    with clear_errors(session):
        engine = images.require_engine()
        mode, bases = images.resolve_base_images()
        table = ["| image | size | build time |", "|---|---:|---:|"]
        for image in images.IMAGES:
            seconds = images.build(image, bases)
            size = images.megabytes(images.image_size(image.tag))
            table.append(f"| {image.tag} | {size} | {seconds:.1f} s |")
    used = ", ".join(f"{official} -> {standin}" for official, standin in bases.items())
    session.log(f"Docker engine {engine}; base images ({mode}): {used}")
    print("\n".join(table))
