"""The Docker engine, through its CLI: run a command, check the engine and its disk, read an
image's metadata, remove a container this project made."""

import json
import shutil
import subprocess
from pathlib import Path

# Free space `nox -s build` and `nox -s test` ask for where the engine keeps its data. Measured
# (df every 6 s through `.ci/run`, 2026-11-27): its classic-store phase, `build test` and the
# slower proofs, took up to 11.6 GB; its containerd-store phase, 6.7 GB. Since then
# `nox -s adoption` also builds a second service's three images, hence the margin above 11.6.
# Below it, builds fail midway with BuildKit's "no space left on device" buried in their log.
MIN_FREE_GB = 15


class ImageToolError(RuntimeError):
    """Something the user must fix; the message says what to do."""


def docker(*args: str, check: bool = True) -> str:
    """Run ``docker ARGS``; its stdout. With ``check``, a non-zero exit raises ImageToolError
    with docker's stderr."""
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
            "the docker command is not installed: install Docker Engine 25 or newer with buildx"
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
    """Raise ImageToolError, before anything is built, when the disk holding Docker's data has
    less than MIN_FREE_GB free."""
    root = Path(docker("info", "--format", "{{.DockerRootDir}}", check=False).strip() or "/")
    if not root.is_dir():
        return  # a remote engine: its disk is not ours to read
    free_gb = shutil.disk_usage(root).free / 1e9
    if free_gb < MIN_FREE_GB:
        raise ImageToolError(
            f"{root} has {free_gb:.1f} GB free; building and testing the images needs about "
            f"{MIN_FREE_GB} GB: free some (`docker system df` shows what Docker holds)"
        )


def image_exists(tag: str) -> bool:
    """Whether the engine holds an image named ``tag`` (or with that id)."""
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def inspect(tag: str) -> dict:
    """`docker image inspect`'s object for ``tag`` (Config, RootFS...); ImageToolError if
    there is none."""
    return json.loads(docker("image", "inspect", tag))[0]


def image_id(tag: str) -> str | None:
    """The image id (``sha256:...``) ``tag`` names, or None when there is no such image."""
    found = docker("image", "inspect", "--format", "{{.Id}}", tag, check=False).strip()
    return found or None
