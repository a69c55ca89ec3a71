"""Sessions. The kernel a cloner keeps: lint, unit, build, test, multiarch, up, compose, rename,
reproducible, adoption, publish, verify, supply_chain. The lab adds its own (bench, startup,
cold_builds, and the journey's steps and journey) when lab/ is present: `rm -r lab` removes them
(README, "Layout")."""

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
    """ruff; hadolint on the Dockerfiles (the baseline must have its findings); the CI files."""
    sessions.sync(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # dev.Dockerfile: compose.yaml's dev loop.
    session.run(
        "hadolint", images.OPTIMIZED.dockerfile, images.MINIMAL.dockerfile, "dev.Dockerfile"
    )
    sessions.expect_hadolint_findings(session, images.BASELINE.dockerfile)
    sessions.validate_github_files(session)
    sessions.lint_ci_files(session)


@nox.session(python="3.13")
def unit(session: nox.Session) -> None:
    """The service's own tests; no Docker needed."""
    sessions.sync(session, "test")
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session(venv_backend="none")
def build(session: nox.Session) -> None:
    """Build the images (optimized, minimal, baseline); print each one's size and build time.
    `-- --platform linux/amd64,linux/arm64`: the optimized image for those platforms."""
    sessions.build_images(session)


@nox.session(python="3.13")
def test(session: nox.Session) -> None:
    """Unit tests, then the image tests against the images `nox -s build` made."""
    sessions.require_images(session)
    sessions.sync(session, "test", "images")
    session.run("pytest", "tests/unit", "tests/image", *session.posargs)


@nox.session(python="3.13")
def multiarch(session: nox.Session) -> None:
    """The optimized image for linux/amd64 and linux/arm64; the arm64 one proven under qemu."""
    sessions.multiarch(session)


@nox.session(venv_backend="none")
def up(session: nox.Session) -> None:
    """Build the optimized image and run it on http://127.0.0.1:8000 (`-- PORT` for another)."""
    sessions.serve(session)


@nox.session(python="3.13")
def compose(session: nox.Session) -> None:
    """compose.yaml: locked-down `up --wait`, the watch dev loop, unit tests in the dev image."""
    sessions.compose(session)


@nox.session(venv_backend="none")
def rename(session: nox.Session) -> None:
    """Adopt the project under your own name: `nox -s rename -- NEWNAME`."""
    sessions.rename(session)


@nox.session(python="3.13")
def reproducible(session: nox.Session) -> None:
    """Two builds of each image without cache: the optimized one gives the same filesystem."""
    sessions.require_images(session)
    sessions.sync(session, "test", "images")
    session.run("pytest", "tests/reproducible", *session.posargs)


@nox.session(python="3.13")
def adoption(session: nox.Session) -> None:
    """In a copy without the lab: rename, lint, unit, build, and the renamed image serves."""
    sessions.sync(session, "test", "images")
    session.run("pytest", "tests/adoption", *session.posargs)


@nox.session(python="3.13")
def publish(session: nox.Session) -> None:
    """Reproducible build, push, SBOM, provenance, cosign signature; `-- --keep-registry`."""
    sessions.sync(session, "images")
    session.run("python", "-m", "tools.publish", *session.posargs)


@nox.session(python="3.13")
def verify(session: nox.Session) -> None:
    """cosign's checks of a published image: `nox -s verify -- REGISTRY/NAME@sha256:...`."""
    if len(session.posargs) != 1:
        session.error("give one image: nox -s verify -- REGISTRY/NAME@sha256:...")
    sessions.sync(session, "images")
    session.run("python", "-m", "tools.publish", "verify", *session.posargs)


@nox.session(python="3.13")
def supply_chain(session: nox.Session) -> None:
    """Publish twice from scratch into a temporary registry: same digest, signed, SBOM exact."""
    sessions.supply_chain(session)


# The lab, optional: delete lab/ and its sessions go with it (README, "Layout"). Only its own
# absence is quiet: a module missing inside it still fails.
try:
    import lab.sessions  # noqa: F401  (bench, startup, cold_builds, steps, journey)
except ModuleNotFoundError as missing:
    if missing.name != "lab":
        raise
