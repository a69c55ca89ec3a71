"""Cold builds, measured: ``python -m lab.builds [--platform P1,P2] [--record]``
(``nox -s cold_builds``).

Every image (or, with ``--platform``, the optimized image for each platform) built COLD_RUNS
times without the layer cache; sizes, layers, what each Dockerfile adds to its base, compressed
sizes and median build times. With ``--record`` the table goes into lab/results/cold-builds.md
(the README's headline too) or, with ``--platform``, lab/results/platforms.md (lab/report.py).
"""

import argparse
import functools
import hashlib
import itertools
import statistics
import subprocess
import sys
import tarfile
import tempfile
import zlib
from pathlib import Path

from lab import BASELINE, IMAGES, platforms, report
from tools import base_images, engine, images, layer_sizes
from tools.layer_sizes import megabytes

# Cold builds are noisy (network, disk): the README reports the median of this many.
COLD_RUNS = 3


def build_images(runs: int, record: bool) -> None:
    """Every image ``runs`` times without cache; print the table, recorded if ``record``."""
    engine_version = engine.require_engine()
    engine.require_free_space()
    mode, bases = base_images.resolve()
    base_images.write_used(mode, bases, engine_version)
    seconds: dict[str, list[float]] = {image.tag: [] for image in IMAGES}
    for run in range(runs):
        for image in IMAGES:
            print(f"cold build {run + 1}/{runs} of {image.tag}", flush=True)
            built = images.build(image, bases, no_cache=True, quiet=True)
            seconds[image.tag].append(built.seconds)
    images.write_sbom(images.SBOM)
    table = results_table(seconds, bases, cold=True)
    used = ", ".join(f"{official} -> {standin}" for official, standin in bases.items())
    store = platforms.store_name()
    setup = (
        f"Docker engine {engine_version} ({store} image store); base images ({mode}): {used}; "
        f"{report.machine()}"
    )
    print(f"{setup}\n\n{table}")
    if record:
        measured = f"Measured by `nox -s cold_builds -- --record` on {report.today()}. {setup}."
        # The table first: this result is the README's headline.
        report.record("cold-builds", f"{table}\n\n{measured}")


def build_platforms(wanted: str, runs: int, record: bool) -> None:
    """The optimized image for each platform ``runs`` times without cache; its size, layers and
    median build time, emulated or not; recorded if ``record``."""
    engine_version = engine.require_engine()
    seconds: dict[str, list[float]] = {}
    for run in range(runs):
        print(f"cold build {run + 1}/{runs} for {wanted}", flush=True)
        built = platforms.build_platforms(
            images.OPTIMIZED, platforms.parse(wanted), no_cache=True, quiet=True
        )
        for b in built:
            seconds.setdefault(b.platform, []).append(b.seconds)
    table = platforms_table(built, seconds, cold=True)
    store = platforms.store_name()
    store += " (one image index)" if store == "containerd" else ""
    used = "; ".join(f"{b.platform} on {b.base}" for b in built)
    mode = "official" if {b.base for b in built} == {images.OPTIMIZED.runtime_base()} else "standin"
    setup = (
        f"Docker engine {engine_version}, {store} image store; runtime base ({mode}): {used}; "
        f"{report.machine()}"
    )
    print(f"{setup}\n\n{table}")
    if record:
        command = f"nox -s cold_builds -- --platform {wanted} --record"
        measured = f"Measured by `{command}` on {report.today()}."
        report.record("platforms", f"{measured} {setup}.\n\n{table}")


def results_table(seconds: dict[str, list[float]], bases: dict[str, str], cold: bool) -> str:
    """Sizes, layers, what each Dockerfile adds to its runtime base, median build time per
    image, and the baseline/optimized ratios.

    Cold builds use --no-cache: every layer is rebuilt, but uv's download cache (a cache mount)
    stays warm; nothing of the builder's cache is pruned, so other projects keep theirs.
    Compressed sizes (gzip of every layer) take a minute for the baseline: only when recording.
    """
    runs = len(next(iter(seconds.values())))
    kind = f"cold build, median of {runs}" if cold else "build time (layer cache as found)"
    packed = " compressed |" if cold else ""
    lines = [
        f"| image | unpacked |{packed} layers | its runtime base | added to it | {kind} |",
        "|---|---:|" + "---:|" * (2 if cold else 1) + "---|---:|---:|",
    ]
    sizes = {tag: layer_sizes.image_size(tag) for tag in seconds}
    packed_sizes = {tag: compressed_size(tag) for tag in seconds} if cold else {}
    for image in IMAGES:
        tag = image.tag
        size = sizes[tag]
        compressed = f" {megabytes(packed_sizes[tag])} |" if cold else ""
        base = bases[image.runtime_base()]
        over = added_to_base(tag, base, size)
        added = megabytes(over) if over is not None else "n/a"
        lines.append(
            f"| `{tag}` | {megabytes(size.unpacked)} |{compressed} {len(size.layers)} "
            f"| `{base}` | {added} | {statistics.median(seconds[tag]):.1f} s |"
        )
    baseline, optimized = BASELINE.tag, images.OPTIMIZED.tag
    size_ratio = sizes[baseline].unpacked / sizes[optimized].unpacked
    time_ratio = statistics.median(
        b / o for b, o in zip(seconds[baseline], seconds[optimized], strict=True)
    )
    lines.append(
        f"\nThe optimized image is {size_ratio:.1f}x smaller than the baseline unpacked"
        + (f", {packed_sizes[baseline] / packed_sizes[optimized]:.1f}x compressed," if cold else "")
        + f" and builds {time_ratio:.1f}x faster (median of the per-run ratios)."
    )
    minimal, optimized_size = images.MINIMAL.tag, sizes[optimized]
    if minimal in sizes:
        saved = optimized_size.unpacked - sizes[minimal].unpacked
        lines[-1] += f" The minimal image is {megabytes(saved)} smaller than the optimized"
        if cold:
            packed = packed_sizes[optimized] - packed_sizes[minimal]
            lines[-1] += f" unpacked, {megabytes(packed)} compressed."
        else:
            lines[-1] += " unpacked."
    return "\n".join(lines)


