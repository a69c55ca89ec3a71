"""The optimized image for several platforms: ``python -m lab.platforms linux/amd64,linux/arm64``
(nox -s multiarch, which then proves the arm64 image under emulation: lab/multiarch).

One build per platform, from the unchanged Dockerfile, each with its own `--platform` and the
base images of that platform: a stand-in is one platform's image, so a single multi-platform
build could not name both through one named context. On the containerd image store the builds
are then joined into one image index under the image's tag; the classic store holds one platform
per tag, so each other platform keeps a tag of its own (`...:optimized-arm64`).

Exits 0 when built; 1 with one line on stderr when the engine, emulation, a base image or a
build fails (engine.ImageToolError); 2 with its usage on bad arguments.
"""

import argparse
import json
import os
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.registry import LocalRegistry
from tools import base_images, engine, images, layer_sizes

# Written by a multi-platform build: what each platform's image is called; the tests read it.
BUILT_FILE = images.BUILD_DIR / "platforms.json"
# Debian's (and Docker's) architecture names -> the kernel's, as `uname -m` prints them.
MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
# The first 20 bytes of an ELF executable for each architecture, as binfmt_misc matches them.
ELF_MAGIC = {
    "amd64": "7f454c4602010100000000000000000002003e00",
    "arm64": "7f454c460201010000000000000000000200b700",
}
BINFMT = Path("/proc/sys/fs/binfmt_misc")


@dataclass(frozen=True)
class Built:
    platform: str
    # What `docker run --platform` runs: the index on the containerd store, else its own tag.
    ref: str
    seconds: float
    emulated: bool
    # The image its last stage is built on, for this platform (the official one or a stand-in).
    base: str = ""


def native_platform() -> str:
    return engine.docker("version", "--format", "{{.Server.Os}}/{{.Server.Arch}}").strip()


def arch(platform: str) -> str:
    return platform.split("/")[1]


def parse(argument: str) -> list[str]:
    """`linux/amd64,linux/arm64` -> the platforms, each one this project knows how to build."""
    platforms = [p.strip() for p in argument.split(",") if p.strip()]
    unknown = [p for p in platforms if not p.startswith("linux/") or arch(p) not in MACHINES]
    if unknown or not platforms:
        raise engine.ImageToolError(
            f"--platform {argument!r}: give linux/amd64, linux/arm64 or both, comma-separated"
        )
    return platforms


def containerd_store() -> bool:
    """Whether the engine keeps images in containerd, which holds multi-platform images."""
    return "io.containerd.snapshotter" in engine.docker(
        "info", "--format", "{{json .DriverStatus}}"
    )


def store_name() -> str:
    """The engine's image store, as measurements name it."""
    return "containerd" if containerd_store() else "classic"


def platform_tag(image: images.Image, platform: str, native: str) -> str:
    return image.tag if platform == native else f"{image.tag}-{arch(platform)}"


def require_emulation(platform: str, native: str) -> None:
    """One clear line when this machine's kernel cannot run ``platform``'s binaries, instead of
    the `exec format error` a build or container would stop with.

    Only a local Linux engine's kernel can be read; Docker Desktop emulates in its own VM.
    """
    if platform == native or os.environ.get("DOCKER_HOST") or not Path("/proc/sys/fs").is_dir():
        return
    magic = f"magic {ELF_MAGIC[arch(platform)]}"
    handlers = [p for p in BINFMT.glob("*") if p.name not in ("register", "status")]
    for handler in handlers:
        text = handler.read_text()
        if text.startswith("enabled") and magic in text:
            return
    script = (
        "on Debian run `bash offline/qemu-arm64`; elsewhere " if arch(platform) == "arm64" else ""
    )
    raise engine.ImageToolError(
        f"{platform} needs emulation, and this machine's kernel has no binfmt_misc handler for "
        f"{MACHINES[arch(platform)]} binaries (none in {BINFMT}): {script}install "
        "qemu-user-static and register its handlers"
    )


def build_platforms(
    image: images.Image, platforms: list[str], *, no_cache: bool = False, quiet: bool = False
) -> list[Built]:
    """Build ``image`` for each platform; join them into one index where the store can hold one."""
    native = native_platform()
    for platform in platforms:
        require_emulation(platform, native)
    index = containerd_store() and len(platforms) > 1
    built, tags = [], {}
    for platform in platforms:
        bases = base_images.resolve((image,), arch(platform))[1]
        tags[platform] = platform_tag(image, platform, native)
        done = images.build(
            image, bases, tag=tags[platform], no_cache=no_cache, quiet=quiet,
            options=(f"--platform={platform}",),
        )  # fmt: skip
        base = bases[image.runtime_base()]
        built.append(Built(platform, tags[platform], done.seconds, platform != native, base))
    if index:
        join_index(image.tag, list(tags.values()))
        for tag in tags.values():
            if tag != image.tag:
                engine.docker("image", "rm", tag, check=False)
        built = [Built(b.platform, image.tag, b.seconds, b.emulated, b.base) for b in built]
    write_built(built, index)
    return built


