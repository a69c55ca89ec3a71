"""What code execution inside the image would find: a shell, a package manager, pip. And what a
runtime without them must still have: every standard-library module the service imports, and
the interpreter its venv points to.

The minimal image holds each; the optimized image, on a slim Debian base, is a negative control
of the first three as the baseline is. Files are read with testinfra, from a toolbox beside the
running container (toolbox.py: the container's files at /proc/1/root); imports are tried by the
image's own Python, run by `docker exec` in exec form, since there may be no shell.
"""

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import PurePosixPath

import pytest
import testinfra

from tests import service
from tools import images
from tools.project import PACKAGE

from .containers import Container, python_output, remove_container, start_container
from .contract import HOLDS, HOLDS_TOO, Expected, fails, per_image, verdict
from .toolbox import CONTAINER_ROOT, image_files

SHELLS = re.compile(r"(^|/)bin/(sh|bash|dash|ash|zsh|ksh|mksh|csh|tcsh|fish|busybox)$")
PACKAGE_MANAGERS = re.compile(
    r"(^|/)bin/(dpkg|dpkg-deb|apt|apt-get|aptitude|rpm|yum|dnf|microdnf|apk|zypper)$"
)
PIP = re.compile(r"(^|/)bin/pip[\d.]*$|(site|dist)-packages/pip/__init__\.py$|(^|/)pip-[^/]*\.whl$")


def listed(host: testinfra.host.Host, image: images.Image, pattern: re.Pattern) -> list[str]:
    """Paths matching ``pattern`` that are not folders (a link named sh is a shell too)."""
    return [path for path in image_files(host, image, "! -type d") if pattern.search(path)]


@per_image(
    optimized=fails(r"shells \[.*bin/(ba|da)?sh'"),
    minimal=HOLDS,
    baseline=fails(r"shells \[.*bin/(ba|da)?sh'"),
)
def test_has_no_shell(image: images.Image, expected: Expected, host: testinfra.host.Host) -> None:
    found = listed(host, image, SHELLS)
    verdict(expected, not found, f"shells {found}")


@per_image(
    optimized=fails(r"package managers \[.*bin/(dpkg|apt)"),
    minimal=HOLDS,
    baseline=fails(r"package managers \[.*bin/(dpkg|apt)"),
)
def test_has_no_package_manager(
    image: images.Image, expected: Expected, host: testinfra.host.Host
) -> None:
    found = listed(host, image, PACKAGE_MANAGERS)
    verdict(expected, not found, f"package managers {found}")


@per_image(
    optimized=fails(r"pip \[.*pip"),
    minimal=HOLDS,
    baseline=fails(r"pip \[.*pip"),
)
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
    running = start_container(image.tag, *options)
    try:
        assert not service.round_trip(running), "the service did not round-trip in the image"
        time.sleep(0.5)
        read = "print(open('/tmp/modules.json').read())"
        loaded = json.loads(python_output(image, running, read))
        health = json.loads(
            python_output(image, running, f"import {PACKAGE}.healthcheck; {LOADED}")
        )
        stdlib = set(json.loads(python_output(image, running, STDLIB_NAMES)))
        version = python_output(image, running, VERSION).strip()
    finally:
        remove_container(running)
    names = {name for name in [*loaded, *health] if name.split(".")[0] in stdlib}
    return version, sorted(names - {"__main__"})


STDLIB_NAMES = "import json, sys; print(json.dumps(sorted(sys.stdlib_module_names)))"
VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=HOLDS_TOO)
def test_every_stdlib_module_the_service_imports_loads(
    image: images.Image,
    expected: Expected,
    container: Container,
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
    failed, absent = json.loads(python_output(image, container, check))
    evidence = f"{len(names)} modules of Python {version} imported, failed: {failed}"
    verdict(expected, not failed, evidence + (f"; not in this version: {absent}" if absent else ""))


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


@per_image(optimized=HOLDS, minimal=HOLDS, baseline=HOLDS_TOO)
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
