"""The measured journey: each step from the baseline to the optimized Dockerfile, and the step
beyond it (the distroless Dockerfile.minimal), built and measured under the same conditions,
written into lab/results/journey.md, its chart into lab/results/journey.png.

Run by `nox -s journey` in its venv (matplotlib, hadolint):
``python -m lab.journey.measure [RUNS]``.
"""

import argparse
import difflib
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import platforms, report, startup
from lab.journey.plan import STEPS, Step
from tools import base_images, canaries, engine, images, layer_sizes
from tools.profile import profile
from tools.project import PACKAGE, ROOT

# The seed's commonly quoted figures for the same journey, compared with ours in the result.
QUOTED = {"baseline_mb": 937, "final_mb": 219, "baseline_s": 36, "final_s": 8}
# The RUN that installs the dependencies alone; a step that has it must not rerun it after a
# source edit.
DEPENDENCY_STEP = "uv sync --locked --no-install-project"
EDITED_SOURCE = Path("src") / PACKAGE / "app.py"
# The chart's colours: our measured bars, the seed's quoted ones.
OURS, SEED = "#4c72b0", "#bbbbbb"
# The image the journey recommends starting from; the step after it is the step beyond it.
FINAL_STEP = next(step for step in STEPS if step.dockerfile == images.OPTIMIZED.dockerfile)


def image(step: Step) -> images.Image:
    """The image a step builds, tagged by its name."""
    return images.Image(
        f"step-{step.name}",
        f"{images.OPTIMIZED.tag.split(':')[0]}-journey:{step.name}",
        step.dockerfile,
    )


def ignore_file(dockerfile: str) -> str:
    """The ignore file BuildKit applies to ``dockerfile``: ``<dockerfile>.dockerignore`` beside
    it, else the context's ``.dockerignore``; both relative to the repository's root."""
    own = f"{dockerfile}.dockerignore"
    return own if (ROOT / own).is_file() else ".dockerignore"


@dataclass
class Result:
    step: Step
    # Bytes, unpacked.
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

    @property
    def cold(self) -> float:
        """The median cold build, in seconds."""
        return statistics.median(self.cold_seconds)

    @property
    def ready(self) -> float:
        return statistics.median(self.ready_seconds)

    @property
    def stop(self) -> float:
        return statistics.median(self.stop_seconds)


def measure(
    runs: int, log: Callable[[str], None] = print
) -> tuple[str, dict[str, str], list[Result]]:
    """Build and measure every step ``runs`` times; return the base images used and results."""
    mode, bases = base_images.resolve(tuple(image(step) for step in STEPS))
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        context = workdir / "context"
        netrc = canaries.plant(context)
        try:
            results = [
                measure_step(step, bases, context, netrc, workdir, runs, log) for step in STEPS
            ]
            timings = startup.interleaved([image(step).tag for step in STEPS], runs, log)
            for result in results:
                result.ready_seconds = timings[image(result.step).tag].ready
                result.stop_seconds = timings[image(result.step).tag].stop
        finally:
            remove_step_images()
    return mode, bases, results


def remove_step_images() -> None:
    """The step images are measured, not kept: leave the machine as it was found."""
    for step in STEPS:
        engine.docker("rmi", "--force", image(step).tag, check=False)


