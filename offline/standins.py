"""Stand-in base images made from Debian packages, for machines that reach no registry.

Each stand-in carries a name of its own, never an official one: a user who later goes online
must not build on a stand-in by mistake. The build substitutes it for the official name in
the Dockerfile's FROM line with a BuildKit named context (tools/images.py).
"""

import ast
import hashlib
import io
import platform
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
SUITE = "trixie"
DEBIAN_RELEASE = "13"
# trixie's Python, for stand-ins of tags that name no version (`python`, `python:slim`).
DEBIAN_PYTHON = "3.13"
# Where a Python trixie lacks comes from (MACHINE.md, section 8): forky, Debian's testing, whose
# python3.14 is the build that will migrate into Debian; sid only runs ahead of it. Its snapshot
# on the mirror reads as expired, hence the apt option.
NEWER_PYTHON_SUITE = "forky"
NEWER_PYTHON_APT = ['Acquire::Check-Valid-Until "false"']
# Debian's packages of that Python: the interpreter, its standard library, its C headers with
# python-config and the config folder (the -dev package; the compilers and libraries it depends
# on are unpacked but not used), pip's wheel.
NEWER_PYTHON_PACKAGES = [
    "python{v}-minimal",
    "libpython{v}-minimal",
    "libpython{v}-stdlib",
    "libpython{v}-dev",
    "python{v}",
    "python3-pip-whl",
]
# The sysconfig variables that name the folders the -dev package's files move to (Debian's
# /usr/include and /usr/lib/pythonX.Y), as the official image names them under /usr/local.
# setuptools looks for the headers at INCLUDEPY and CONFINCLUDEPY first (older versions even
# when that folder does not exist), then where sysconfig's `include` path says.
RELOCATED_CONFIG_VARS = ("INCLUDEDIR", "CONFINCLUDEDIR", "INCLUDEPY", "CONFINCLUDEPY", "LIBPL")
# The official slim image's runtime packages (docker-library/python, 3.14/slim-trixie/Dockerfile:
# `ca-certificates netbase tzdata`), then the trixie libraries those Python packages link
# (their Depends, bar libc6 and media-types, which the official image lacks).
RELOCATED_PYTHON_BASE = [
    "ca-certificates",
    "netbase",
    "tzdata",
    "libbz2-1.0",
    "libdb5.3t64",
    "libexpat1",
    "libffi8",
    "liblzma5",
    "libncursesw6",
    "libreadline8t64",
    "libsqlite3-0",
    "libssl3t64",
    "libtinfo6",
    "libuuid1",
    "libzstd1",
    "zlib1g",
]
# Extension modules of the newer suite's build that need a newer glibc than trixie's (2.41):
# termios wants GLIBC_2.42 (cfsetispeed...). Left out of the stand-in; any other that fails to
# load fails the recipe.
NEEDS_NEWER_GLIBC = {"termios"}
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
# gcr.io/distroless/python3-debian13, as GoogleContainerTools/distroless defines it (read at commit
# cd080764: static/config.bzl, base/config.bzl, cc/config.bzl, python3/config.bzl, whose list
# private/repos/deb/trixie_python.yaml repeats): each layer's Debian packages, unpacked, no
# maintainer script run. No shell, no coreutils, no dpkg, no apt among them.
DISTROLESS_PACKAGES = {
    "static": ["base-files", "netbase", "tzdata", "tzdata-legacy", "media-types"],
    "base": ["libc6", "libssl3t64", "libzstd1", "zlib1g"],
    "cc": ["libgomp1", "libstdc++6", "libgcc-s1", "gcc-14-base"],
    "python3": [
        "libbz2-1.0",
        "libdb5.3t64",
        "libexpat1",
        "liblzma5",
        "libsqlite3-0",
        "libuuid1",
        "libncursesw6",
        "libtinfo6",
        "zlib1g",
        "libcom-err2",
        "libcrypt1",
        "libc-bin",
        "libgssapi-krb5-2",
        "libk5crypto3",
        "libkeyutils1",
        "libkrb5-3",
        "libkrb5support0",
        "libnsl2",
        "libreadline8t64",
        "libtirpc3t64",
        "libffi8",
        f"libpython{DEBIAN_PYTHON}-minimal",
        f"libpython{DEBIAN_PYTHON}-stdlib",
        f"python{DEBIAN_PYTHON}-minimal",
        f"python{DEBIAN_PYTHON}-venv",
    ],
}
# What distroless adds beyond the packages' files (common/BUILD.bazel, static/static.bzl,
# python3/python.bzl): its users, /tmp, the CA bundle (generated, as ca-certificates does), the
# linker cache that ctypes.util.find_library reads, python and python3 links.
DISTROLESS_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    "etc/group": "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n",
    "etc/nsswitch.conf": "passwd: compat\ngroup: compat\nshadow: compat\ngshadow: files\n"
    "hosts: files dns\nnetworks: files\nprotocols: db files\nservices: db files\n"
    "ethers: db files\nrpc: db files\nnetgroup: nis\n",
}
DISTROLESS_GENERATED = ("etc/ssl/certs/ca-certificates.crt", "etc/ld.so.cache")
# The merged-/usr links (bin -> usr/bin...); the ELF interpreter is reached through lib64.
ROOT_LINKS = ("bin", "lib", "lib64", "sbin")
NONROOT = 65532
# Folders distroless makes, with their modes and owners.
ADDED_FOLDERS = {
    "tmp": (0o1777, 0),
    "root": (0o700, 0),
    "home": (0o755, 0),
    "home/nonroot": (0o700, NONROOT),
}
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

