"""tools/warm_bytecode.py, the minimal image's build step, on the host: a stand-in service in a
temporary venv, the host's standard library as the runtime's sources. No Docker."""

import socket
import subprocess
import sys
import venv
from dataclasses import dataclass
from importlib.util import cache_from_source
from pathlib import Path

import pytest

from tools import warm_bytecode

SERVICE = """
import signal, socket, sys, threading, time

stopped = threading.Event()
sys.modules["standin_without_spec"] = object()  # as some libraries' lazy modules are


def serve():
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with socket.create_server(("127.0.0.1", {port})) as server:
        server.settimeout(0.1)
        while not stopped.is_set():
            try:
                server.accept()[0].close()
            except TimeoutError:
                pass
    return 0


def silent():
    time.sleep(3600)


def probe():
    socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The host's standard library stands in for the runtime's sources.
STDLIB = Path(socket.__file__).parent


@dataclass(frozen=True)
class Standin:
    """A venv holding the stand-in service, and the port it listens on."""

    python: Path
    site: Path
    port: int

    def warm(self, entry: str, output: Path, *extra: str) -> subprocess.CompletedProcess:
        command = [str(self.python), "-B", warm_bytecode.__file__, entry, "standin:probe"]
        command += [f"--port={self.port}", f"--stdlib-sources={STDLIB}", f"--output={output}"]
        return subprocess.run([*command, *extra], capture_output=True, text=True, timeout=60)


@pytest.fixture
def standin(tmp_path: Path) -> Standin:
    venv.create(tmp_path / "venv", symlinks=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = tmp_path / "venv" / "lib" / version / "site-packages"
    port = free_port()
    (site / "standin.py").write_text(SERVICE.format(port=port))
    return Standin(tmp_path / "venv" / "bin" / "python", site, port)


def flags(pyc: Path) -> int:
    """The pyc header's flags (PEP 552): 0 timestamp-checked, 3 hash-checked."""
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


def bytecode_under(output: Path, source: Path) -> Path:
    """Where the bytecode of ``source``, a runtime path, is written under ``output``."""
    return Path(f"{output}{cache_from_source(str(source))}")


def test_compiles_the_modules_the_service_loaded(standin: Standin, tmp_path: Path) -> None:
    done = standin.warm("standin:serve", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    # The standard library's, at its runtime path under the output folder, timestamp-checked;
    # none for a module the service never loaded.
    for loaded in ("socket.py", "threading.py", "py_compile.py"):
        assert flags(bytecode_under(tmp_path / "out", STDLIB / loaded)) == 0, loaded
    assert not bytecode_under(tmp_path / "out", STDLIB / "wave.py").exists()
    # The venv's in place, hash-checked; nothing else written there.
    pyc = Path(cache_from_source(str(standin.site / "standin.py")))
    assert flags(pyc) == 3
    assert list(standin.site.rglob("*.pyc")) == [pyc]


def test_a_service_that_never_answers_fails_in_one_line(standin: Standin, tmp_path: Path) -> None:
    done = standin.warm("standin:silent", tmp_path / "out", "--timeout=1")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"warm_bytecode: the service did not open port {standin.port} within 1 s"
    ]
    assert not (tmp_path / "out").exists()


def test_bad_arguments_print_the_usage(standin: Standin, tmp_path: Path) -> None:
    done = standin.warm("standin:serve", tmp_path / "out", "--colour=blue")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: ")
