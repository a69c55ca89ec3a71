"""The stand-ins behave as the official images where it changes a result: the official
`python:X.Y-slim-*` image's properties that change what this project measures, checked on the
base image `nox -s build` used for it (a stand-in made where no registry answers, or the
official image itself). offline/standins.py, `_make_relocated_python`, lists what a stand-in
still differs in. `nox -s test` runs them while offline/ is present.

Each property cites the line of docker-library/python's Dockerfile it comes from (read at commit
4f070595; `3.14/slim-trixie/Dockerfile`, the same lines in every `X.Y/slim-*` variant). Only the
tags of a Python trixie lacks are checked: `python:slim` and `python` stand in for the journey's
first steps with Debian's own packages (offline/standins.py, `_make_python`).
"""

import json
import re
import subprocess

import pytest

from tools import base_images, engine
from tools.images import OPTIMIZED

SOURCE = "docker-library/python@4f070595 3.14/slim-trixie/Dockerfile"
# What one `python3` run inside the base image reports about itself.
PROBE = r"""
import json, os, pathlib, re, shutil, site, sqlite3, struct, subprocess, sys, sysconfig, tempfile
local = pathlib.Path("/usr/local")
headers = pathlib.Path(sysconfig.get_config_var("INCLUDEPY") or "/nonexistent")
def define(header, name):
    found = (headers / header).is_file() and re.search(
        rf"^#define {name}\s+(.+)$", (headers / header).read_text(), re.MULTILINE)
    return found.group(1).strip().strip('"') if found else None
config = shutil.which("python3-config")
venv = pathlib.Path(tempfile.mkdtemp()) / "venv"
made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
probe = "import ssl, sqlite3, ctypes, ctypes.util, zoneinfo, lzma, bz2, zlib, uuid, decimal; " \
    "ssl.create_default_context(); ctypes.CDLL(ctypes.util.find_library('c')); " \
    "zoneinfo.ZoneInfo('Europe/Paris'); sqlite3.connect(':memory:').execute('select 1')"
in_venv = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True)
venv_include = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print("
    "sysconfig.get_path('include'), sysconfig.get_config_var('INCLUDEPY'))"],
    capture_output=True, text=True)
print(json.dumps({
    "executable": shutil.which("python3"),
    "prefix": sys.prefix,
    "stdlib": sysconfig.get_path("stdlib"),
    "purelib": sysconfig.get_path("purelib"),
    "version": sys.version.split()[0],
    "env_version": os.environ.get("PYTHON_VERSION"),
    "bytecode": sorted(str(p) for p in local.rglob("*") if p.suffix in (".pyc", ".pyo"))[:5],
    "test_folders": sorted(
        str(p) for p in local.rglob("*")
        if p.is_dir() and p.name in ("test", "tests", "idle_test")
    )[:5],
    "links": {n: os.readlink(local / "bin" / n) if (local / "bin" / n).is_symlink() else None
              for n in ("python", "pip", "pydoc")},
    "config_links": {n: os.readlink(local / "bin" / n) if (local / "bin" / n).is_symlink()
                     else None for n in ("python-config", "python3-config")},
    "config_includes": config and subprocess.run(
        [config, "--includes"], capture_output=True, text=True).stdout.strip(),
    "include": sysconfig.get_path("include"),
    "include_vars": [sysconfig.get_config_var(n) for n in ("INCLUDEPY", "CONFINCLUDEPY")],
    "venv_include": venv_include.stdout.split(),
    "python_h": (headers / "Python.h").is_file(),
    "header_version": define("patchlevel.h", "PY_VERSION"),
    "header_pointer_size": define("pyconfig.h", "SIZEOF_VOID_P"),
    "pointer_size": str(struct.calcsize("P")),
    "pip": subprocess.run(["pip3", "--version"], capture_output=True, text=True).stdout,
    "externally_managed": (pathlib.Path(sysconfig.get_path("stdlib"))
                           / "EXTERNALLY-MANAGED").exists(),
    "sqlite_extensions": hasattr(sqlite3.Connection, "enable_load_extension"),
    "venv": made.returncode,
    "venv_modules": in_venv.returncode,
    "venv_error": in_venv.stderr.decode()[-300:],
    "apt_config": subprocess.run(["apt-config", "dump"], capture_output=True, text=True).stdout,
}))
"""