# What Debian's and Ubuntu's official images configure apt and dpkg with, so that a layer keeps
# no package cache (debuerreotype/debuerreotype@7de510f, scripts/debuerreotype-minimizing-config;
# comments left out): without it, each `apt-get install` layer keeps apt's ~100 MB binary caches
# (/var/cache/apt/*.bin) and the .deb files, which the official images never do.
DOCKER_APT_CONFIG = {
    "etc/apt/apt.conf.d/docker-clean": [
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb'
        ' /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb'
        ' /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
        'Dir::Cache::pkgcache "";',
        'Dir::Cache::srcpkgcache "";',
    ],
    "etc/apt/apt.conf.d/docker-autoremove-suggests": [
        'Apt::AutoRemove::SuggestsImportant "false";'
    ],
    "etc/apt/apt.conf.d/docker-gzip-indexes": ['Acquire::GzipIndexes "true";'],
    "etc/apt/apt.conf.d/docker-no-languages": ['Acquire::Languages "none";'],
    "etc/dpkg/dpkg.cfg.d/docker-apt-speedup": ["force-unsafe-io"],
    "usr/sbin/policy-rc.d": ["#!/bin/sh", "exit 101"],
}
# The hooks that write it into a root filesystem ("$1" in mmdebstrap's customize hooks).
DOCKER_APT_HOOKS = [
    f'printf "%s\\n" {" ".join(shlex.quote(line) for line in lines)} > "$1"/{path}'
    for path, lines in DOCKER_APT_CONFIG.items()
] + [
    'chmod 0755 "$1"/usr/sbin/policy-rc.d',
    # mmdebstrap's own clean-up asks apt where its caches are, which this config now says is
    # nowhere: the caches of the install it just made are deleted here instead.
    'rm -f "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb',
]


# Trixie's PostgreSQL major (its `postgresql` package depends on postgresql-17): the one a stand-in
# of the official `postgres` image can have, as `postgres:17-trixie` (or `postgres:17`).
DEBIAN_POSTGRES = "17"
# The official image's ids of its postgres user and group (docker-library/postgres,
# 17/trixie/Dockerfile: `groupadd -r postgres --gid=999`, `useradd -r -g postgres --uid=999`).
POSTGRES_UID = 999
# What the official image installs beside PostgreSQL and keeps: gosu (here Debian's build), less
# (psql's pager), xz-utils and zstd (compressed initdb.d scripts); passwd for the user, as
# debian:trixie-slim has it. The locales come later, with their files (_make_postgres).
POSTGRES_PACKAGES = ["gosu", "less", "passwd", "xz-utils", "zstd"]
# The stand-in's entrypoint (bash): its bytes are part of the recipe (RECIPE).
POSTGRES_ENTRYPOINT = Path(__file__).with_name("postgres-entrypoint.sh")
POSTGRES_DATA = "/var/lib/postgresql/data"


# Under a registry host that cannot exist (RFC 2606): a stand-in is never mistaken for an
# official image, and no build can ever pull one from somewhere else.
REGISTRY = "standin.invalid"
# Stand-ins carry the hash of the recipes, in their tag and a label: a changed recipe makes new
# ones beside the old, which other clones on the same engine may still use (never removed here;
# docs, "Building the images", says how to remove those no longer wanted). The hash is of the
# code, not the file: comments, docstrings and formatting change nothing. Files a recipe copies
# into a stand-in count byte for byte.
LABEL = "standin.recipe"