def measure_step(
    step: Step,
    bases: dict[str, str],
    context: Path,
    netrc: Path,
    workdir: Path,
    runs: int,
    log: Callable[[str], None],
) -> Result:
    built = image(step)
    build = {"tag": built.tag, "context": context, "quiet": True, **canaries.build_inputs(netrc)}
    cold = []
    for run in range(runs):
        log(f"{step.name}: cold build {run + 1}/{runs}")
        cold.append(images.build(built, bases, no_cache=True, **build).seconds)
    log(f"{step.name}: warm rebuild after a one-line source edit")
    images.build(built, bases, **build)
    source = context / EDITED_SOURCE
    original = source.read_text()
    # Unique, so that no earlier run's build of the same edit is in the builder cache.
    source.write_text(original + f"# journey: a one-line edit {uuid.uuid4().hex}\n")
    try:
        warm = images.build(built, bases, **build)
    finally:
        source.write_text(original)
    installs_dependencies_alone = DEPENDENCY_STEP in (ROOT / step.dockerfile).read_text()
    if installs_dependencies_alone and not warm.cached(DEPENDENCY_STEP):
        raise engine.ImageToolError(f"{step.name}: a source edit reinstalled dependencies")
    config = engine.inspect(built.tag)
    found = canaries.find(built.tag, workdir)
    return Result(
        step=step,
        # Counted from the layers, as `nox -s build` counts: the engine's own Size field means
        # unpacked on the classic store and compressed on the containerd one.
        size=layer_sizes.image_size(built.tag).unpacked,
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


def cells(r: Result) -> list[str]:
    """A result's measured cells, in the order of ``header``."""
    return [
        layer_sizes.megabytes(r.size),
        str(r.layers),
        f"{r.cold:.1f} s",
        f"{r.warm_seconds:.1f} s",
        yes(r.dependencies_cached),
        yes(r.root),
        ", ".join(r.leaks) or "none",
        "clean" if r.hadolint_clean else "findings",
        f"{r.ready:.1f} s",
        f"{r.stop:.1f} s",
    ]


def header(runs: int, first: str) -> list[str]:
    """The table's first two lines: ``first`` names its first column."""
    return [
        f"| {first} | size, unpacked | layers | cold build (median of {runs}) "
        "| rebuild after a source edit | deps from cache | root | secrets leaked | hadolint "
        f"| run to {profile().health_path} (median) | docker stop (median) |",
        "|---|---:|---:|---:|---:|:-:|:-:|---|:-:|---:|---:|",
    ]


def changes(r: Result, before: Result) -> list[str]:
    """What changed from ``before``, cell by cell: signed differences, or what a cell was."""
    differences = [
        signed((r.size - before.size) / 1e6, " MB"),
        signed(r.layers - before.layers, "", 0),
        signed(r.cold - before.cold, " s"),
        signed(r.warm_seconds - before.warm_seconds, " s"),
    ]
    was = [
        f"was {then}" if now != then else ""
        for now, then in zip(cells(r), cells(before), strict=True)
    ]
    ready = signed(r.ready - before.ready, " s")
    stop = signed(r.stop - before.stop, " s")
    return differences + was[4:8] + [ready, stop]


def signed(value: float, unit: str, decimals: int = 1) -> str:
    """'+1.5 s', '\N{MINUS SIGN}0.3 MB' (a true minus sign), '±0' when it rounds to nothing."""
    text = f"{value:+.{decimals}f}"
    if float(text) == 0:
        return "±0"
    return text.replace("-", "\N{MINUS SIGN}") + unit


def yes(value: bool) -> str:
    return "yes" if value else "no"


def table(results: list[Result]) -> str:
    """Every step's row, named by its name."""
    lines = header(len(results[0].cold_seconds), "step")
    lines += [f"| {r.step.name} | {' | '.join(cells(r))} |" for r in results]
    return "\n".join(lines)


def comparison(results: list[Result]) -> str:
    """Our first step and the `Dockerfile` against the commonly quoted 937 MB -> 219 MB,
    36 s -> 8 s."""
    first = results[0]
    last = next(r for r in results if r.step == FINAL_STEP)
    return (
        f"The commonly quoted figures for this journey are {QUOTED['baseline_mb']} MB → "
        f"{QUOTED['final_mb']} MB and {QUOTED['baseline_s']} s → {QUOTED['final_s']} s. Here: "
        f"{first.size / 1e6:.0f} MB → {last.size / 1e6:.0f} MB "
        f"(our final image {QUOTED['final_mb'] / (last.size / 1e6):.1f}x smaller than the "
        f"quoted one) and "
        f"{first.cold:.0f} s → {last.cold:.0f} s cold builds. The size ratio is "
        f"{first.size / last.size:.1f}x here against "
        f"{QUOTED['baseline_mb'] / QUOTED['final_mb']:.1f}x quoted, the build-time ratio "
        f"{first.cold / last.cold:.1f}x against {QUOTED['baseline_s'] / QUOTED['final_s']:.1f}x. "
        "Our baseline is bigger because `poetry install` also installs the dev group, and this "
        "project's dev tools are large; our final image is smaller because the service has few "
        "dependencies; our builds are faster where PyPI is reached through a fast local proxy."
    )


def section(r: Result, before: Result | None) -> str:
    """One step: its change and why, its measured row and the change from ``before``, and the
    diff from ``before``'s Dockerfile (and ignore file, when that changed too)."""
    lines = [f"### {r.step.name}", "", f"The change: {r.step.change}. Why: {r.step.why}", ""]
    lines += header(len(r.cold_seconds), "")
    lines.append(f"| {r.step.name} | {' | '.join(cells(r))} |")
    if before is None:
        lines += ["", f"The start: `{r.step.dockerfile}`."]
        return "\n".join(lines)
    lines.append(f"| change from {before.step.name} | {' | '.join(changes(r, before))} |")
    pairs = [(before.step.dockerfile, r.step.dockerfile)]
    pairs.append((ignore_file(before.step.dockerfile), ignore_file(r.step.dockerfile)))
    lines += ["", "```diff", *(line for pair in pairs for line in diff(*pair)), "```"]
    return "\n".join(lines)


def diff(old: str, new: str) -> list[str]:
    """The unified diff from file ``old`` to file ``new`` (relative to the root), comments
    included; no lines when they are the same."""
    return list(
        difflib.unified_diff(
            (ROOT / old).read_text().splitlines(),
            (ROOT / new).read_text().splitlines(),
            fromfile=old,
            tofile=new,
            lineterm="",
        )
    )


def chart(results: list[Result], path: Path) -> None:
    """Size and median cold build time per step, named, the value on each bar, with the seed's
    quoted start and end beside ours: a PNG, 900 px wide."""
    # Imported here: the noxfile imports lab/ outside any venv, where matplotlib is not.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.patches import Patch

    def label(step: Step) -> str:
        """The step's name, and its file when it is not one of lab/journey/steps/."""
        named = step.dockerfile.startswith("lab/")
        return step.name if named else f"{step.name} ({step.dockerfile})"

    # (label, size in MB, cold build in s, colour): the seed's quoted start under our first
    # step, its quoted end under the Dockerfile.
    rows = []
    for r in results:
        rows.append((label(r.step), r.size / 1e6, r.cold, OURS))
        if r is results[0]:
            rows.append(("seed, quoted: start", QUOTED["baseline_mb"], QUOTED["baseline_s"], SEED))
        if r.step == FINAL_STEP:
            rows.append(("seed, quoted: end", QUOTED["final_mb"], QUOTED["final_s"], SEED))
    labels, sizes, seconds, colours = zip(*rows, strict=True)
    figure, panels = pyplot.subplots(
        1, 2, figsize=(9, 0.32 * len(rows) + 1.2), sharey=True, layout="constrained"
    )
    for panel, values, title, value in (
        (panels[0], sizes, "Image size, unpacked (MB)", "{:.0f}"),
        (panels[1], seconds, "Cold build time (s, median)", "{:.1f}"),
    ):
        bars = panel.barh(labels, values, color=colours)
        panel.bar_label(bars, [value.format(v) for v in values], padding=3, fontsize=8)
        panel.set_title(title, fontsize=10)
        panel.set_xlim(0, max(values) * 1.15)
        panel.tick_params(labelsize=8)
        panel.spines[["top", "right"]].set_visible(False)
    panels[0].invert_yaxis()
    for tick, colour in zip(panels[0].get_yticklabels(), colours, strict=True):
        tick.set_color("black" if colour == OURS else "dimgray")
        tick.set_fontweight("bold" if tick.get_text() == label(FINAL_STEP) else "normal")
    panels[1].legend(
        handles=[Patch(color=OURS, label="measured here"), Patch(color=SEED, label="seed, quoted")],
        loc="lower right",
        fontsize=8,
        frameon=False,
    )
    figure.savefig(path, format="png", dpi=100)
    pyplot.close(figure)


def markdown(mode: str, bases: dict[str, str], results: list[Result], engine_version: str) -> str:
    """The measured result: how it was measured, the table, the seed's figures beside ours,
    then each step with its why, its row and its diff."""
    runs = len(results[0].cold_seconds)
    used = ", ".join(f"`{official}` → `{image}`" for official, image in bases.items())
    setup = (
        f"Measured by `nox -s journey` on {report.today()}: Docker engine {engine_version} "
        f"({platforms.store_name()} image store), "
        f"{mode} base images ({used}), {report.machine()}. "
        f"Cold builds use --no-cache (every layer rebuilt; uv's download cache mount stays "
        f"warm, and no one's builder cache is pruned); "
        f"each step is built from the same context with the canary secrets planted; "
        f"medians of {runs} runs; start and stop once every step is built, in {runs} rounds, "
        f"each step once per round, the order shifted and reversed from round to round."
    )
    sections = [
        section(r, before) for r, before in zip(results, [None, *results[:-1]], strict=True)
    ]
    return "\n\n".join([setup, table(results), comparison(results), *sections])


def write(mode: str, bases: dict[str, str], results: list[Result], engine_version: str) -> str:
    """The measured result and its chart, into lab/results/; return the text."""
    chart(results, report.RESULTS / "journey.png")
    text = markdown(mode, bases, results, engine_version)
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
