"""The lab's nox sessions, registered when the noxfile imports this module: each runs a lab
tool (``python -m lab.X``, its own argparse CLI) or the lab's checks; ``-- --record`` writes
its result into lab/results/ (lab/report.py)."""

import time

import nox

import lab.journey.sessions  # noqa: F401  (nox -s steps, nox -s journey)
from tools import sessions

# How long nox waits, after Ctrl-C, for the bench to remove its containers and volume.
BENCH_CLEANUP_SECONDS = 60


@nox.session(python="3.13")
def bench(session: nox.Session) -> None:
    """Load the optimized image, as it ships, beside its stack's ceiling (lab/ceiling.py, run
    in the same image); the load from the host, by Debian's wrk. `-- --seconds S` (whole
    seconds) per point; `-- --record`."""
    sessions.sync(session)
    session.run(
        "python", "-m", "lab.bench", *session.posargs, interrupt_timeout=BENCH_CLEANUP_SECONDS
    )


@nox.session(python="3.13")
def startup(session: nox.Session) -> None:
    """The built images' start to /healthz and `docker stop`, interleaved; `-- --record`."""
    sessions.sync(session, "images")  # dive, which measures the sizes
    session.run("python", "-m", "lab.startup", *session.posargs)


@nox.session(python="3.13")
def cold_builds(session: nox.Session) -> None:
    """Each image's size, layers and median cold build (`-- --platform P1,P2`); `-- --record`."""
    sessions.sync(session, "images")  # dive, which measures the sizes
    session.run("python", "-m", "lab.builds", *session.posargs)


# What `nox -s multiarch` builds: the platforms of the official base images this project uses.
MULTIARCH_PLATFORMS = "linux/amd64,linux/arm64"


@nox.session(python="3.13")
def multiarch(session: nox.Session) -> None:
    """The optimized image for linux/amd64 and linux/arm64; the arm64 one proven under qemu."""
    sessions.sync(session, "test", "images")
    started = time.perf_counter()
    session.run("python", "-m", "lab.platforms", MULTIARCH_PLATFORMS)
    built = time.perf_counter()
    session.run("pytest", "lab/multiarch", *session.posargs)
    session.log(
        f"multiarch: build of both platforms {built - started:.0f} s, arm64 checks "
        f"{time.perf_counter() - built:.0f} s (emulated where the machine is not arm64)"
    )


@nox.session(python="3.13")
def publish(session: nox.Session) -> None:
    """Reproducible build, push, SBOM, provenance, cosign signature; `-- --keep-registry`."""
    sessions.sync(session, "images")
    session.run("python", "-m", "lab.publish", *session.posargs)


@nox.session(python="3.13")
def verify(session: nox.Session) -> None:
    """cosign's checks of a published image: `nox -s verify -- REGISTRY/NAME@sha256:...`."""
    sessions.sync(session, "images")
    session.run("python", "-m", "lab.publish", "verify", *session.posargs)


@nox.session(python="3.13")
def supply_chain(session: nox.Session) -> None:
    """Publish twice from scratch into a temporary registry: same digest, signed, SBOM exact.
    Needs the containerd image store."""
    sessions.sync(session, "test", "images")
    session.run("pytest", "lab/supply_chain", "-s", *session.posargs)