def added_to_base(tag: str, base: str, size: layer_sizes.Size) -> int | None:
    """What ``tag`` adds to ``base`` in bytes, its layers above the base's: None when the base
    is not among the engine's images (an official one may be in BuildKit's cache only) or its
    layers are not the image's first ones (its tag has moved since the build)."""
    if not engine.image_exists(base):
        return None
    own, theirs = engine.inspect(tag)["RootFS"]["Layers"], engine.inspect(base)["RootFS"]["Layers"]
    return sum(size.layers[len(theirs) :]) if own[: len(theirs)] == theirs else None


def compressed_size(tag: str) -> int:
    """What a pull of ``tag`` moves, in bytes: each of its layers gzipped (level 6, as
    registries receive them), streamed from `docker save`. ImageToolError when it cannot be
    saved.

    The same on both stores: the classic store saves layers as tar, the containerd store keeps
    them gzipped (unpacked here, then gzipped alike). Only the engine's own platform's count: on
    the containerd store a multi-platform image saves every platform's, told apart by their
    diff IDs (`docker image inspect` lists the engine's own).
    """
    own = set(engine.inspect(tag)["RootFS"]["Layers"])
    total = 0
    with (
        subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE) as save,
        tarfile.open(fileobj=save.stdout, mode="r|") as saved,
    ):
        for blob in saved:
            if not blob.isfile():
                continue
            stream = saved.extractfile(blob)
            chunks = iter(functools.partial(stream.read, 1 << 20), b"")
            first = next(chunks, b"")
            gunzip = zlib.decompressobj(31) if first.startswith(b"\x1f\x8b") else None
            diff_id, gzip = hashlib.sha256(), zlib.compressobj(6, zlib.DEFLATED, 31)
            packed = 0
            for chunk in itertools.chain([first], chunks):
                data = gunzip.decompress(chunk) if gunzip else chunk
                diff_id.update(data)
                packed += len(gzip.compress(data))
            if f"sha256:{diff_id.hexdigest()}" in own:  # a layer, not a manifest or config
                total += packed + len(gzip.flush())
    if save.returncode:
        raise engine.ImageToolError(f"cannot read the layers of {tag}: is it built?")
    return total


def platforms_table(
    built: list[platforms.Built], seconds: dict[str, list[float]], cold: bool
) -> str:
    """Per platform: size, layers, what the Dockerfile adds to its base, median build time."""
    kind = f"cold build, median of {len(seconds[built[0].platform])}" if cold else "build time"
    lines = [
        f"| platform | image | unpacked | layers | added to the base | {kind} |",
        "|---|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as folder:
        # An official base may be in BuildKit's cache only, not among the engine's images.
        bases = {b.base for b in built if engine.image_exists(b.base)}
        saved = {
            ref: platforms.saved_platforms(ref, Path(folder))
            for ref in {b.ref for b in built} | bases
        }
    sizes = {}
    for b in built:
        image = saved[b.ref][b.platform]
        base = saved.get(b.base, {}).get(b.platform)
        # The base's layers come first, unchanged; the Dockerfile's own follow.
        added = sum(image.layer_sizes[base.layers :]) if base else None
        sizes[b.platform] = (image.unpacked, added)
        lines.append(
            f"| {b.platform} | `{b.ref}` | {megabytes(image.unpacked)} | {image.layers} "
            f"| {megabytes(added) if added is not None else 'n/a'} "
            f"| {statistics.median(seconds[b.platform]):.1f} s"
            f"{', emulated' if b.emulated else ''} |"
        )
    notes = []
    if len(built) == 2:
        (first, (size_a, added_a)), (second, (size_b, added_b)) = sizes.items()
        notes.append(
            f"{second} is {megabytes(abs(size_b - size_a))} "
            f"{'bigger' if size_b >= size_a else 'smaller'} than {first} unpacked"
            + (
                f"; what the Dockerfile adds to the base differs by "
                f"{megabytes(abs(added_b - added_a))}."
                if added_a is not None and added_b is not None
                else "."
            )
        )
    if any(b.emulated for b in built):
        notes.append("Emulated build times are what qemu takes on this machine, not native ones.")
    if notes:
        lines.append("\n" + " ".join(notes))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nox -s cold_builds --", description=__doc__)
    parser.add_argument("--platform", help="e.g. linux/amd64,linux/arm64: the optimized image")
    parser.add_argument("--runs", type=int, default=COLD_RUNS, help="cold builds of each")
    parser.add_argument("--record", action="store_true", help="write lab/results/ (lab/report.py)")
    options = parser.parse_args(argv)
    try:
        if options.platform:
            build_platforms(options.platform, options.runs, options.record)
        else:
            build_images(options.runs, options.record)
    except engine.ImageToolError as error:
        print(f"cold_builds: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