def _official_slim_pythons(bases: dict[str, str]) -> dict[str, str]:
    """Official slim Python tag -> the image used for it, for tags naming a version."""
    return {
        official: used
        for official, used in bases.items()
        if re.fullmatch(r"python:\d+\.\d+(\.\d+)?-slim(-\w+)?", official)
    }


@pytest.fixture(scope="module")
def bases() -> dict[str, str]:
    """Official base image name -> the image `nox -s build` used (official or stand-in)."""
    return base_images.used()


@pytest.fixture(scope="module")
def facts(bases: dict[str, str]) -> dict[str, dict]:
    """Official tag -> what its base image reports (PROBE), as root, without a network."""
    slim = _official_slim_pythons(bases)
    assert slim, f"no python:X.Y-slim base among the images' bases: {sorted(bases)}"
    found = {}
    for official, used in slim.items():
        command = ["docker", "run", "--rm", "--network=none", "--env", "PYTHONDONTWRITEBYTECODE=1"]
        probe = subprocess.run(
            [*command, used, "python3", "-c", PROBE], capture_output=True, text=True
        )
        assert probe.returncode == 0, f"{used}: {probe.stderr.strip()[-500:]}"
        packages = subprocess.run(
            [*command, used, "dpkg-query", "--show", "--showformat=${Package} ${Status}\\n"],
            capture_output=True,
            text=True,
        )
        found[official] = json.loads(probe.stdout) | {
            "image": used,
            "config": engine.inspect(used)["Config"],
            "installed": {
                line.split()[0] for line in packages.stdout.splitlines() if "installed" in line
            },
        }
    return found


def test_the_images_use_a_slim_python_base_these_checks_see(bases: dict[str, str]) -> None:
    """The optimized image's runtime base is one of the checked tags."""
    runtime = {OPTIMIZED.runtime_base()}
    assert runtime <= set(_official_slim_pythons(bases)), runtime


def test_python_lives_under_usr_local(facts: dict[str, dict]) -> None:
    """`./configure` without --prefix (line 61): /usr/local; `ENV PATH /usr/local/bin:$PATH`
    (line 10) puts that python3 first."""
    for official, seen in facts.items():
        assert seen["executable"] == "/usr/local/bin/python3", (official, seen["executable"])
        assert seen["prefix"] == "/usr/local", (official, seen["prefix"])
        version = ".".join(seen["version"].split(".")[:2])
        assert seen["stdlib"] == f"/usr/local/lib/python{version}", (official, seen["stdlib"])
        assert seen["config"]["Env"][0].startswith("PATH=/usr/local"), seen["config"]["Env"]


def test_the_tag_names_the_python_it_runs(facts: dict[str, dict]) -> None:
    """`ENV PYTHON_VERSION` (line 22) is the version the image runs; the tag's X.Y is it."""
    for official, seen in facts.items():
        assert seen["env_version"] == seen["version"], (official, seen["env_version"])
        assert seen["version"].startswith(official.split(":")[1].split("-")[0] + "."), official


def test_no_bytecode_and_no_test_folders_under_usr_local(facts: dict[str, dict]) -> None:
    """`find /usr/local -depth ... -name test -o -name tests -o -name idle_test ... -name '*.pyc'
    -o -name '*.pyo' ... -exec rm -rf` (lines 109-113): the standard library has no bytecode,
    so every start compiles what it imports unless the image adds it."""
    for official, seen in facts.items():
        assert seen["bytecode"] == [], (official, seen["bytecode"])
        assert seen["test_folders"] == [], (official, seen["test_folders"])


def test_the_c_headers_are_the_interpreters_where_sysconfig_says(facts: dict[str, dict]) -> None:
    """`make install` (after the build, before the clean-up of lines 109-113, which keeps them)
    puts the C headers in /usr/local/include/pythonX.Y; sysconfig's `include` path, INCLUDEPY
    and CONFINCLUDEPY (what setuptools reads) name that folder, in a venv made from it too: a
    builder stage that adds a compiler builds an sdist's C extension against them. Python.h is
    there; patchlevel.h's PY_VERSION is the interpreter's; pyconfig.h is the build's own (its
    SIZEOF_VOID_P the interpreter's pointer size), not a wrapper that includes another."""
    for official, seen in facts.items():
        version = ".".join(seen["version"].split(".")[:2])
        headers = f"/usr/local/include/python{version}"
        assert seen["include"] == headers, (official, seen["include"])
        assert seen["include_vars"] == [headers, headers], (official, seen["include_vars"])
        assert seen["venv_include"] == [headers, headers], (official, seen["venv_include"])
        assert seen["python_h"], (official, f"no Python.h in {headers}")
        assert seen["header_version"] == seen["version"], (official, seen["header_version"])
        assert seen["header_pointer_size"] == seen["pointer_size"], (
            official,
            seen["header_pointer_size"],
        )