def _recipe_hash() -> str:
    tree = ast.parse(Path(__file__).read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        if docstring and isinstance(first.value.value, str):
            node.body = body[1:] or [ast.Pass()]
    digest = hashlib.sha256(ast.dump(tree).encode())
    digest.update(POSTGRES_ENTRYPOINT.read_bytes())
    return digest.hexdigest()[:12]


RECIPE = _recipe_hash()
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
        """Make it, under its recipe's tag; stand-ins of other recipes are left as they are."""
        recipes = {
            "python": _make_python,
            "relocated-python": _make_relocated_python,
            "os": _make_os,
            "uv": _make_uv,
            "distroless-python": _make_distroless_python,
            "distroless-cc": _make_distroless_cc,
            "postgres": _make_postgres,
        }
        recipes[self.kind](self)


def standin_for(official: str, arch: str = NATIVE_ARCH) -> Standin:
    """The stand-in of an official base image named in a Dockerfile's FROM line, for one
    architecture (Debian's name: amd64, arm64).

    An official tag names one image index for every platform; a stand-in is one platform's
    image, so another architecture's carries its name in the tag, and every stand-in its
    recipe's hash: `...:3.13-slim-trixie-arm64-r0123456789ab`.
    """
    repository, _, tag = official.rpartition(":") if ":" in official else (official, "", "latest")
    short = repository.rsplit("/", 1)[-1]
    suffix = ("" if arch == NATIVE_ARCH else f"-{arch}") + f"-r{RECIPE}"
    if short == "python":
        version = re.match(r"\d+\.\d+", tag)
        kind = "relocated-python" if version and version.group(0) != DEBIAN_PYTHON else "python"
        return Standin(official, f"{REGISTRY}/python:{tag}{suffix}", kind, arch)
    if short == "uv":
        return Standin(official, f"{REGISTRY}/uv:{tag}{suffix}", "uv", arch)
    if short == f"python3-debian{DEBIAN_RELEASE}":
        return Standin(official, f"{REGISTRY}/{short}:{tag}{suffix}", "distroless-python", arch)
    if short == f"cc-debian{DEBIAN_RELEASE}":
        return Standin(official, f"{REGISTRY}/{short}:{tag}{suffix}", "distroless-cc", arch)
    if short == "postgres":
        # Only trixie's major, under the tags that name it and no other minor or variant.
        if not re.fullmatch(rf"{DEBIAN_POSTGRES}(-{SUITE})?", tag):
            raise StandinError(
                f"no stand-in recipe for {official!r}: Debian {SUITE} has PostgreSQL "
                f"{DEBIAN_POSTGRES} only, as postgres:{DEBIAN_POSTGRES}-{SUITE}"
            )
        return Standin(official, f"{REGISTRY}/postgres:{tag}{suffix}", "postgres", arch)
    if short in ("ubuntu", "debian"):
        return Standin(official, f"{REGISTRY}/generic-os:{SUITE}{suffix}", "os", arch)
    raise StandinError(f"no stand-in recipe for {official!r}")


def _debian_mirror() -> str:
    for line in SOURCES.read_text().splitlines():
        if line.startswith("URIs:") and line.rstrip().endswith("/debian"):
            return line.split()[1]
    raise StandinError(f"no Debian mirror found in {SOURCES}")


def _mmdebstrap(
    standin: Standin,
    packages: list[str],
    hooks: list[str],
    *,
    suite: str = SUITE,
    target: str = "-",
    variant: str = "minbase",
    aptopts: tuple[str, ...] = (),
) -> list[str]:
    """The command that writes a minbase root filesystem with ``packages`` as a tar to stdout
    (or to ``target``, a folder, when it names one)."""
    if shutil.which("mmdebstrap") is None:
        raise StandinError(
            "mmdebstrap is needed to make stand-in images: apt-get install mmdebstrap"
        )
    # A foreign architecture's maintainer scripts run under qemu (offline/qemu-arm64).
    command = ["mmdebstrap", f"--arch={standin.arch}", f"--variant={variant}", "--quiet"]
    command += ["--format=tar" if target == "-" else "--format=directory"]
    command += [f"--aptopt={option}" for option in aptopts]
    command += [f"--include={','.join(packages)}"] if packages else []
    command += [f"--dpkgopt={rule}" for rule in DPKG_EXCLUDES]
    hooks = [*DOCKER_APT_HOOKS, *hooks, 'rm -rf "$1"/var/lib/apt/lists/*']
    command += [f"--customize-hook={hook}" for hook in hooks]
    return [*command, suite, target, _debian_mirror()]


def _import(standin: Standin, rootfs: IO[bytes], changes: list[str]) -> None:
    """``docker import`` a root filesystem tar, as Debian makes its images, with ``changes``."""
    command = ["docker", "import", "--platform", standin.platform]
    for change in [*changes, f"LABEL {LABEL}={RECIPE}"]:
        command += ["-c", change]
    imported = subprocess.run(
        [*command, "-", standin.name], stdin=rootfs, capture_output=True, text=True
    )
    if imported.returncode:
        raise StandinError(f"making {standin.name} failed: {imported.stderr.strip()}")


def _debootstrap_import(standin: Standin, packages: list[str], hooks: list[str], cmd: str) -> None:
    """mmdebstrap a minbase root filesystem and ``docker import`` it, as Debian does."""
    with subprocess.Popen(_mmdebstrap(standin, packages, hooks), stdout=subprocess.PIPE) as rootfs:
        _import(standin, rootfs.stdout, [f"ENV {ENV_PATH}", "ENV LANG=C.UTF-8", f'CMD ["{cmd}"]'])
    if rootfs.returncode:
        raise StandinError(f"making {standin.name} failed: mmdebstrap exited {rootfs.returncode}")


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
    compilers and headers that the official one inherits from buildpack-deps.

    For the tags that name no version, which only the journey's first steps use (`python`,
    `python:slim`: the lesson is that such a tag moves). It is not as faithful as the relocated
    one, and says so here, in one place: trixie's Python 3.13, where the official `latest` has
    moved on to 3.15; Python under /usr with links from /usr/local/bin; Debian's standard
    library with its bytecode, which the official image deletes (so these steps start faster
    than on the official image). Steps 2 on, and every image the kernel builds, use the
    relocated stand-in.
    """
    tag = standin.official.rsplit(":", 1)[1] if ":" in standin.official else "latest"
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


def _make_relocated_python(standin: Standin) -> None:
    """`python:X.Y-slim-trixie` for a Python trixie lacks (3.14): Debian's own build of it, from
    forky (NEWER_PYTHON_SUITE), moved to where the official image keeps Python, on trixie.

    What it shares with the official image (docker-library/python, `3.14/slim-trixie/Dockerfile`),
    each checked on the stand-in a build used by offline/test_base_images.py: trixie's
    packages and glibc, with the runtime packages `ca-certificates netbase tzdata`; Python under
    /usr/local (`python3.14`, `python3` and `python` links, `pip3`/`pip3.14` and a `pip` link,
    `pydoc`), `ENV PATH` with /usr/local/bin first, `PYTHON_VERSION`, `CMD ["python3"]`; no
    bytecode and no test folders under /usr/local; pip installs into
    /usr/local/lib/python3.14/site-packages, unrefused (no EXTERNALLY-MANAGED); venvs made from it
    load ssl, sqlite3, ctypes, zoneinfo, lzma, bz2, zlib, uuid and decimal; the C headers of its
    own build in /usr/local/include/python3.14, where sysconfig (the `include` path, INCLUDEPY,
    CONFINCLUDEPY), in a venv too, and `python3-config --includes` (with `python3-config` and
    `python-config` links) say they are, so a builder stage that adds a compiler
    (`apt-get install gcc libc6-dev`) builds an sdist's C extension with pip or uv (tried by
    hand; the check reads the headers and compiles nothing).

    Its remaining differences from the official image, all of them (docs, "Building the images",
    links here):

    - The interpreter is Debian's build (GCC 16, Debian's patches, 3.14.8 here), not python.org's
      tarball built with docker-library's flags (`--enable-optimizations --with-lto`, the patch
      release docker-library pins). Speed figures compare images on one base, never this base
      against the official one.
    - It is linked statically (Debian's `/usr/bin/python3.14`): no `libpython3.14.so` in
      /usr/local/lib (the official one is `--enable-shared`, with `-rpath=$ORIGIN/../lib`), and
      no libpython at all to embed Python in a program (`python3-config --embed --libs` names
      `-lpython3.14`, which is not there; the static one is deleted with the `libpython*.a` the
      official clean-up deletes). Extension modules need none.
    - Debian's `site` module, frozen into the interpreter, puts
      /usr/local/lib/python3.14/dist-packages on sys.path, never site-packages: dist-packages is a
      link to site-packages here, so `pip show` reports the dist-packages path.
      `site.getsitepackages()` also names Debian's /usr/local/local/... and
      /usr/local/lib/python3/dist-packages, which do not exist. Venvs are not affected.
    - `sysconfig` is Debian's (its extra `deb_system` and `posix_local` schemes; the default put
      back to `posix_prefix`); `_sysconfigdata` describes Debian's build (LIBDIR, BINDIR, the
      compiler and its flags: CC is `<triplet>-gcc`, `x86_64-linux-gnu-gcc` here, which trixie's
      `gcc` package also provides), but for the folders of RELOCATED_CONFIG_VARS, which it names
      under /usr/local as the official one does. Debian's `build-details..<triplet>.json` and
      `_sysconfig_vars_*.json` still describe Debian's /usr layout (the official image has
      `build-details.json`).
    - The headers, `python3.14-config` and the config folder are Debian's (`libpython3.14-dev`,
      the same build as the interpreter; pyconfig.h is its architecture's, in place of Debian's
      multiarch wrapper). No pkg-config files (`python-3.14.pc`, `python-3.14-embed.pc` and
      their `python3` links).
    - `termios` is missing: forky's build of it needs glibc 2.42 (trixie has 2.41; every other
      module loads, which the recipe checks). `tty`, `pty` and terminal echo control in `getpass`
      fail or fall back.
    - What Debian ships in other packages is missing: `ensurepip` (so `python -m venv` works only
      with `--without-pip`; uv makes venvs without it), `idlelib` and the `idle` links,
      `tkinter` (the official slim image has its module but not Tk, so it fails there too).
    - pip is Debian's repack of pip (`python3-pip-whl`, 26.2.2 here), installed from its wheel,
      not the pip that CPython's ensurepip bundles.
    - The libraries Python links are the packages Debian's Python depends on (libdb5.3t64,
      libreadline8t64...), where the official image keeps those `ldd` finds for its own build
      (libgdbm...); both are trixie's.
    - The OS is a minbase trixie made by mmdebstrap from the archive's snapshot, with the slim
      images' exclusions (docs but copyright files, man pages, locales, info), not debuerreotype's
      `debian:trixie-slim`; no `PYTHON_SHA256`; a `standin.recipe` label.
    """
    version = re.match(r"\d+\.\d+", standin.official.rsplit(":", 1)[1]).group(0)
    with tempfile.TemporaryDirectory() as folder:
        newer, root = Path(folder) / "newer", Path(folder) / "root"
        packages = [name.format(v=version) for name in NEWER_PYTHON_PACKAGES]
        # The newer suite's packages unpacked (with what they depend on, unused): no maintainer
        # script runs, so nothing compiles their bytecode.
        _run(
            standin,
            _mmdebstrap(
                standin,
                packages,
                [],
                suite=NEWER_PYTHON_SUITE,
                target=str(newer),
                variant="extract",
                aptopts=tuple(NEWER_PYTHON_APT),
            ),
        )
        _run(standin, _mmdebstrap(standin, RELOCATED_PYTHON_BASE, [], target=str(root)))
        full_version = _relocate_python(standin, newer, root, version)
        tar = ["tar", "--numeric-owner", "--sort=name", "-C", str(root), "-c", "."]
        with subprocess.Popen(tar, stdout=subprocess.PIPE) as rootfs:
            _import(
                standin,
                rootfs.stdout,
                [f"ENV {ENV_PATH}", f"ENV PYTHON_VERSION={full_version}", 'CMD ["python3"]'],
            )
        if rootfs.returncode:
            raise StandinError(f"making {standin.name} failed: tar exited {rootfs.returncode}")


def _run(standin: Standin, command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise StandinError(f"making {standin.name} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _relocate_python(standin: Standin, newer: Path, root: Path, version: str) -> str:
    """Move Debian's Python ``version`` from the unpacked ``newer`` packages to /usr/local of
    ``root``, as `make install` lays it out in the official image; install pip from Debian's
    wheel; then delete what docker-library deletes. Returns the Python's full version."""
    local = root / "usr/local"
    lib = local / "lib" / f"python{version}"
    shutil.move(newer / f"usr/lib/python{version}", lib)
    shutil.move(newer / f"usr/bin/python{version}", local / "bin" / f"python{version}")
    pydoc = (newer / f"usr/bin/pydoc{version}").read_text()
    (local / "bin" / f"pydoc{version}").write_text(
        pydoc.replace(f"/usr/bin/python{version}", f"/usr/local/bin/python{version}", 1)
    )
    (local / "bin" / f"pydoc{version}").chmod(0o755)
    # The C headers where `make install` puts them. Debian's pyconfig.h only includes its
    # architecture's, from a folder of its own: that one takes its place, as upstream has it.
    include = local / "include" / f"python{version}"
    include.parent.mkdir(exist_ok=True)
    shutil.move(newer / f"usr/include/python{version}", include)
    (pyconfig,) = newer.glob(f"usr/include/*/python{version}/pyconfig.h")
    shutil.copyfile(pyconfig, include / "pyconfig.h")
    # python-config, upstream's shell script, which finds its prefix from where it lies.
    (config,) = newer.glob(f"usr/bin/*-python{version}-config")
    shutil.copy2(config, local / "bin" / f"python{version}-config")
    for link, target in [
        ("python3", f"python{version}"),
        ("python", "python3"),
        ("pydoc3", f"pydoc{version}"),
        ("pydoc", "pydoc3"),
        ("python3-config", f"python{version}-config"),
        ("python-config", "python3-config"),
    ]:
        (local / "bin" / link).symlink_to(target)
    _relocate_config_vars(standin, lib, version)
    # The config folder's link to Debian's shared libpython, which is not shipped. An extension
    # module is not linked with libpython on Linux: the interpreter provides Python's symbols.
    for link in lib.glob("config-*/libpython*.so"):
        link.unlink()
    # Debian's marks: pip refusing to install, and apport's hook.
    (lib / "EXTERNALLY-MANAGED").unlink()
    (lib / "sitecustomize.py").unlink()
    # Debian's sysconfig installs outside a venv into {prefix}/local/lib/.../dist-packages;
    # the official image into {prefix}/lib/pythonX.Y/site-packages (posix_prefix).
    sysconfig = lib / "sysconfig" / "__init__.py"
    source = sysconfig.read_text()
    patched = source.replace("prefix_scheme = 'posix_local'", "prefix_scheme = 'posix_prefix'")
    if patched == source:
        raise StandinError(f"making {standin.name} failed: Debian's sysconfig patch not found")
    sysconfig.write_text(patched)
    # Debian's site module (frozen into the interpreter) puts .../pythonX.Y/dist-packages on
    # sys.path, never site-packages: the one name reaches the other.
    (lib / "site-packages").mkdir()
    (lib / "dist-packages").symlink_to("site-packages")
    for name in NEEDS_NEWER_GLIBC:
        for module in (lib / "lib-dynload").glob(f"{name}.*.so"):
            module.unlink()
    python = f"/usr/local/bin/python{version}"
    wheel = next((newer / "usr/share/python-wheels").glob("pip-*.whl"))
    shutil.copy2(wheel, root / wheel.name)
    # As `make install`'s ensurepip does in the official build: pip installs itself from its
    # wheel, as pip3 and pipX.Y (ENSUREPIP_OPTIONS); docker-library then links pip to pip3.
    _run(
        standin,
        ["chroot", str(root), "env", "ENSUREPIP_OPTIONS=install", python,
         f"/{wheel.name}/pip", "install", "--no-index",
         "--no-compile", "--no-cache-dir", "--disable-pip-version-check",
         "--root-user-action=ignore", f"/{wheel.name}"],
    )  # fmt: skip
    (root / wheel.name).unlink()
    (local / "bin" / "pip").symlink_to("pip3")
    # Every extension module loads on trixie's libraries, or the recipe fails.
    check = (
        "import importlib, pathlib, platform, sysconfig\n"
        "folder = pathlib.Path(sysconfig.get_path('platstdlib')) / 'lib-dynload'\n"
        "for module in sorted(folder.glob('*.so')):\n"
        "    name = module.name.split('.')[0]\n"
        "    if not name.startswith(('_test', 'xxlimited', '_xxtest')):\n"
        "        importlib.import_module(name)\n"
        "print(platform.python_version())\n"
    )
    full_version = _run(standin, ["chroot", str(root), python, "-B", "-c", check]).strip()
    # docker-library's cleanup: no test folders, no bytecode under /usr/local.
    for path in sorted(local.rglob("*"), reverse=True):
        if path.is_dir() and not path.is_symlink() and path.name in ("test", "tests", "idle_test"):
            shutil.rmtree(path)
        elif path.suffix in (".pyc", ".pyo") or path.match("libpython*.a"):
            path.unlink()
    for cache in local.rglob("__pycache__"):
        if not any(cache.iterdir()):
            cache.rmdir()
    return full_version


