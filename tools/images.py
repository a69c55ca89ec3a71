"""Build the project's images and measure them; shared by the noxfile and the image tests."""

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from tools.project import ENV_PREFIX, NAME, ROOT, VERSION

try:
    from offline import standins
except ModuleNotFoundError:  # offline/ removed: official base images only
    standins = None

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BASE_IMAGES_SETTING = f"{ENV_PREFIX}BASE_IMAGES"
BASE_IMAGE_MODES = ("auto", "official", "standin")
BUILD_DIR = ROOT / "build"
# Written by `nox -s build` next to the image: the optimized image's bill of materials.
SBOM = BUILD_DIR / "sbom" / f"{NAME}-optimized.cdx.json"
# Written by `nox -s build`: which base images it used; the tests read it, never guess again.
BASES_FILE = BUILD_DIR / "images.json"
# Free space `nox -s build` and `nox -s test` ask for where the engine keeps its data. Measured
# (df every 6 s through `.ci/run`, 2026-11-27): its classic-store phase, `build test` and the
# slower proofs, took up to 11.6 GB; its containerd-store phase, 6.7 GB. Below it, builds fail
# midway with BuildKit's "no space left on device" buried in their log.
MIN_FREE_GB = 10
# `FROM [--platform=...] REF [AS STAGE]`
FROM_LINE = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.MULTILINE | re.I)


class ImageToolError(RuntimeError):
    """Something the user must fix; the message says what to do."""


@dataclass(frozen=True)
class Image:
    name: str
    tag: str
    dockerfile: str

    def declared_args(self, root: Path = ROOT) -> set[str]:
        """The names of the Dockerfile's ARGs."""
        return set(re.findall(r"^ARG (\w+)", (root / self.dockerfile).read_text(), re.MULTILINE))

    def from_lines(self, root: Path = ROOT) -> list[tuple[str, str]]:
        """(image, stage) of each FROM."""
        return FROM_LINE.findall((root / self.dockerfile).read_text())

    def runtime_base(self, root: Path = ROOT) -> str:
        """The image its last stage is built on, through any stage aliases (``FROM x AS y``)."""
        stages: dict[str, str] = {}
        ref = ""
        for ref, stage in self.from_lines(root):
            ref = stages.get(ref.lower(), ref)
            stages[stage.lower()] = ref
        return ref

    def base_images(self, root: Path = ROOT) -> list[str]:
        """The images its FROM lines name, as written (not its own stages, not scratch)."""
        stages, bases = {"scratch"}, []
        for ref, stage in self.from_lines(root):
            if ref.lower() not in stages and ref not in bases:
                bases.append(ref)
            stages.add(stage.lower())
        return bases


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


OPTIMIZED = Image("optimized", f"{NAME}:optimized", "Dockerfile")
# The step beyond the optimized image: the same venv on a distroless Python runtime, no shell.
MINIMAL = Image("minimal", f"{NAME}:minimal", "Dockerfile.minimal")
BASELINE = Image("baseline", f"{NAME}:baseline", "Dockerfile.baseline")
IMAGES = (OPTIMIZED, MINIMAL, BASELINE)


def docker(*args: str, check: bool = True) -> str:
    """Run a docker command; return its stdout."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and done.returncode:
        raise ImageToolError(f"docker {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout


def remove_container(container: str) -> None:
    """Remove a container this project made, with the anonymous volume its ``VOLUME /data`` got."""
    docker("rm", "--force", "--volumes", container, check=False)


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
            "no Docker engine answers: start it (`systemctl start docker`; on Debian with no "
            "engine installed, `bash offline/docker-engine` installs and starts one)"
        )
    if subprocess.run(["docker", "buildx", "version"], capture_output=True).returncode:
        raise ImageToolError(
            "docker buildx is missing: install the buildx plugin (Debian: docker-buildx)"
        )
    return info.stdout.strip()


def require_free_space() -> None:
    """A clear error, before anything is built, when the disk holding Docker's data is full."""
    root = Path(docker("info", "--format", "{{.DockerRootDir}}", check=False).strip() or "/")
    if not root.is_dir():
        return  # a remote engine: its disk is not ours to read
    free_gb = shutil.disk_usage(root).free / 1e9
    if free_gb < MIN_FREE_GB:
        raise ImageToolError(
            f"{root} has {free_gb:.1f} GB free; building and testing the images needs about "
            f"{MIN_FREE_GB} GB: free some (`docker system df` shows what Docker holds)"
        )