def test_python_config_names_those_headers(facts: dict[str, dict]) -> None:
    """`make install` installs pythonX.Y-config and its python3-config link; the loop of lines
    137-143 links python-config to python3-config. `python3-config --includes`, which a build
    compiles an extension with, names the headers' folder."""
    for official, seen in facts.items():
        version = ".".join(seen["version"].split(".")[:2])
        assert seen["config_links"] == {
            "python-config": "python3-config",
            "python3-config": f"python{version}-config",
        }, (official, seen["config_links"])
        headers = f"/usr/local/include/python{version}"
        assert seen["config_includes"] == f"-I{headers} -I{headers}", (
            official,
            seen["config_includes"],
        )


def test_the_runtime_packages_are_installed(facts: dict[str, dict]) -> None:
    """`apt-get install -y --no-install-recommends ca-certificates netbase tzdata` (lines 15-18)."""
    for official, seen in facts.items():
        missing = {"ca-certificates", "netbase", "tzdata"} - seen["installed"]
        assert not missing, (official, missing)


def test_python_pip_and_pydoc_answer_by_their_short_names(facts: dict[str, dict]) -> None:
    """`for src in idle3 pip3 pydoc3 python3 python3-config; ... ln -svT "$src" ...`
    (lines 137-143); pip from `--with-ensurepip` (line 68), run by `pip3 --version` (line 134)."""
    for official, seen in facts.items():
        assert seen["links"] == {"python": "python3", "pip": "pip3", "pydoc": "pydoc3"}, official
        assert re.match(r"pip \S+ from /usr/local/lib/python", seen["pip"]), seen["pip"]


def test_pip_installs_into_site_packages_unrefused(facts: dict[str, dict]) -> None:
    """Python built from python.org's tarball (line 53) installs with the upstream scheme,
    into /usr/local/lib/pythonX.Y/site-packages, and has no EXTERNALLY-MANAGED marker."""
    for official, seen in facts.items():
        assert seen["purelib"] == f"{seen['stdlib']}/site-packages", (official, seen["purelib"])
        assert not seen["externally_managed"], official


def test_a_venv_of_it_loads_the_compiled_modules(facts: dict[str, dict]) -> None:
    """The build dependencies (lines 29-50: libssl-dev, libsqlite3-dev, libffi-dev, liblzma-dev,
    libbz2-dev, zlib1g-dev, uuid-dev...) give ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid;
    tzdata (line 18) gives zoneinfo; the libraries they link are kept (lines 118-129); a venv
    made from it loads them all. `--enable-loadable-sqlite-extensions` (line 63)."""
    for official, seen in facts.items():
        assert seen["venv"] == 0, official
        assert seen["venv_modules"] == 0, (official, seen["venv_error"])
        assert seen["sqlite_extensions"], official


def test_its_command_is_python3(facts: dict[str, dict]) -> None:
    """`CMD ["python3"]` (line 145); no entrypoint."""
    for official, seen in facts.items():
        assert seen["config"]["Cmd"] == ["python3"], (official, seen["config"]["Cmd"])
        assert not seen["config"].get("Entrypoint"), official


def test_apt_leaves_no_package_cache_in_a_layer(facts: dict[str, dict]) -> None:
    """`FROM debian:trixie-slim` (line 7), which debuerreotype makes with its docker-clean apt
    configuration (debuerreotype@7de510f, scripts/debuerreotype-minimizing-config): no binary
    cache, the .deb files deleted after each install. A stand-in without it kept ~100 MB more in
    each `apt-get install` layer of the journey's steps and the baseline."""
    for official, seen in facts.items():
        assert 'Dir::Cache::pkgcache "";' in seen["apt_config"], official
        assert "rm -f /var/cache/apt/archives/*.deb" in seen["apt_config"], official
