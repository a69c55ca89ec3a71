"""What code execution inside the image would find: a shell, a package manager, pip. And what a
runtime without them must still have: every standard-library module the service imports, and
the interpreter its venv points to.

The first three apply to an image whose profile declares them (tests/service.py: the minimal
image does; the optimized one, on a slim Debian base, does not). Files are read with testinfra,
from a toolbox beside the running container (toolbox.py: the container's files at /proc/1/root);
imports are tried by the image's own Python, run by `docker exec` in exec form, since there may
be no shell.
"""

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

import pytest
import testinfra

from tests import service
from tools import images
from tools.containers import remove_container, run_python, start
from tools.project import PACKAGE

from .profile import Expected, verdict
from .toolbox import CONTAINER_ROOT, image_files

SHELLS = re.compile(r"(^|/)bin/(sh|bash|dash|ash|zsh|ksh|mksh|csh|tcsh|fish|busybox)$")
PACKAGE_MANAGERS = re.compile(
    r"(^|/)bin/(dpkg|dpkg-deb|apt|apt-get|aptitude|rpm|yum|dnf|microdnf|apk|zypper)$"
)
PIP = re.compile(r"(^|/)bin/pip[\d.]*$|(site|dist)-packages/pip/__init__\.py$|(^|/)pip-[^/]*\.whl$")


def listed(host: testinfra.host.Host, image: images.Image, pattern: re.Pattern) -> list[str]:
    """Paths matching ``pattern`` that are not folders (a link named sh is a shell too)."""
    return [path for path in image_files(host, image, "! -type d") if pattern.search(path)]


@pytest.mark.declared("no_shell")
def test_has_no_shell(image: images.Image, expected: Expected, host: testinfra.host.Host) -> None:
    found = listed(host, image, SHELLS)
    verdict(expected, not found, f"shells {found}")