def _relocate_config_vars(standin: Standin, lib: Path, version: str) -> None:
    """Point RELOCATED_CONFIG_VARS in Debian's sysconfig data (``lib``'s _sysconfigdata_*.py)
    at /usr/local, where `_relocate_python` moved their folders."""
    for data in lib.glob("_sysconfigdata_*.py"):
        if data.is_symlink():
            continue
        source = data.read_text()
        for name in RELOCATED_CONFIG_VARS:
            found = re.search(rf"^    '{name}': '([^']*)',$", source, re.MULTILINE)
            if not found or not found.group(1).startswith("/usr/"):
                raise StandinError(f"making {standin.name} failed: {name} not found in {data}")
            moved = rf"^/usr/(include|lib/python{re.escape(version)})\b"
            value = re.sub(moved, r"/usr/local/\1", found.group(1))
            source = source.replace(found.group(0), f"    '{name}': '{value}',")
        data.write_text(source)


def _make_os(standin: Standin) -> None:
    _debootstrap_import(standin, [], [], "bash")


def _make_uv(standin: Standin) -> None:
    """An image FROM scratch holding uv and uvx, taken from the uv wheel on PyPI for the
    stand-in's architecture."""
    version = standin.official.rsplit(":", 1)[1]
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


def _make_distroless_python(standin: Standin) -> None:
    """Distroless's Python runtime from trixie's packages: only the files those packages own,
    their dpkg status records in status.d (what scanners read; no dpkg to use them), and the
    few files distroless adds. Debian's Python, unpacked and never configured, has no bytecode
    for its standard library: neither has distroless's."""
    _make_distroless(
        standin,
        DISTROLESS_PACKAGES,
        DISTROLESS_GENERATED,
        {"python": f"python{DEBIAN_PYTHON}", "python3": f"python{DEBIAN_PYTHON}"},
        [f'ENTRYPOINT ["/usr/bin/python{DEBIAN_PYTHON}"]', "ENV LANG=C.UTF-8"],
    )


