"""Stand-in base images made from Debian packages, for machines that reach no registry.

Each stand-in carries a name of its own, never an official one: a user who later goes online
must not build on a stand-in by mistake. The build substitutes it for the official name in
the Dockerfile's FROM line with a BuildKit named context (tools/images.py).
"""

import hashlib
import platform
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SUITE = "trixie"
# trixie's Python, for stand-ins of tags that name no version (`python`, `python:slim`).
DEBIAN_PYTHON = "3.13"
# What the official full `python` image has beyond slim: compilers, headers, VCS, fetchers.
FULL_VARIANT_PACKAGES = [
    "build-essential",
    "curl",
    "git",
    "libbz2-dev",
    "libffi-dev",
    "libsqlite3-dev",
    "libssl-dev",
    "procps",
    "python3-dev",
    "wget",
    "zlib1g-dev",
]
ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What the official slim and ubuntu images also leave out: docs (but copyright files), man
# pages, locales, info.
DPKG_EXCLUDES = [
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
]


# Under a registry host that cannot exist (RFC 2606): a stand-in is never mistaken for an
# official image, and no build can ever pull one from somewhere else.
REGISTRY = "standin.invalid"
# Stand-ins carry the hash of this file: a changed recipe makes them again.
LABEL = "standin.recipe"
RECIPE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
# Debian's name of this machine's architecture: its stand-ins keep the plain official tag.
NATIVE_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
# Debian architecture -> the platform triple of uv's wheel for it.
UV_WHEEL_PLATFORMS = {"amd64": "x86_64-unknown-linux-gnu", "arm64": "aarch64-unknown-linux-gnu"}


class StandinError(RuntimeError):
    """A stand-in base image could not be made."""


@dataclass(frozen=True)
class Standin:
    """A local image standing in for ``official``, made by ``kind``'s recipe."""

    official: str
    name: str
    kind: str
    arch: str = NATIVE_ARCH

    @property
    def platform(self) -> str:
        return f"linux/{self.arch}"

    def exists(self) -> bool:
        """Made, and by this version of the recipes."""
        label = subprocess.run(
            [
                "docker",
                "image",
                "inspect",
                "--format",
                f'{{{{index .Config.Labels "{LABEL}"}}}}',
                self.name,
            ],
            capture_output=True,
            text=True,
        )
        return label.returncode == 0 and label.stdout.strip() == RECIPE

    def make(self) -> None:
        """Make it; an older stand-in it replaces (made by us, outdated recipe) is removed."""
        old = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", self.name],
            capture_output=True,
            text=True,
        ).stdout.strip()
        {"python": _make_python, "os": _make_os, "uv": _make_uv}[self.kind](self)
        if old:
            subprocess.run(["docker", "image", "rm", old], capture_output=True)


def standin_for(official: str, arch: str = NATIVE_ARCH) -> Standin:
    """The stand-in of an official base image named in a Dockerfile's FROM line, for one
    architecture (Debian's name: amd64, arm64).

    An official tag names one image index for every platform; a stand-in is one platform's
    image, so another architecture's carries its name in the tag: `...:3.13-slim-trixie-arm64`.
    """
    repository, _, tag = official.rpartition(":") if ":" in official else (official, "", "latest")
    short = repository.rsplit("/", 1)[-1]
    suffix = "" if arch == NATIVE_ARCH else f"-{arch}"
    if short == "python":
        return Standin(official, f"{REGISTRY}/python:{tag}{suffix}", "python", arch)
    if short == "uv":
        return Standin(official, f"{REGISTRY}/uv:{tag}{suffix}", "uv", arch)
    if short in ("ubuntu", "debian"):
        return Standin(official, f"{REGISTRY}/generic-os:{SUITE}{suffix}", "os", arch)
    raise StandinError(f"no stand-in recipe for {official!r}")


def _debian_mirror() -> str:
    for line in SOURCES.read_text().splitlines():
        if line.startswith("URIs:") and line.rstrip().endswith("/debian"):
            return line.split()[1]
    raise StandinError(f"no Debian mirror found in {SOURCES}")


