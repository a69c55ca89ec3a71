"""The measured journey: each step from the baseline to the optimized Dockerfile, and the step
beyond it (the distroless Dockerfile.minimal), built and measured under the same conditions,
written into lab/results/journey.md, its chart into lab/results/journey.png.

Run by `nox -s journey` in its venv (matplotlib, hadolint):
``python -m lab.journey.measure [RUNS]``.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import platforms, report, startup
from tools import base_images, canaries, engine, images, layer_sizes
from tools.project import HEALTH_PATH, PACKAGE, ROOT

HERE = Path(__file__).parent
# The seed's commonly quoted figures for the same journey, compared with ours in the result.
QUOTED = {"baseline_mb": 937, "final_mb": 219, "baseline_s": 36, "final_s": 8}
# The RUN that installs the dependencies from step 4 on; a source edit must not rerun it.
DEPENDENCY_STEP = "uv sync --locked --no-install-project"
FIRST_STEP_WITH_CACHED_DEPENDENCIES = 4
EDITED_SOURCE = Path("src") / PACKAGE / "app.py"


@dataclass(frozen=True)
class Step:
    number: str
    change: str
    dockerfile: str

    @property
    def image(self) -> images.Image:
        return images.Image(
            f"step-{self.number}",
            f"{images.OPTIMIZED.tag.split(':')[0]}-journey:{self.number}",
            self.dockerfile,
        )


STEPS = (
    Step("0", "baseline: generic OS, poetry, root", images.BASELINE.dockerfile),
    Step("1", "language image (`python`)", "lab/journey/steps/1-language-image.Dockerfile"),
    Step("1b", "its slim variant (`python:slim`)", "lab/journey/steps/1b-slim-variant.Dockerfile"),
    Step(
        "2", "pinned tag (`python:3.14-slim-trixie`)", "lab/journey/steps/2-pinned-tag.Dockerfile"
    ),
    Step("3", "lean apt", "lab/journey/steps/3-lean-apt.Dockerfile"),
    Step("4", "uv instead of poetry and pip", "lab/journey/steps/4-uv.Dockerfile"),
    Step("5", "multi-stage", "lab/journey/steps/5-multi-stage.Dockerfile"),
    Step("6", "security: only the venv, secret mounts, non-root (`Dockerfile`)", "Dockerfile"),
    Step("7", "distroless runtime: no shell (`Dockerfile.minimal`)", images.MINIMAL.dockerfile),
)
# The image the journey recommends starting from; step 7 is the step beyond it.
FINAL_STEP = next(step for step in STEPS if step.dockerfile == images.OPTIMIZED.dockerfile)


@dataclass
class Result:
    step: Step
    size: int
    layers: int
    cold_seconds: list[float]
    warm_seconds: float
    dependencies_cached: bool
    root: bool
    leaks: list[str]
    hadolint_clean: bool
    # Measured once every step is built, in rounds across the steps (lab/startup.py).
    ready_seconds: list[float] = field(default_factory=list)
    stop_seconds: list[float] = field(default_factory=list)


def measure(
    runs: int, log: Callable[[str], None] = print
) -> tuple[str, dict[str, str], list[Result]]:
    """Build and measure every step ``runs`` times; return the base images used and results."""
    mode, bases = base_images.resolve(tuple(step.image for step in STEPS))
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        context = workdir / "context"
        netrc = canaries.plant(context)
        try:
            results = [
                measure_step(step, bases, context, netrc, workdir, runs, log) for step in STEPS
            ]
            timings = startup.interleaved([step.image.tag for step in STEPS], runs, log)
            for result in results:
                result.ready_seconds = timings[result.step.image.tag].ready
                result.stop_seconds = timings[result.step.image.tag].stop
        finally:
            remove_step_images()
    return mode, bases, results


def remove_step_images() -> None:
    """The step images are measured, not kept: leave the machine as it was found."""
    for step in STEPS:
        engine.docker("rmi", "--force", step.image.tag, check=False)


def measure_step(
    step: Step,
    bases: dict[str, str],
    context: Path,
    netrc: Path,
    workdir: Path,
    runs: int,
    log: Callable[[str], None],
) -> Result:
    image = step.image
    build = {"tag": image.tag, "context": context, "quiet": True, **canaries.build_inputs(netrc)}
    cold = []
    for run in range(runs):
        log(f"step {step.number}: cold build {run + 1}/{runs}")
        cold.append(images.build(image, bases, no_cache=True, **build).seconds)
    log(f"step {step.number}: warm rebuild after a one-line source edit")
    images.build(image, bases, **build)
    source = context / EDITED_SOURCE
    original = source.read_text()
    source.write_text(original + "# journey: a one-line edit\n")
    try:
        warm = images.build(image, bases, **build)
    finally:
        source.write_text(original)
    if int(step.number[0]) >= FIRST_STEP_WITH_CACHED_DEPENDENCIES and not warm.cached(
        DEPENDENCY_STEP
    ):
        raise engine.ImageToolError(f"step {step.number}: a source edit reinstalled dependencies")
    config = engine.inspect(image.tag)
    found = canaries.find(image.tag, workdir)
    return Result(
        step=step,
        # Counted from the layers, as `nox -s build` counts: the engine's own Size field means
        # unpacked on the classic store and compressed on the containerd one.
        size=layer_sizes.image_size(image.tag).unpacked,
        layers=len(config["RootFS"]["Layers"]),
        cold_seconds=cold,
        warm_seconds=warm.seconds,
        dependencies_cached=warm.cached(DEPENDENCY_STEP),
        root=config["Config"].get("User", "") in ("", "0", "root", "0:0"),
        leaks=sorted(kind for kind, where in found.items() if where),
        hadolint_clean=hadolint_clean(step.dockerfile),
    )


def hadolint_clean(dockerfile: str) -> bool:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        raise engine.ImageToolError("hadolint is missing: it comes with the dev dependencies")
    return subprocess.run([hadolint, dockerfile], cwd=ROOT, capture_output=True).returncode == 0


def table(results: list[Result]) -> str:
    runs = len(results[0].cold_seconds)
    lines = [
        f"| step | change | size, unpacked | layers | cold build (median of {runs}) "
        "| rebuild after a source edit | deps from cache | root | secrets leaked | hadolint "
        f"| run to {HEALTH_PATH} (median) | docker stop (median) |",
        "|---|---|---:|---:|---:|---:|:-:|:-:|---|:-:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.step.number} | {r.step.change} | {layer_sizes.megabytes(r.size)} | {r.layers} "
            f"| {statistics.median(r.cold_seconds):.1f} s | {r.warm_seconds:.1f} s "
            f"| {yes(r.dependencies_cached)} | {yes(r.root)} | {', '.join(r.leaks) or 'none'} "
            f"| {'clean' if r.hadolint_clean else 'findings'} "
            f"| {statistics.median(r.ready_seconds):.1f} s "
            f"| {statistics.median(r.stop_seconds):.1f} s |"
        )
    return "\n".join(lines)


def yes(value: bool) -> str:
    return "yes" if value else "no"


def comparison(results: list[Result]) -> str:
    """Our first step and the `Dockerfile` against the commonly quoted 937 MB -> 219 MB,
    36 s -> 8 s."""
    first = results[0]
    last = next(r for r in results if r.step == FINAL_STEP)
    first_s, last_s = statistics.median(first.cold_seconds), statistics.median(last.cold_seconds)
    return (
        f"The commonly quoted figures for this journey are {QUOTED['baseline_mb']} MB → "
        f"{QUOTED['final_mb']} MB and {QUOTED['baseline_s']} s → {QUOTED['final_s']} s. Here: "
        f"{first.size / 1e6:.0f} MB → {last.size / 1e6:.0f} MB "
        f"(our final image {QUOTED['final_mb'] / (last.size / 1e6):.1f}x smaller than the "
        f"quoted one) and "
        f"{first_s:.0f} s → {last_s:.0f} s cold builds. The size ratio is "
        f"{first.size / last.size:.1f}x here against "
        f"{QUOTED['baseline_mb'] / QUOTED['final_mb']:.1f}x quoted, the build-time ratio "
        f"{first_s / last_s:.1f}x against {QUOTED['baseline_s'] / QUOTED['final_s']:.1f}x."
    )


def chart(results: list[Result], path: Path) -> None:
    """Size and median cold build time per step, as a PNG bar chart."""
    # Imported here: the noxfile imports lab/ outside any venv, where matplotlib is not.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [f"{r.step.number}" for r in results]
    figure, (sizes, times) = pyplot.subplots(1, 2, figsize=(10, 4))
    sizes.bar(labels, [r.size / 1e6 for r in results], color="#4c72b0")
    sizes.set(title="Image size (MB)", xlabel="step")
    times.bar(labels, [statistics.median(r.cold_seconds) for r in results], color="#dd8452")
    times.set(title="Cold build time (s, median)", xlabel="step")
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    pyplot.close(figure)


def write(mode: str, bases: dict[str, str], results: list[Result], engine: str) -> str:
    """The measured result and its chart; return the text."""
    chart(results, report.RESULTS / "journey.png")
    runs = len(results[0].cold_seconds)
    used = ", ".join(f"`{official}` → `{image}`" for official, image in bases.items())
    setup = (
        f"Measured by `nox -s journey` on {report.today()}: Docker engine {engine} "
        f"({platforms.store_name()} image store), "
        f"{mode} base images ({used}), {report.machine()}. "
        f"Cold builds use --no-cache (every layer rebuilt; uv's download cache mount stays "
        f"warm, and no one's builder cache is pruned); "
        f"each step is built from the same context with the canary secrets planted; "
        f"medians of {runs} runs; start and stop once every step is built, in {runs} rounds, "
        f"each step once per round, the order shifted and reversed from round to round."
    )
    text = f"{setup}\n\n{table(results)}\n\n{comparison(results)}"
    report.record("journey", text)
    return text


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nox -s journey --", description=__doc__)
    parser.add_argument("runs", type=int, nargs="?", default=3, help="builds of each step")
    runs = parser.parse_args(argv).runs
    try:
        engine_version = engine.require_engine()
        mode, bases, results = measure(runs)
        print(write(mode, bases, results, engine_version))
    except engine.ImageToolError as error:
        print(f"journey: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