def _make_distroless_cc(standin: Standin) -> None:
    """gcr.io/distroless/cc-debian13 (cc/config.bzl on base/ and static/): the python3 image
    without its Python layer, its ld.so.cache and its python links; no entrypoint."""
    layers = {layer: DISTROLESS_PACKAGES[layer] for layer in ("static", "base", "cc")}
    generated = tuple(path for path in DISTROLESS_GENERATED if path != "etc/ld.so.cache")
    _make_distroless(standin, layers, generated, {}, [])


def _make_distroless(
    standin: Standin,
    layers: dict[str, list[str]],
    generated: tuple[str, ...],
    aliases: dict[str, str],
    changes: list[str],
) -> None:
    """A distroless image of ``layers``' packages, the ``generated`` files, ``aliases`` in
    /usr/bin, and its own image ``changes``."""
    packages = sorted({p for layer in layers.values() for p in layer})
    user = "65532" if standin.official.endswith(":nonroot") else "0"
    with tempfile.TemporaryDirectory() as folder:
        full = Path(folder) / "full.tar"
        with full.open("wb") as out:
            # ca-certificates only to generate the bundle; its own files are left out below.
            made = subprocess.run(
                _mmdebstrap(standin, [*packages, "ca-certificates"], []), stdout=out, check=False
            )
        if made.returncode:
            raise StandinError(f"making {standin.name} failed: mmdebstrap exited {made.returncode}")
        slim = Path(folder) / "distroless.tar"
        _keep_packages(full, slim, packages, generated, aliases)
        with slim.open("rb") as rootfs:
            _import(
                standin,
                rootfs,
                [
                    f"ENV {ENV_PATH}",
                    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
                    f"USER {user}",
                    f"WORKDIR {'/home/nonroot' if user != '0' else '/'}",
                    *changes,
                ],
            )


