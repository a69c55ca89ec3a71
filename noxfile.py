"""Sessions. The kernel a cloner keeps: lint, unit, build, test, multiarch, up, rename,
reproducible, adoption, bench, startup, publish, verify, supply_chain. The journey adds its own
(steps, journey) when journey/ is present."""

import contextlib
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
    sessions.sync(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("hadolint", images.OPTIMIZED.dockerfile, images.MINIMAL.dockerfile)
    sessions.expect_hadolint_findings(session, images.BASELINE.dockerfile)
    sessions.validate_github_files(session)
    sessions.lint_ci_files(session)


@nox.session(python="3.13")
def unit(session: nox.Session) -> None:
    """The service's own tests; no Docker needed."""
    sessions.sync(session)
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session(venv_backend="none")
def build(session: nox.Session) -> None:
    """Build the images (optimized, minimal, baseline); print each one's size and build time."""
    sessions.build_images(session)


@nox.session(python="3.13")
def test(session: nox.Session) -> None:
    """Unit tests, then the image tests against the images `nox -s build` made."""
    sessions.require_images(session)
    sessions.sync(session)
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
    sessions.sync(session)
    session.run("pytest", "tests/reproducible", *session.posargs)


@nox.session(python="3.13")
def adoption(session: nox.Session) -> None:
    """In a copy without the journey: rename, lint, unit, build, and the renamed image serves."""
    sessions.sync(session)
    session.run("pytest", "tests/adoption", *session.posargs)


@nox.session(python="3.13")
def bench(session: nox.Session) -> None:
    """Load the service before (a fixed commit) and after, in one run; `-- --write`: README."""
    sessions.sync(session)
    session.run("python", "-m", "tools.bench", *session.posargs)


@nox.session(python="3.13")
def startup(session: nox.Session) -> None:
    """The built images' start to /healthz and `docker stop`, interleaved; `-- --record`: README."""
    sessions.sync(session)
    session.run("python", "-m", "tools.startup", *session.posargs)


@nox.session(python="3.13")
def publish(session: nox.Session) -> None:
    """Reproducible build, push, SBOM, provenance, cosign signature; `-- --keep-registry`."""
    sessions.publish_image(session)


@nox.session(python="3.13")
def verify(session: nox.Session) -> None:
    """cosign's checks of a published image: `nox -s verify -- REGISTRY/NAME@sha256:...`."""
    sessions.verify(session)


@nox.session(python="3.13")
def supply_chain(session: nox.Session) -> None:
    """Publish twice from scratch into a temporary registry: same digest, signed, SBOM exact."""
    sessions.supply_chain(session)


# The optional parts: delete their folder and their sessions go with it (README, "Layout").
with contextlib.suppress(ModuleNotFoundError):
    import journey.sessions  # noqa: F401  (nox -s steps, nox -s journey)
