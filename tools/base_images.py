"""The base images a build uses: the official ones its FROM lines name, or stand-ins made from
Debian's packages where no registry answers (offline/, the one door to it), and the record of
which `nox -s build` used."""

import json
import os
import subprocess

from tools.engine import ImageToolError, image_exists
from tools.images import BUILD_DIR, Image, shipped
from tools.project import ENV_PREFIX

try:
    from offline import standins
except ModuleNotFoundError:  # offline/ removed: official base images only
    standins = None

SETTING = f"{ENV_PREFIX}BASE_IMAGES"
MODES = ("auto", "official", "standin")
# Written by `nox -s build`: which base images it used; the tests read it, never guess again.
USED_FILE = BUILD_DIR / "images.json"


def mode() -> str:
    """The setting's value: 'auto' (the default), 'official' or 'standin'; raises
    ImageToolError for anything else."""
    chosen = os.environ.get(SETTING, "auto")
    if chosen not in MODES:
        raise ImageToolError(f"{SETTING}={chosen!r} is not one of {', '.join(MODES)}")
    return chosen


def resolve(
    wanted: tuple[Image, ...] | None = None, arch: str | None = None
) -> tuple[str, dict[str, str]]:
    """Which base images to build ``wanted`` on (default: the service's images, shipped()):
    'official' or 'standin', and official name -> image used.

    auto uses the official images when every one is present or can be pulled, stand-ins
    otherwise; BASE_IMAGES=official or =standin (with the project's prefix) forces one.
    ``arch`` (amd64, arm64): the stand-ins of that architecture; the official names stay, each
    an index of every platform. Stand-ins not yet made are made (minutes). ImageToolError when
    an official image cannot be pulled where 'official' is forced, or a stand-in cannot be made.
    """
    officials = sorted({ref for image in wanted or shipped() for ref in image.base_images()})
    return resolve_references(officials, arch)


def image_to_run(official: str) -> str:
    """The image to `docker run` for the official image ``official``, e.g. `postgres:17-trixie`:
    itself where it is present or can be pulled, its stand-in otherwise (made if missing:
    minutes), as for the bases; BASE_IMAGES forces either. ImageToolError as resolve()."""
    return resolve_references([official])[1][official]


def resolve_references(officials: list[str], arch: str | None = None) -> tuple[str, dict[str, str]]:
    """:func:`resolve` for image references themselves (a database image the service runs
    beside it, which no Dockerfile names)."""
    chosen_mode = mode()
    if chosen_mode == "auto":
        missing = [ref for ref in officials if not image_exists(ref) and not _pulls(ref)]
        chosen_mode = "standin" if missing else "official"
        if missing and standins is None:
            raise ImageToolError(
                f"cannot pull {missing[0]}: no registry answers, and the offline support "
                "(offline/), which makes stand-ins, was removed"
            )
    if chosen_mode == "official":
        for ref in officials:
            if not image_exists(ref) and not _pulls(ref):
                advice = f"set {SETTING}=standin" if standins else "log in or go online"
                raise ImageToolError(f"cannot pull {ref}: no registry answers; {advice}")
        return chosen_mode, {ref: ref for ref in officials}
    if standins is None:
        raise ImageToolError(f"{SETTING}=standin, but the offline support (offline/) was removed")
    chosen = {}
    for ref in officials:
        try:
            standin = standins.standin_for(ref, *([arch] if arch else []))
            if not standin.exists():
                print(f"making stand-in {standin.name} for {ref}")
                standin.make()
        except standins.StandinError as error:
            raise ImageToolError(str(error)) from error
        chosen[ref] = standin.name
    return chosen_mode, chosen


def write_used(mode: str, bases: dict[str, str], engine: str) -> None:
    """Write down which base images `nox -s build` used, for the tests to read: USED_FILE,
    JSON ``{"mode": ..., "bases": {official: used}, "engine": version}``."""
    USED_FILE.parent.mkdir(parents=True, exist_ok=True)
    USED_FILE.write_text(json.dumps({"mode": mode, "bases": bases, "engine": engine}, indent=2))


def used() -> dict[str, str]:
    """Official base image name -> the image `nox -s build` used (itself or a stand-in), from
    USED_FILE; ImageToolError when no build wrote it."""
    try:
        return json.loads(USED_FILE.read_text())["bases"]
    except (OSError, ValueError, KeyError):
        raise ImageToolError(f"{USED_FILE} is missing or unreadable: run `nox -s build`") from None


def _pulls(ref: str) -> bool:
    return subprocess.run(["docker", "pull", "--quiet", ref], capture_output=True).returncode == 0