def require_built(*images: Image) -> None:
    missing = [image.tag for image in images if not image_exists(image.tag)]
    if missing:
        raise ImageToolError(f"image(s) {', '.join(missing)} not built: run `nox -s build` first")


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def inspect(tag: str) -> dict:
    return json.loads(docker("image", "inspect", tag))[0]


@dataclass(frozen=True)
class Size:
    """Measured from the image's own layers, the same way on the classic and containerd stores
    (whose `docker images` sizes count different things)."""

    unpacked: int  # the bytes of every file in every layer, as a container's filesystem holds them
    compressed: int | None  # gzip (level 6, as registries receive) of each layer: what a pull moves


def image_size(tag: str, *, compressed: bool = False) -> Size:
    """Stream `docker save` and measure each layer as it passes; gzip it too when asked.

    Only the engine's own platform's layers count: on the containerd store a multi-platform
    image saves every platform's, told apart by their digests (`docker image inspect` lists
    the engine's own).
    """
    own = set(inspect(tag)["RootFS"]["Layers"])
    unpacked = packed = 0
    with (
        subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE) as save,
        tarfile.open(fileobj=save.stdout, mode="r|") as saved,
    ):
        for blob in saved:
            if not blob.isfile():
                continue
            stream = _Prefixed(saved.extractfile(blob))
            if stream.head.startswith(b"\x1f\x8b"):  # the containerd store keeps them gzipped
                stream = gzip.GzipFile(fileobj=stream)
            hashed = _Hashed(stream)
            counted = _Gzipped(hashed) if compressed else hashed
            try:
                with tarfile.open(fileobj=counted, mode="r|") as layer:
                    files = sum(m.size for m in layer if m.isfile())
            except tarfile.ReadError:
                continue  # a manifest or config, not a layer
            size = counted.finish()
            if hashed.digest() in own:
                unpacked += files
                packed += size
    if save.returncode:
        raise ImageToolError(f"cannot read the layers of {tag}: is it built?")
    return Size(unpacked, packed if compressed else None)


def base_size(tag: str, base: str) -> int | None:
    """The unpacked size of ``base`` when ``tag`` is built on it: None when the base is not
    among the engine's images (an official one may be in BuildKit's cache only) or its layers
    are not the image's first ones (its tag has moved since the build)."""
    if not image_exists(base):
        return None
    own, theirs = inspect(tag)["RootFS"]["Layers"], inspect(base)["RootFS"]["Layers"]
    return image_size(base).unpacked if own[: len(theirs)] == theirs else None


class _Hashed:
    """A read-through stream that takes the digest of what passes: a layer's diff ID."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.sha256.update(data)
        return data

    def finish(self) -> int:
        while self.read(1 << 20):
            pass
        return 0

    def digest(self) -> str:
        return f"sha256:{self.sha256.hexdigest()}"


class _Prefixed:
    """A forward-only stream whose first block can be looked at before it is read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.head = stream.read(512)

    def read(self, n: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(n)
        if n < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:n], self.head[n:]
        return data + self.stream.read(n - len(data)) if len(data) < n else data