def join_index(tag: str, sources: list[str]) -> None:
    """Make ``tag`` one image index of the single-platform images ``sources``.

    The engine joins images into an index only through a registry: a throwaway one on loopback
    (Debian's docker-registry) receives them, buildx makes the index there, and pulling it back
    only fetches the index, as every blob is already in the local store.
    """
    replaced = engine.image_id(tag)
    with tempfile.TemporaryDirectory() as folder, LocalRegistry(Path(folder)) as registry:
        repository = f"{registry.host}/{tag.split(':')[0]}"
        pushed = []
        for number, source in enumerate(sources):
            remote = f"{repository}:part{number}"
            engine.docker("tag", source, remote)
            try:
                engine.docker("push", "--quiet", remote)
            finally:
                engine.docker("image", "rm", remote, check=False)
            pushed.append(remote)
        joined = f"{repository}:index"
        engine.docker("buildx", "imagetools", "create", "--tag", joined, *pushed)
        try:
            engine.docker("pull", "--quiet", joined)
            engine.docker("tag", joined, tag)
        finally:
            engine.docker("image", "rm", joined, check=False)
    # The native image the tag named, now inside the index.
    images.drop_replaced(replaced, tag)


def write_built(built: list[Built], index: bool) -> None:
    BUILT_FILE.parent.mkdir(parents=True, exist_ok=True)
    BUILT_FILE.write_text(
        json.dumps({"index": index, "built": [asdict(b) for b in built]}, indent=2)
    )


def last_built() -> dict[str, Built]:
    """Platform -> what the last multi-platform build made of it."""
    try:
        data = json.loads(BUILT_FILE.read_text())
        return {b["platform"]: Built(**b) for b in data["built"]}
    except (OSError, ValueError, KeyError, TypeError):
        raise engine.ImageToolError(
            f"{BUILT_FILE} is missing or unreadable: run `nox -s multiarch`"
        ) from None


@dataclass(frozen=True)
class Saved:
    """One platform's image as `docker save` wrote it."""

    config: dict
    # Per layer, the bytes of every file in it, as dive counts them (tools/layer_sizes.py).
    layer_sizes: tuple[int, ...]

    @property
    def unpacked(self) -> int:
        return sum(self.layer_sizes)

    @property
    def layers(self) -> int:
        return len(self.layer_sizes)


def saved_platforms(ref: str, workdir: Path) -> dict[str, Saved]:
    """Platform -> its image, for every platform ``ref`` holds: one on the classic store, each
    of an index's on the containerd store (`docker image inspect` shows only the engine's own).
    dive reads the first image of an archive: an index's platforms are saved one by one
    (`docker save --platform`, Engine 28 and later)."""
    archive = workdir / "saved.tar"
    engine.docker("save", "--output", str(archive), ref)
    try:
        configs = _configs(archive)
        if len(configs) == 1:
            return {platform: _measured(config, archive) for platform, config in configs.items()}
        found = {}
        for platform, config in configs.items():
            engine.docker("save", "--platform", platform, "--output", str(archive), ref)
            found[platform] = _measured(config, archive)
        return found
    finally:
        archive.unlink(missing_ok=True)


def _measured(config: dict, archive: Path) -> Saved:
    """dive's measure of the image ``archive`` holds, whose config is ``config``."""
    size, digests = layer_sizes.measure("--source", "docker-archive", str(archive))
    if digests != config["rootfs"]["diff_ids"]:
        raise engine.ImageToolError(f"dive read other layers than {archive.name}'s image's")
    return Saved(config, size.layers)


def _configs(archive: Path) -> dict[str, dict]:
    """Platform -> image config, of every image a `docker save` archive holds."""
    with tarfile.open(archive) as saved:
        blobs = {m.name: m for m in saved if m.isfile()}

        def read(name: str) -> dict:
            return json.load(saved.extractfile(blobs[name]))

        found = []
        if "index.json" not in blobs:
            found = [read(entry["Config"]) for entry in read("manifest.json")]
        pending = [read("index.json")] if "index.json" in blobs else []
        while pending:
            for descriptor in pending.pop().get("manifests", []):
                document = read(_blob(descriptor)) if _blob(descriptor) in blobs else {}
                if "config" not in document:
                    pending.append(document)
                elif _blob(document["config"]) in blobs:
                    found.append(read(_blob(document["config"])))
    return {
        f"{config['os']}/{config['architecture']}": config
        for config in found
        # Attestations (provenance) are manifests too, of documents, for no platform.
        if config.get("architecture", "unknown") != "unknown"
    }


def _blob(descriptor: dict) -> str:
    return f"blobs/{descriptor['digest'].replace(':', '/')}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.platforms", description=__doc__)
    parser.add_argument("platforms", help="linux/amd64, linux/arm64 or both, comma-separated")
    wanted = parser.parse_args(argv).platforms
    try:
        engine.require_engine()
        for b in build_platforms(images.OPTIMIZED, parse(wanted)):
            emulated = ", emulated" if b.emulated else ""
            print(f"{b.platform}: {b.ref} on {b.base}, built in {b.seconds:.1f} s{emulated}")
        print(f"{store_name()} image store")
    except engine.ImageToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
