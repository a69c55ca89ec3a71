"""Build the project's images and measure them; shared by the noxfile and the image tests."""

import json
import os
import re
import subprocess
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tools.standins import StandinError, standin_for

ROOT = Path(__file__).resolve().parents[1]
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_IMAGES_SETTING = "SHORTLINK_BASE_IMAGES"
BASE_IMAGE_MODES = ("auto", "official", "standin")
# Written by `nox -s build` next to the image: the optimized image's bill of materials.
SBOM = ROOT / "build" / "sbom" / "shortlink-optimized.cdx.json"


class ImageToolError(RuntimeError):
    """Something the user must fix; the message says what to do."""


@dataclass(frozen=True)
class Image:
    name: str
    tag: str
    dockerfile: str

    def declared_args(self, root: Path = ROOT) -> dict[str, str]:
        """The Dockerfile's ARGs and their defaults ('' where none)."""
        text = (root / self.dockerfile).read_text()
        return {
            name: default or ""
            for name, default in re.findall(r"^ARG (\w+)(?:=(\S+))?$", text, re.MULTILINE)
        }

    def base_images(self) -> dict[str, str]:
        """Build args naming a base image, with their official defaults."""
        return {k: v for k, v in self.declared_args().items() if k.endswith("_IMAGE")}


@dataclass(frozen=True)
class Build:
    seconds: float
    log: str

    def cached(self, command: str) -> bool:
        """Whether the RUN step whose command contains ``command`` came from the layer cache."""
        steps = re.findall(r"^#(\d+) \[[^\]]*\] RUN (.*)$", self.log, re.MULTILINE)
        numbers = {number for number, text in steps if command in text}
        return bool(numbers) and all(
            re.search(rf"^#{number} CACHED$", self.log, re.MULTILINE) for number in numbers
        )


OPTIMIZED = Image("optimized", "shortlink:optimized", "Dockerfile")
BASELINE = Image("baseline", "shortlink:baseline", "Dockerfile.baseline")
IMAGES = (OPTIMIZED, BASELINE)


def docker(*args: str, check: bool = True) -> str:
    """Run a docker command; return its stdout."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and done.returncode:
        raise ImageToolError(f"docker {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout


def require_engine() -> str:
    """The engine's version; a clear error when no engine with BuildKit answers."""
    try:
        info = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        raise ImageToolError(
            "the docker command is not installed: install Docker Engine 23 or newer with buildx"
        ) from None
    if info.returncode:
        raise ImageToolError(
            "no Docker engine answers: start it (`systemctl start docker`, or on Debian "
            "`bash .ci/docker-engine`), then run this again"
        )
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode:
        raise ImageToolError("docker buildx is missing: install the buildx plugin (BuildKit)")
    return info.stdout.strip()


def require_built(*images: Image) -> None:
    missing = [image.tag for image in images if not image_exists(image.tag)]
    if missing:
        raise ImageToolError(f"image(s) {', '.join(missing)} not built: run `nox -s build` first")


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def inspect(tag: str) -> dict:
    return json.loads(docker("image", "inspect", tag))[0]


def image_size(tag: str) -> int:
    return inspect(tag)["Size"]


def base_image_mode() -> str:
    mode = os.environ.get(BASE_IMAGES_SETTING, "auto")
    if mode not in BASE_IMAGE_MODES:
        raise ImageToolError(
            f"{BASE_IMAGES_SETTING}={mode!r} is not one of {', '.join(BASE_IMAGE_MODES)}"
        )
    return mode


def resolve_base_images(wanted: tuple[Image, ...] = IMAGES) -> tuple[str, dict[str, str]]:
    """Which base images to build on: 'official' or 'standin', and official name -> image used.

    auto uses the official images when every one is present or can be pulled, stand-ins
    otherwise; SHORTLINK_BASE_IMAGES=official or =standin forces one.
    """
    mode = base_image_mode()
    officials = sorted({ref for image in wanted for ref in image.base_images().values()})
    if mode == "auto":
        reachable = all(image_exists(ref) or _pulls(ref) for ref in officials)
        mode = "official" if reachable else "standin"
    if mode == "official":
        for ref in officials:
            if not image_exists(ref) and not _pulls(ref):
                raise ImageToolError(
                    f"cannot pull {ref}: no registry answers; "
                    f"unset {BASE_IMAGES_SETTING} or set it to standin"
                )
        return mode, {ref: ref for ref in officials}
    chosen = {}
    for ref in officials:
        standin = standin_for(ref)
        if not standin.exists():
            print(f"making stand-in {standin.name} for {ref}")
            try:
                standin.make()
            except StandinError as error:
                raise ImageToolError(str(error)) from error
        chosen[ref] = standin.name
    return mode, chosen


def _pulls(ref: str) -> bool:
    return subprocess.run(["docker", "pull", "--quiet", ref], capture_output=True).returncode == 0


def build_metadata(root: Path = ROOT) -> dict[str, str]:
    """Version, revision, creation date (the last commit's) and source URL for labels."""
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    metadata = {
        "VERSION": version,
        "REVISION": git("rev-parse", "HEAD") or "unknown",
        "CREATED": git("log", "-1", "--format=%cI") or "unknown",
        "SOURCE_URL": git("remote", "get-url", "origin") or "unknown",
    }
    # BuildKit dates the image and its history with it; Python writes hash-based bytecode.
    epoch = git("log", "-1", "--format=%ct")
    return metadata | ({"SOURCE_DATE_EPOCH": epoch} if epoch else {})


def build(
    image: Image,
    bases: dict[str, str],
    *,
    tag: str | None = None,
    context: Path = ROOT,
    build_args: dict[str, str] | None = None,
    secrets: dict[str, Path] | None = None,
    no_cache: bool = False,
    quiet: bool = False,
    filesystem_tar: Path | None = None,
) -> Build:
    """Build ``image`` from ``context``; return its wall-clock time (and log, when quiet).

    With ``filesystem_tar``, the final filesystem is written there, its file times clamped to
    SOURCE_DATE_EPOCH, instead of loading an image.
    """
    declared = image.declared_args(context)
    args = {name: bases[default] for name, default in image.base_images().items()}
    args |= {k: v for k, v in build_metadata(context).items() if k in declared}
    args |= build_args or {}
    all_secrets = {"ca-bundle": CA_BUNDLE} if CA_BUNDLE.is_file() else {}
    all_secrets |= secrets or {}
    command = ["docker", "buildx", "build"]
    if filesystem_tar:
        command += [f"--output=type=tar,dest={filesystem_tar},rewrite-timestamp=true"]
    else:
        command += ["--load", "--tag", tag or image.tag]
    command += ["--file", str(context / image.dockerfile)]
    command += [f"--build-arg={name}={value}" for name, value in args.items()]
    command += [f"--secret=id={name},src={path}" for name, path in all_secrets.items()]
    command += ["--no-cache"] if no_cache else []
    command += ["--progress=plain", str(context)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=quiet, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        detail = done.stderr.strip()[-3000:] if quiet else "see the build output above"
        raise ImageToolError(f"building {tag or image.tag} failed: {detail}")
    return Build(seconds, done.stderr if quiet else "")


def write_sbom(destination: Path) -> None:
    """A CycloneDX SBOM of what the runtime venv installs: uv.lock without dev dependencies."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "uv",
            "export",
            "--format",
            "cyclonedx1.5",
            "--preview-features",
            "sbom-export",
            "--locked",
            "--no-dev",
            "--no-editable",
            "--quiet",
            "--output-file",
            str(destination),
        ],
        cwd=ROOT,
        check=True,
    )


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