class _Gzipped:
    """A read-through stream that gzips what passes through it, to count the compressed size."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.size += len(self.compressor.compress(data))
        return data

    def finish(self) -> int:
        while self.read(1 << 20):
            pass
        return self.size + len(self.compressor.flush())


def base_image_mode() -> str:
    mode = os.environ.get(BASE_IMAGES_SETTING, "auto")
    if mode not in BASE_IMAGE_MODES:
        raise ImageToolError(
            f"{BASE_IMAGES_SETTING}={mode!r} is not one of {', '.join(BASE_IMAGE_MODES)}"
        )
    return mode


def resolve_base_images(
    wanted: tuple[Image, ...] = IMAGES, arch: str | None = None
) -> tuple[str, dict[str, str]]:
    """Which base images to build on: 'official' or 'standin', and official name -> image used.

    auto uses the official images when every one is present or can be pulled, stand-ins
    otherwise; BASE_IMAGES=official or =standin (with the project's prefix) forces one.
    ``arch`` (amd64, arm64): the stand-ins of that architecture; the official names stay, each
    an index of every platform.
    """
    mode = base_image_mode()
    officials = sorted({ref for image in wanted for ref in image.base_images()})
    if mode == "auto":
        reachable = all(image_exists(ref) or _pulls(ref) for ref in officials)
        mode = "official" if reachable else "standin"
    if mode == "official":
        for ref in officials:
            if not image_exists(ref) and not _pulls(ref):
                advice = f"set {BASE_IMAGES_SETTING}=standin" if standins else "log in or go online"
                raise ImageToolError(f"cannot pull {ref}: no registry answers; {advice}")
        return mode, {ref: ref for ref in officials}
    if standins is None:
        raise ImageToolError(
            f"{BASE_IMAGES_SETTING}=standin, but the offline support (offline/) was removed"
        )
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
    return mode, chosen


def write_bases(mode: str, bases: dict[str, str], engine: str) -> None:
    """Write down which base images `nox -s build` used, for the tests to read."""
    BASES_FILE.parent.mkdir(parents=True, exist_ok=True)
    BASES_FILE.write_text(json.dumps({"mode": mode, "bases": bases, "engine": engine}, indent=2))


def built_bases() -> dict[str, str]:
    """Official base image name -> the image `nox -s build` used (itself or a stand-in)."""
    try:
        return json.loads(BASES_FILE.read_text())["bases"]
    except (OSError, ValueError, KeyError):
        raise ImageToolError(f"{BASES_FILE} is missing or unreadable: run `nox -s build`") from None


def _pulls(ref: str) -> bool:
    return subprocess.run(["docker", "pull", "--quiet", ref], capture_output=True).returncode == 0


def build_metadata(root: Path = ROOT) -> dict[str, str]:
    """Version, revision, creation date (the last commit's) and source URL for labels."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    metadata = {
        "VERSION": VERSION,
        "REVISION": git("rev-parse", "HEAD") or "unknown",
        "CREATED": git("log", "-1", "--format=%cI") or "unknown",
        "SOURCE_URL": without_credentials(git("remote", "get-url", "origin")) or "unknown",
    }
    # BuildKit dates the image and its history with it; Python writes hash-based bytecode.
    epoch = git("log", "-1", "--format=%ct")
    return metadata | ({"SOURCE_DATE_EPOCH": epoch} if epoch else {})


def without_credentials(url: str) -> str:
    """A remote URL without the user and token CI often embeds (https://user:TOKEN@host/...)."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


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
    oci_archive: Path | None = None,
    platform: str | None = None,
) -> Build:
    """Build ``image`` from ``context``; return its wall-clock time (and log, when quiet).

    With ``filesystem_tar``, the final filesystem is written there, its file times clamped to
    SOURCE_DATE_EPOCH, instead of loading an image. With ``oci_archive``, the image as a
    registry would hold it (named ``tag``, times clamped the same way, BuildKit's full SLSA
    provenance beside it): the engine's own image exporter refuses to clamp times.
    ``platform`` (linux/arm64): that platform's image, under emulation when it is not the
    engine's own.
    """
    declared = image.declared_args(context)
    args = {k: v for k, v in build_metadata(context).items() if k in declared}
    args |= build_args or {}
    # Stand-ins replace the bases the FROM lines name, which stay as written.
    contexts = {ref: bases[ref] for ref in image.base_images(context) if bases[ref] != ref}
    all_secrets = {"ca-bundle": CA_BUNDLE} if CA_BUNDLE.is_file() else {}
    all_secrets |= secrets or {}
    command = ["docker", "buildx", "build"]
    if filesystem_tar:
        command += [f"--output=type=tar,dest={filesystem_tar},rewrite-timestamp=true"]
    elif oci_archive:
        command += [
            f"--output=type=oci,dest={oci_archive},name={tag},rewrite-timestamp=true",
            "--provenance=mode=max",
        ]
    else:
        command += ["--load", "--tag", tag or image.tag]
    command += ["--file", str(context / image.dockerfile)]
    command += [f"--build-context={ref}=docker-image://{used}" for ref, used in contexts.items()]
    command += [f"--build-arg={name}={value}" for name, value in args.items()]
    command += [f"--secret=id={name},src={path}" for name, path in all_secrets.items()]
    command += ["--no-cache"] if no_cache else []
    command += [f"--platform={platform}"] if platform else []
    command += ["--progress=plain", str(context)]
    replaced = None if filesystem_tar or oci_archive else image_id(tag or image.tag)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=quiet, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        detail = done.stderr.strip()[-3000:] if quiet else "see the build output above"
        raise ImageToolError(f"building {tag or image.tag} failed: {detail}")
    drop_replaced(replaced, tag or image.tag)
    return Build(seconds, done.stderr if quiet else "")


def drop_replaced(replaced: str | None, tag: str) -> None:
    """Remove the image ``tag`` named before it moved, now untagged: ours, left to no one (one
    still tagged otherwise stays: `docker image rm` by id refuses it)."""
    if replaced and replaced != image_id(tag):
        docker("image", "rm", replaced, check=False)


def image_id(tag: str) -> str | None:
    found = docker("image", "inspect", "--format", "{{.Id}}", tag, check=False).strip()
    return found or None


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
