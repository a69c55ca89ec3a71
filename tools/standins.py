"""Stand-in base images made from Debian packages, for machines that reach no registry.

Each stand-in carries a name of its own, never an official one: a user who later goes online
must not build on a stand-in by mistake. Recipes: ../shared/MACHINE.md, section 2.
"""

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SUITE = "trixie"
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


class StandinError(RuntimeError):
    """A stand-in base image could not be made."""


@dataclass(frozen=True)
class Standin:
    """A local image standing in for ``official``, made by ``kind``'s recipe."""

    official: str
    name: str
    kind: str

    def exists(self) -> bool:
        return _image_exists(self.name)

    def make(self) -> None:
        {"python": _make_python, "os": _make_os, "uv": _make_uv}[self.kind](self)


def standin_for(official: str) -> Standin:
    """The stand-in of an official base image named in a Dockerfile's ARG default."""
    repository, _, tag = official.rpartition(":") if ":" in official else (official, "", "")
    short = repository.rsplit("/", 1)[-1]
    if short == "python":
        return Standin(official, f"shortlink-standin/python:{tag}", "python")
    if short == "uv":
        return Standin(official, f"shortlink-standin/uv:{tag}", "uv")
    if short in ("ubuntu", "debian"):
        return Standin(official, f"shortlink-standin/generic-os:{SUITE}", "os")
    raise StandinError(f"no stand-in recipe for {official!r}")


def _image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


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
    command = ["mmdebstrap", "--variant=minbase", "--quiet", "--format=tar"]
    command += [f"--include={','.join(packages)}"] if packages else []
    command += [f"--dpkgopt={rule}" for rule in DPKG_EXCLUDES]
    command += [f"--customize-hook={hook}" for hook in [*hooks, 'rm -rf "$1"/var/lib/apt/lists/*']]
    command += [SUITE, "-", _debian_mirror()]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as rootfs:
        imported = subprocess.run(
            [
                "docker",
                "import",
                "-c",
                f"ENV {ENV_PATH}",
                "-c",
                "ENV LANG=C.UTF-8",
                "-c",
                f'CMD ["{cmd}"]',
                "-",
                standin.name,
            ],
            stdin=rootfs.stdout,
            capture_output=True,
            text=True,
        )
    if rootfs.returncode or imported.returncode:
        raise StandinError(f"making {standin.name} failed: {imported.stderr.strip()}")


def _make_python(standin: Standin) -> None:
    version = standin.name.rsplit(":", 1)[1].split("-")[0]
    # The official images keep Python under /usr/local; builds and venvs expect it there.
    links = [
        f'ln -s /usr/bin/python{version} "$1"/usr/local/bin/{name}'
        for name in (f"python{version}", "python3", "python")
    ]
    _debootstrap_import(standin, [f"python{version}", "ca-certificates"], links, "python3")


def _make_os(standin: Standin) -> None:
    _debootstrap_import(standin, [], [], "bash")


def _make_uv(standin: Standin) -> None:
    """An image FROM scratch holding uv and uvx, taken from the uv wheel on PyPI."""
    version = standin.name.rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        subprocess.run(
            [
                "uv",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                target / "wheel",
                f"uv=={version}",
            ],
            check=True,
        )
        for binary in ("uv", "uvx"):
            shutil.copy2(target / "wheel" / "bin" / binary, target / binary)
        (target / "Dockerfile").write_text("FROM scratch\nCOPY uv uvx /\n")
        built = subprocess.run(
            ["docker", "build", "--quiet", "--tag", standin.name, folder],
            capture_output=True,
            text=True,
        )
    if built.returncode:
        raise StandinError(f"making {standin.name} failed: {built.stderr.strip()}")