@pytest.mark.declared("no_package_manager")
def test_has_no_package_manager(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    found = listed(host, image, PACKAGE_MANAGERS)
    verdict(expected, not found, f"package managers {found}")


@pytest.mark.declared("no_pip")
def test_has_no_pip_anywhere(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    found = listed(host, image, PIP)
    verdict(expected, not found, f"pip {found}")


# Records which modules the service (PID 1) has loaded, from a thread its Python starts first.
RECORDER = """
import json, os, sys, threading, time
def record():
    while True:
        with open(os.environ["MODULES_FILE"] + ".new", "w") as out:
            json.dump(sorted(sys.modules), out)
        os.replace(os.environ["MODULES_FILE"] + ".new", os.environ["MODULES_FILE"])
        time.sleep(0.2)
if os.getpid() == 1:
    threading.Thread(target=record, daemon=True).start()
"""
LOADED = "import json, sys; print(json.dumps(sorted(sys.modules)))"


@pytest.fixture(scope="session")
def stdlib_the_service_imports(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, list[str]]:
    """The standard-library modules the service loads while it starts, serves a round trip and
    answers its health check: measured in the optimized image, on the Python the images run
    (the tests' own may be another version, whose standard library has other modules). The
    recorder is the image's sitecustomize, on PYTHONPATH for this container only. Returns the
    Python's X.Y and the modules' names."""
    folder = tmp_path_factory.mktemp("imports")
    folder.chmod(0o755)
    (folder / "sitecustomize.py").write_text(RECORDER)
    (folder / "sitecustomize.py").chmod(0o644)
    image = images.OPTIMIZED
    env = {"PYTHONPATH": "/recorder", "MODULES_FILE": "/tmp/modules.json"}
    options = [f"--volume={folder}:/recorder:ro", *(f"--env={k}={v}" for k, v in env.items())]
    running = start(image.tag, *options)

    def python(code: str) -> str:
        done = run_python(running, service.IMAGES[image.name].python, code)
        assert done.returncode == 0, f"{image.tag}'s Python failed: {done.stderr[-2000:]}"
        return done.stdout

    try:
        assert not service.round_trip(running), "the service did not round-trip in the image"
        time.sleep(0.5)
        loaded = json.loads(python("print(open('/tmp/modules.json').read())"))
        health = json.loads(python(f"import {PACKAGE}.healthcheck; {LOADED}"))
        stdlib = set(json.loads(python(STDLIB_NAMES)))
        version = python(VERSION).strip()
    finally:
        remove_container(running)
    names = {name for name in [*loaded, *health] if name.split(".")[0] in stdlib}
    return version, sorted(names - {"__main__"})


STDLIB_NAMES = "import json, sys; print(json.dumps(sorted(sys.stdlib_module_names)))"
VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"


def test_every_stdlib_module_the_service_imports_loads(
    expected: Expected,
    python: Callable[[str], str],
    stdlib_the_service_imports: tuple[str, list[str]],
) -> None:
    # A Python of another X.Y (the baseline's) has other modules: one its version lacks is
    # skipped there; on the recorded version every one must load.
    version, names = stdlib_the_service_imports
    check = (
        "import importlib, importlib.util, json, sys; failed, absent = {}, []\n"
        f"same = '%d.%d' % sys.version_info[:2] == {version!r}\n"
        f"for name in {names!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as error:\n"
        "        if same or not f'{name}.'.startswith(f'{error.name}.'):\n"
        "            failed[name] = repr(error)\n"
        "        else:\n"
        "            absent.append(name)\n"
        "    except Exception as error:\n"
        "        failed[name] = repr(error)\n"
        "print(json.dumps([failed, absent]))"
    )
    failed, absent = json.loads(python(check))
    evidence = f"{len(names)} modules of Python {version} imported, failed: {failed}"
    verdict(expected, not failed, evidence + (f"; not in this version: {absent}" if absent else ""))


# Run by the image's Python: the image's own dynamic loader, traced as `ldd` runs it
# (LD_TRACE_LOADED_OBJECTS: no shell and no ldd needed), resolves what each ELF file of the
# interpreter's prefix (/usr/local: the interpreter, the stdlib's extension modules) and of the
# venv (its compiled dependencies) links. Its answer: {"loader", "checked", "missing": {file:
# [library, or the loader's error...]}}.
LINKED_LIBRARIES = """
import glob, json, os, subprocess, sys
loader = sorted(glob.glob("/lib*/ld-linux*.so*") + glob.glob("/lib/*/ld-linux*.so*"))[0]
found = set()
for root in sorted({sys.prefix, sys.base_prefix}):
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if (name.endswith(".so") or ".so." in name) and not os.path.islink(path):
                with open(path, "rb") as file:
                    if file.read(4) == b"\x7fELF":
                        found.add(path)
found.add(os.path.realpath(sys.executable))
missing = {}
traced = dict(os.environ, LD_TRACE_LOADED_OBJECTS="1")
for path in sorted(found):
    done = subprocess.run([loader, path], capture_output=True, text=True, env=traced)
    lost = [line.split()[0] for line in done.stdout.splitlines() if "=> not found" in line]
    if lost or done.returncode:
        missing[path] = lost or [done.stderr.strip()]
print(json.dumps({"loader": loader, "checked": len(found), "missing": missing}))
"""


def linked_libraries(python: Callable[[str], str]) -> tuple[bool, str]:
    """Whether every ELF file of the image's Python and venv finds its shared libraries; the
    evidence."""
    seen = json.loads(python(LINKED_LIBRARIES))
    evidence = f"{seen['checked']} files resolved by {seen['loader']}; missing: {seen['missing']}"
    return seen["checked"] > 0 and not seen["missing"], evidence


def test_every_extension_module_finds_its_shared_libraries(
    expected: Expected, python: Callable[[str], str]
) -> None:
    """A distroless runtime carries only the libraries it was given: a venv's driver built
    against libpq starts, serves and passes a round trip on another store, and fails only when
    imported (issue: the minimal image that left out libpq.so.5)."""
    verdict(expected, *linked_libraries(python))


def resolve(links: dict[str, str], path: str) -> Iterator[str]:
    """Follow ``path`` through the image's links (path -> target, both as `find` prints them);
    yield each step. Not `realpath` in the toolbox: under /proc/1/root an absolute target would
    resolve in the toolbox's own root."""
    current = PurePosixPath(path)
    for _ in range(40):
        yield str(current)
        # A link may sit at any folder on the way (bin -> usr/bin).
        parts = current.parts[1:]
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix in links:
                base = PurePosixPath("/" + prefix).parent
                target = PurePosixPath(links[prefix])
                target = target if target.is_absolute() else base / target
                current = PurePosixPath(os.path.normpath(target.joinpath(*parts[depth:])))
                break
        else:
            return


def test_venv_interpreter_resolves_in_the_image(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    venvs = [path.rsplit("/", 1)[0] for path in image_files(host, image, "-name pyvenv.cfg")]
    assert venvs, f"no virtual environment (pyvenv.cfg) found in {image.tag}"
    links = dict(line.split("\t", 1) for line in image_files(host, image, "-type l", "\\t%l"))
    chains = {}
    for venv in venvs:
        steps = list(resolve(links, f"/{venv}/bin/python"))
        end = host.file(CONTAINER_ROOT + steps[-1])
        ok = end.is_file and bool(end.mode & 0o111)
        chains[venv] = " -> ".join(steps) + ("" if ok else " (missing)")
    verdict(expected, all(not c.endswith("(missing)") for c in chains.values()), f"{chains}")
