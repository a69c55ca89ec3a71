"""Start and stop, measured: seconds from `docker run` to the health endpoint answering, and
seconds `docker stop` takes, for images compared with each other, beside each one's unpacked
size (``nox -s startup``, the journey).

One figure per image is noise on a shared machine, so the images are measured in rounds: each
round runs every image once, the order shifted and reversed from round to round, so that no
image always comes first, last or after the same other one.
"""

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lab import IMAGES, platforms, report
from tools import base_images, containers, engine, images, layer_sizes
from tools.profile import profile

# Waiting longer than this, the container is checked: one that exited will never answer. Not
# sooner: asking the engine costs time the start is measured in.
CHECK_AFTER_SECONDS = 2
# `nox -s startup` without --rounds: enough for a median that survives a noisy round or two.
ROUNDS = 9
# Below this chance of arising by luck, a split of the rounds says which image is faster.
SIGNIFICANCE = 0.05


@dataclass
class Timings:
    ready: list[float]
    stop: list[float]


def start_and_stop(tag: str) -> tuple[float, float]:
    """Seconds from `docker run` to the health endpoint answering, and seconds `docker stop`
    takes. Raises engine.ImageToolError, one line, when the container exits or never answers."""
    try:
        container, ready = containers.serve(
            tag, check_after=CHECK_AFTER_SECONDS, interval=0.05, log_lines=1
        )
    except containers.NotServing as failure:
        raise engine.ImageToolError(f"{tag}: {failure.observed}: {failure.logs}") from None
    try:
        stopping = time.perf_counter()
        engine.docker("stop", container.id)
        return ready, time.perf_counter() - stopping
    finally:
        containers.remove_container(container.id)


def order(tags: Sequence[str], n: int, rounds: int) -> list[str]:
    """Round ``n``'s order: shifted by an even share of the list each round, reversed every
    other round, so each image's position and predecessor change."""
    shift = n * len(tags) // rounds
    shifted = [*tags[shift:], *tags[:shift]]
    return shifted[::-1] if n % 2 else shifted


def interleaved(
    tags: Sequence[str], rounds: int, log: Callable[[str], None] = print
) -> dict[str, Timings]:
    """Every image started and stopped once per round."""
    timings = {tag: Timings([], []) for tag in tags}
    for n in range(rounds):
        log(f"start and stop, round {n + 1}/{rounds}")
        for tag in order(tags, n, rounds):
            ready, stop = start_and_stop(tag)
            timings[tag].ready.append(ready)
            timings[tag].stop.append(stop)
    return timings


def ratio(these: list[float], reference: list[float]) -> float:
    """The median of the per-round ratios: each round's load falls on both figures alike."""
    return statistics.median(a / b for a, b in zip(these, reference, strict=True))


