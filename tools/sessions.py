"""What the noxfile's sessions do, kept here so the noxfile reads as a table of contents."""

import statistics
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import nox

from tools import images, report

# Cold builds are noisy (network, disk): the README reports the median of this many.
COLD_RUNS = 3


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
        [f"{session.bin}/hadolint", "--no-fail", "--no-color", dockerfile],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not found:
        session.error(f"{dockerfile} has no hadolint findings: the negative control is broken")
    session.log(f"{dockerfile} is bad on purpose; hadolint's expected findings:\n{found}")


def validate_github_files(session: nox.Session) -> None:
    """Check the workflow and Dependabot files against their schemas (vendored, offline).

    actionlint would check more, but its PyPI package downloads its binary at install time,
    which fails where only PyPI is reachable.
    """
    session.run(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        ".github/workflows/ci.yml",
    )
    session.run(
        "check-jsonschema", "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"
    )


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
    """Build both images; with ``-- --record``, cold builds measured into the README."""
    record = "--record" in session.posargs
    with clear_errors(session):
        engine = images.require_engine()
        mode, bases = images.resolve_base_images()
        runs = COLD_RUNS if record else 1
        seconds = {image.tag: [] for image in images.IMAGES}
        for run in range(runs):
            for image in images.IMAGES:
                if record:
                    session.log(f"cold build {run + 1}/{runs} of {image.tag}")
                    images.docker("builder", "prune", "--all", "--force")
                built = images.build(image, bases, no_cache=record, quiet=record)
                seconds[image.tag].append(built.seconds)
        images.write_sbom(images.SBOM)
    used = ", ".join(f"{official} -> {standin}" for official, standin in bases.items())
    setup = f"Docker engine {engine}; base images ({mode}): {used}; {report.machine()}"
    table = results_table(seconds, cold=record)
    print(f"{setup}\n\n{table}")
    session.log(f"SBOM of {images.OPTIMIZED.tag}: {images.SBOM.relative_to(images.ROOT)}")
    if record:
        measured = f"Measured by `nox -s build -- --record` on {report.today()}. {setup}."
        report.replace_section("build-results", f"{measured}\n\n{table}")
        session.log("README.md updated with these results")


def results_table(seconds: dict[str, list[float]], cold: bool) -> str:
    """Size, layers and median build time per image, and the baseline/optimized ratios."""
    runs = len(next(iter(seconds.values())))
    kind = f"cold build, median of {runs}" if cold else "build time (layer cache as found)"
    lines = [f"| image | size | layers | {kind} |", "|---|---:|---:|---:|"]
    for tag, times in seconds.items():
        size = images.megabytes(images.image_size(tag))
        layers = len(images.inspect(tag)["RootFS"]["Layers"])
        lines.append(f"| `{tag}` | {size} | {layers} | {statistics.median(times):.1f} s |")
    baseline, optimized = images.BASELINE.tag, images.OPTIMIZED.tag
    size_ratio = images.image_size(baseline) / images.image_size(optimized)
    time_ratio = statistics.median(
        b / o for b, o in zip(seconds[baseline], seconds[optimized], strict=True)
    )
    lines.append(
        f"\nThe optimized image is {size_ratio:.1f}x smaller than the baseline and builds "
        f"{time_ratio:.1f}x faster (median of the per-run ratios)."
    )
    return "\n".join(lines)


def measure_journey(session: nox.Session) -> None:
    """``nox -s journey -- N``: each step's medians over N cold builds and starts (default 3)."""
    with clear_errors(session):
        images.require_engine()
    session.run("python", "-m", "tools.journey", *session.posargs)