def _keep_packages(
    source: Path,
    destination: Path,
    packages: list[str],
    generated: tuple[str, ...],
    aliases: dict[str, str],
) -> None:
    """Copy from the ``source`` root filesystem tar only what ``packages`` own, and what
    distroless adds; write their status records to var/lib/dpkg/status.d/ as distroless does."""
    with tarfile.open(source) as full:
        members = {member.name.removeprefix("./").rstrip("/"): member for member in full}

        def text(path: str) -> str:
            return full.extractfile(members[path]).read().decode()

        owned: set[str] = set()
        for package in packages:
            listed = next(
                (
                    f"var/lib/dpkg/info/{n}.list"
                    for n in (package, f"{package}:amd64", f"{package}:arm64")
                    if f"var/lib/dpkg/info/{n}.list" in members
                ),
                None,
            )
            if listed is None:
                raise StandinError(f"{package} was not installed: no dpkg file list")
            owned |= {line.strip("/") for line in text(listed).splitlines() if line.strip("/.")}
        records = {
            re.search(r"^Package: (\S+)", record, re.MULTILINE).group(1): record
            for record in text("var/lib/dpkg/status").split("\n\n")
            if record.strip()
        }
        keep = owned | set(ROOT_LINKS) | set(generated)
        # Parents of everything kept, so no file is left without its folder.
        keep |= {
            str(parent) for path in keep for parent in Path(path).parents if str(parent) != "."
        }
        with tarfile.open(destination, "w", format=tarfile.GNU_FORMAT) as slim:
            for name, member in members.items():
                if name in keep and name not in DISTROLESS_FILES and name not in ADDED_FOLDERS:
                    slim.addfile(member, full.extractfile(member) if member.isfile() else None)

            def add(path: str, data: bytes = b"", mode: int = 0o644, uid: int = 0) -> None:
                info = tarfile.TarInfo(path)
                info.mode, info.uid, info.gid = mode, uid, uid
                if path.endswith("/"):
                    info.name, info.type = path.rstrip("/"), tarfile.DIRTYPE
                else:
                    info.size = len(data)
                slim.addfile(info, io.BytesIO(data) if data else None)

            for path, content in DISTROLESS_FILES.items():
                add(path, content.encode())
            for folder, (mode, uid) in ADDED_FOLDERS.items():
                add(f"{folder}/", mode=mode, uid=uid)
            add("var/lib/dpkg/status.d/", mode=0o755)
            for package in packages:
                add(f"var/lib/dpkg/status.d/{package}", records[package].strip().encode() + b"\n")
            for alias, target in aliases.items():
                link = tarfile.TarInfo(f"usr/bin/{alias}")
                link.type, link.linkname = tarfile.SYMTYPE, target
                slim.addfile(link)