def _debootstrap_import(standin: Standin, packages: list[str], hooks: list[str], cmd: str) -> None:
    """mmdebstrap a minbase root filesystem and ``docker import`` it, as Debian does."""
    if shutil.which("mmdebstrap") is None:
        raise StandinError(
            "mmdebstrap is needed to make stand-in images: apt-get install mmdebstrap"
        )
    # A foreign architecture's maintainer scripts run under qemu (offline/qemu-arm64).
    command = ["mmdebstrap", f"--arch={standin.arch}", "--variant=minbase", "--quiet"]
    command += ["--format=tar"]
    command += [f"--include={','.join(packages)}"] if packages else []
    command += [f"--dpkgopt={rule}" for rule in DPKG_EXCLUDES]
    command += [f"--customize-hook={hook}" for hook in [*hooks, 'rm -rf "$1"/var/lib/apt/lists/*']]
    command += [SUITE, "-", _debian_mirror()]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as rootfs:
        imported = subprocess.run(
            [
                "docker",
                "import",
                "--platform",
                standin.platform,
                "-c",
                f"ENV {ENV_PATH}",
                "-c",
                "ENV LANG=C.UTF-8",
                "-c",
                f'CMD ["{cmd}"]',
                "-c",
                f"LABEL {LABEL}={RECIPE}",
                "-",
                standin.name,
            ],
            stdin=rootfs.stdout,
            capture_output=True,
            text=True,
        )
    if rootfs.returncode or imported.returncode:
        raise StandinError(f"making {standin.name} failed: {imported.stderr.strip()}")


def _build(standin: Standin, dockerfile: str, context: Path | None = None) -> None:
    """Build ``dockerfile``, given on stdin, as the stand-in; a context only when it copies
    files."""
    where = ["--file", "-", str(context)] if context else ["-"]
    command = ["docker", "buildx", "build", "--load", "--quiet", "--platform", standin.platform]
    built = subprocess.run(
        [*command, "--tag", standin.name, *where],
        input=dockerfile,
        capture_output=True,
        text=True,
    )
    if built.returncode:
        raise StandinError(f"making {standin.name} failed: {built.stderr.strip()}")


def _make_python(standin: Standin) -> None:
    """Debian's Python with pip, laid out like the official image; the full variant adds the
    compilers and headers that the official one inherits from buildpack-deps."""
    tag = standin.name.rsplit(":", 1)[1]
    version = re.match(r"\d+\.\d+", tag)
    version = version.group(0) if version else DEBIAN_PYTHON
    packages = [f"python{version}", "python3-pip", "ca-certificates"]
    if "slim" not in tag:
        packages += FULL_VARIANT_PACKAGES
    # The official images keep Python and pip under /usr/local, and do not refuse pip installs.
    hooks = [
        f'ln -s /usr/bin/{target} "$1"/usr/local/bin/{name}'
        for name, target in [
            (f"python{version}", f"python{version}"),
            ("python3", f"python{version}"),
            ("python", f"python{version}"),
            ("pip", "pip3"),
        ]
    ]
    hooks.append(f'rm -f "$1"/usr/lib/python{version}/EXTERNALLY-MANAGED')
    _debootstrap_import(standin, packages, hooks, "python3")


def _make_os(standin: Standin) -> None:
    _debootstrap_import(standin, [], [], "bash")


def _make_uv(standin: Standin) -> None:
    """An image FROM scratch holding uv and uvx, taken from the uv wheel on PyPI for the
    stand-in's architecture."""
    version = standin.name.rsplit(":", 1)[1].removesuffix(f"-{standin.arch}")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        subprocess.run(
            [
                "uv",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--python-platform",
                UV_WHEEL_PLATFORMS[standin.arch],
                "--target",
                target / "wheel",
                f"uv=={version}",
            ],
            check=True,
        )
        for binary in ("uv", "uvx"):
            shutil.copy2(target / "wheel" / "bin" / binary, target / binary)
        _build(standin, f"FROM scratch\nLABEL {LABEL}={RECIPE}\nCOPY uv uvx /\n", target)