def table(timings: dict[str, Timings], reference: str) -> str:
    rounds = len(timings[reference].ready)
    lines = [
        f"| image | unpacked | run to `{profile().health_path}`, median of {rounds} | its range "
        f"| vs `{reference}` | `docker stop`, median | vs `{reference}` |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tag, t in timings.items():
        size = layer_sizes.megabytes(layer_sizes.image_size(tag).unpacked)
        lines.append(
            f"| `{tag}` | {size} | {statistics.median(t.ready):.2f} s "
            f"| {min(t.ready):.2f}-{max(t.ready):.2f} s "
            f"| {ratio(t.ready, timings[reference].ready):.2f}x "
            f"| {statistics.median(t.stop):.2f} s "
            f"| {ratio(t.stop, timings[reference].stop):.2f}x |"
        )
    return "\n".join(lines)


def sign_test(faster: int, rounds: int) -> float:
    """The chance of a split at least this uneven if neither image were faster (two-sided)."""
    fewer = min(faster, rounds - faster)
    tail = sum(math.comb(rounds, k) for k in range(fewer + 1)) / 2**rounds
    return min(1.0, 2 * tail)


def verdicts(timings: dict[str, Timings], reference: str) -> list[str]:
    """One sentence per image and figure: its median ratio to the reference, in how many rounds
    it was the faster of the two, and whether that split tells them apart (a sign test at 5%:
    with 9 rounds, one image faster in at least 8)."""
    sentences = []
    for tag, t in timings.items():
        if tag == reference:
            continue
        for what, these, theirs in (
            ("start", t.ready, timings[reference].ready),
            ("stop", t.stop, timings[reference].stop),
        ):
            faster = sum(a < b for a, b in zip(these, theirs, strict=True))
            if sign_test(faster, len(these)) >= SIGNIFICANCE:
                verdict = "no measurable difference"
            else:
                verdict = "faster" if faster > len(these) / 2 else "slower"
            sentences.append(
                f"`{tag}`, {what}: {ratio(these, theirs):.2f}x `{reference}`'s time, faster in "
                f"{faster} of {len(these)} rounds: {verdict} (sign test, 5%)."
            )
    return sentences


def positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of rounds, at least 1, not {value!r}")
    return int(value)


def built_variants(variants: list[str]) -> tuple[list[str], dict[str, str]]:
    """Build each ``TAG=DOCKERFILE`` (a path from the repository's root) as ``nox -s build``
    builds the images, on the same bases; their tags, and the bases (official -> used)."""
    wanted = []
    for variant in variants:
        tag, _, dockerfile = variant.partition("=")
        if not tag or not dockerfile:
            raise ValueError(f"--build {variant!r}: TAG=DOCKERFILE, e.g. x:y=lab/x.Dockerfile")
        wanted.append(images.Image(tag, tag, dockerfile))
    bases = base_images.resolve(tuple(wanted))[1] if wanted else {}
    for image in wanted:
        print(f"building {image.tag} from {image.dockerfile}")
        images.build(image, bases, quiet=True)
    return [image.tag for image in wanted], bases


def main(argv: list[str]) -> int:
    """``python -m lab.startup [--rounds N] [--build TAG=DOCKERFILE ...] [--also TAG ...]
    [--only] [--record [NAME]]``: the built images and any others named, interleaved."""
    parser = argparse.ArgumentParser(prog="nox -s startup --", description=__doc__)
    parser.add_argument("--rounds", type=positive, default=ROUNDS)
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="TAG",
        help="another image in the same rounds, e.g. a variant of the optimized one",
    )
    parser.add_argument(
        "--build",
        action="append",
        default=[],
        metavar="TAG=DOCKERFILE",
        help="build a Dockerfile (e.g. a variant of the optimized one), then measure it too",
    )
    parser.add_argument(
        "--only",
        action="store_true",
        help="only the images named by --build and --also, the first the reference",
    )
    parser.add_argument(
        "--record",
        nargs="?",
        const="startup",
        metavar="NAME",
        help="write lab/results/NAME.md (default: startup)",
    )
    options = parser.parse_args(argv)
    try:
        engine_version = engine.require_engine()
        if not options.only:
            images.require_built(*IMAGES)
        for tag in options.also:
            if not engine.image_exists(tag):
                raise engine.ImageToolError(f"--also {tag}: no such image in the engine")
        variants, variant_bases = built_variants(options.build)
        named = variants + options.also
        if options.only and not named:
            raise ValueError("--only needs at least one image named by --build or --also")
        tags = ([] if options.only else [image.tag for image in IMAGES]) + named
        reference = tags[0]
        bases = variant_bases if options.only and options.build else base_images.used()
        store = platforms.store_name()
        timings = interleaved(tags, options.rounds)
        used = ", ".join(f"{official} -> {base}" for official, base in bases.items())
        setup = (
            f"Docker engine {engine_version} ({store} image store); base images: {used}; "
            f"{report.machine()}; {options.rounds} rounds; a ratio is the median of the "
            f"per-round ones"
        )
        text = (
            f"{setup}.\n\n{table(timings, reference)}\n\n{' '.join(verdicts(timings, reference))}"
        )
        print(text)
        if options.record:
            named_args = [
                *(f"--build {v}" for v in options.build),
                *(f"--also {t}" for t in options.also),
            ]
            arguments = " ".join(
                [f"--rounds {options.rounds}", *named_args, *(["--only"] * options.only)]
            )
            record = "" if options.record == "startup" else f" {options.record}"
            command = f"nox -s startup -- {arguments} --record{record}"
            measured = f"Measured by `{command}` on {report.today()}."
            report.record(options.record, f"{measured} {text}")
    except (engine.ImageToolError, ValueError) as error:
        print(f"startup: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