def _make_postgres(standin: Standin) -> None:
    """`postgres:17-trixie`, the database a service runs beside (a profile's
    `[tool.service.database]`, a plain `docker run`: tools/base_images.py's resolve_references
    and image_to_run name it), from trixie's own PostgreSQL packages,
    set up as the official image is (docker-library/postgres, read at commit 6edb0a8c:
    `17/trixie/Dockerfile` and `docker-entrypoint.sh`), with an entrypoint of its own,
    offline/postgres-entrypoint.sh, that does at start what the official one does.

    What it shares with the official image, checked by offline/test_postgres_standin.py on the
    image image_to_run gives: `ENTRYPOINT ["docker-entrypoint.sh"]`, `CMD ["postgres"]`,
    `STOPSIGNAL SIGINT` (the server stops cleanly, exit 0), `EXPOSE 5432`, `VOLUME
    /var/lib/postgresql/data`, `PGDATA`, `PG_MAJOR`, `LANG=en_US.utf8`, PATH ending in
    /usr/lib/postgresql/17/bin; no image USER: the entrypoint starts as root, hands PGDATA and
    /var/run/postgresql to postgres and steps down with gosu, as upstream does (a new volume or a
    bind mount owned by root works; `docker exec` is root, as there); the server is PID 1 as
    postgres, uid and gid 999; it listens on every address (the sample configuration's
    `listen_addresses = '*'`); pg_isready and psql on PATH. On a first start only: without
    POSTGRES_PASSWORD (and without POSTGRES_HOST_AUTH_METHOD=trust), exit 1 with upstream's
    words; the superuser POSTGRES_USER, the database POSTGRES_DB (default: the user); `host all
    all all scram-sha-256` in pg_hba.conf, so another host needs the password (initdb's trust on
    the socket and loopback, inside the container, before it, as upstream);
    /docker-entrypoint-initdb.d/ run once (*.sh run when executable, sourced otherwise; *.sql;
    other files ignored). A PGDATA that holds a cluster is used as it is, with no password
    needed.

    Tried by hand when this was written, not checked: POSTGRES_USER's default `postgres`; each
    setting from its `_FILE` (a secret readable by root only); POSTGRES_INITDB_ARGS; server
    flags as arguments (`-c shared_buffers=64MB`, `--version`); POSTGRES_HOST_AUTH_METHOD=trust
    with upstream's warning and pg_hba.conf lines; *.sql.gz, *.sql.xz and *.sql.zst scripts;
    `--user 999:999`; a bind mount owned by root; UTF8 databases collated en_US.utf8.

    Its remaining differences from the official image, all of them (docs, "Building the images",
    links here):

    - PostgreSQL is Debian's build of trixie's 17 (17.12-0+deb13u1 when this was written; the
      image's PG_VERSION says which), from Debian's archive, not PGDG's build of the newest 17
      from apt.postgresql.org (PG_VERSION `17.9-1.pgdg13+1` at the commit read): the minor
      release may differ. Both are built from Debian's packaging (PGDG's by the same
      maintainers): the same layout and file names.
    - No PGDG apt source, signing key (/usr/local/share/keyrings) or gnupg, which the official
      image keeps from its build: an image derived from it that installs an extension
      (`apt-get install postgresql-17-<name>`) gets trixie's build where Debian has one, and
      fails where only PGDG has it.
    - gosu is Debian's build of 1.17 in /usr/sbin (GOSU_VERSION says 1.17), not tianon's 1.19
      release binary in /usr/local/bin; both on PATH.
    - The entrypoint is its own, with upstream's behaviour but not its every function: no
      nss_wrapper (and no libnss-wrapper), so `--user` with a uid that /etc/passwd lacks fails in
      initdb ("could not look up effective user ID"; `--user 999` and root work); no
      POSTGRES_INITDB_WALDIR; no docker-ensure-initdb.sh or docker-enforce-initdb.sh; it cannot
      be sourced by another script to reuse its functions (an initdb.d script it sources can
      call docker_process_sql and "${psql[@]}", as upstream's, but not upstream's other
      functions).
    - The OS is a minbase trixie made by mmdebstrap from the archive's snapshot, not
      debuerreotype's `debian:trixie-slim`; a `standin.recipe` label. Made and checked on amd64
      only (another architecture's is made the same way, under qemu, untried).
    """
    major = DEBIAN_POSTGRES
    share = "/usr/share/postgresql"
    install = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends"
    # The official Dockerfile's RUN lines, in its order, each run in the root filesystem.
    steps = [
        # The user and group with the official ids, made before postgresql-common's maintainer
        # script would make them with others; its home.
        f"groupadd -r postgres --gid={POSTGRES_UID}",
        f"useradd -r -g postgres --uid={POSTGRES_UID} --home-dir=/var/lib/postgresql"
        " --shell=/bin/bash postgres",
        "install --directory --owner postgres --group postgres --mode 1777 /var/lib/postgresql",
        # The locales' and PostgreSQL's files under /usr/share/locale kept, unlike the other
        # stand-ins (locale.alias, which `localedef -A` reads; the messages' translations);
        # en_US.UTF-8, which LANG names: initdb makes UTF8 databases with that collation.
        r"sed -i '\|^path-exclude=/usr/share/locale/|d' /etc/dpkg/dpkg.cfg.d/99mmdebstrap",
        "if grep -q /usr/share/locale /etc/dpkg/dpkg.cfg.d/99mmdebstrap; then exit 1; fi",
        f"{install} locales",
        "echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen",
        "locale-gen",
        "locale -a | grep -qx en_US.utf8",
        "mkdir /docker-entrypoint-initdb.d",
        # PostgreSQL, without the cluster Debian's packages make at install.
        f"{install} postgresql-common",
        r"sed -ri 's/#(create_main_cluster) .*$/\1 = false/'"
        " /etc/postgresql-common/createcluster.conf",
        f"{install} postgresql-{major}",
        f"/usr/lib/postgresql/{major}/bin/postgres --version | grep -q ' {major}\\.'",
        # The sample configuration initdb copies listens on every address.
        f"dpkg-divert --add --rename --divert {share}/postgresql.conf.sample.dpkg"
        f" {share}/{major}/postgresql.conf.sample",
        f"cp {share}/postgresql.conf.sample.dpkg {share}/postgresql.conf.sample",
        f"ln -s ../postgresql.conf.sample {share}/{major}/",
        rf"""sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" """
        f"{share}/postgresql.conf.sample",
        f"""grep -qF "listen_addresses = '*'" {share}/postgresql.conf.sample""",
        # 1777 until the entrypoint makes it 0700 (any --user can start it).
        f"install --directory --owner postgres --group postgres --mode 1777 {POSTGRES_DATA}",
    ]
    with tempfile.TemporaryDirectory() as folder:
        versions = Path(folder) / "versions"
        hooks = [
            f'chroot "$1" sh -euc {shlex.quote("; ".join(steps))} >&2',
            f"install -m 0755 {shlex.quote(str(POSTGRES_ENTRYPOINT))}"
            ' "$1"/usr/local/bin/docker-entrypoint.sh',
            f"chroot \"$1\" dpkg-query --show --showformat='${{Package}} ${{Version}}\\n'"
            f" postgresql-{major} gosu > {shlex.quote(str(versions))}",
        ]
        rootfs = Path(folder) / "rootfs.tar"
        with rootfs.open("wb") as out:
            made = subprocess.run(
                _mmdebstrap(standin, POSTGRES_PACKAGES, hooks), stdout=out, check=False
            )
        if made.returncode:
            raise StandinError(f"making {standin.name} failed: mmdebstrap exited {made.returncode}")
        version = dict(line.split() for line in versions.read_text().splitlines())
        # The socket's folder (mmdebstrap empties /run, /var/run's target, at its end).
        with tarfile.open(rootfs, "a") as tar:
            run = tar.getmember("./run")
            socket_folder = tarfile.TarInfo("./run/postgresql")
            socket_folder.type, socket_folder.mode, socket_folder.mtime = (
                tarfile.DIRTYPE,
                0o3777,
                run.mtime,
            )
            socket_folder.uid = socket_folder.gid = POSTGRES_UID
            socket_folder.uname = socket_folder.gname = "postgres"
            tar.addfile(socket_folder)
        with rootfs.open("rb") as tar:
            _import(
                standin,
                tar,
                [
                    f"ENV {ENV_PATH}:/usr/lib/postgresql/{major}/bin",
                    f"ENV GOSU_VERSION={version['gosu'].split('-')[0]}",
                    "ENV LANG=en_US.utf8",
                    f"ENV PG_MAJOR={major}",
                    f"ENV PG_VERSION={version[f'postgresql-{major}']}",
                    f"ENV PGDATA={POSTGRES_DATA}",
                    f"VOLUME {POSTGRES_DATA}",
                    'ENTRYPOINT ["docker-entrypoint.sh"]',
                    "STOPSIGNAL SIGINT",
                    "EXPOSE 5432",
                    'CMD ["postgres"]',
                ],
            )
