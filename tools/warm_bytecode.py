"""Run a service once, then compile bytecode for every module it loaded; for a runtime image
whose standard library has none (the official python images', distroless's), so its start,
stop and health check compile nothing. Run in the builder of both Dockerfiles (docs,
"Dockerfile.minimal, line by line").

    python -B warm_bytecode.py ENTRY PROBE --port=PORT --stdlib-sources=DIR --output=DIR
        [--timeout=SECONDS]

ENTRY and PROBE are ``module:function``: the service's main(), run in this process, and the
health probe the image's HEALTHCHECK runs. Both succeed by returning 0 or None, as a console
script's main does. Once PORT (on 127.0.0.1) accepts a connection, PROBE runs once, then the
process sends itself SIGTERM: the service must stop on it and return (uvicorn re-raises it
once stopped; it is ignored here). Then every loaded module's bytecode is written:

- the standard library's (this interpreter's, under ``os.__file__``'s folder) from the copy of
  it under ``--stdlib-sources`` (the runtime's own sources, bind-mounted), timestamp-checked as
  Debian's is, into ``--output``, at the path it has in the runtime;
- the venv's (under ``sys.prefix``) in place, hash-checked as uv's is.

Run it with ``-B``: Python then writes no other bytecode (no timestamp-checked files for the
venv's modules as they are imported). Only the standard library is imported here, and only
what it needs: its own imports are compiled too.

Exits 0 when done; 1 with one line on stderr when the service does not start (ENTRY returns
anything else, or returns before it was stopped), does not open PORT or does not stop within
``--timeout`` (default 30 s), or PROBE fails: the build cannot hang on a service that never
answers. 2 with its usage on bad arguments. An unimportable ENTRY or PROBE raises ImportError
or AttributeError; a loaded module whose source is missing, py_compile.PyCompileError.
"""

import importlib
import importlib.util
import os
import py_compile
import signal
import socket
import sys
import threading
import time

USAGE = (
    "usage: python -B warm_bytecode.py ENTRY PROBE --port=PORT --stdlib-sources=DIR "
    "--output=DIR [--timeout=SECONDS]  (ENTRY, PROBE: module:function)"
)


def fail(message: str) -> None:
    """One line on stderr, then exit 1 from any thread, whatever the service is doing."""
    print(f"warm_bytecode: {message}", file=sys.stderr, flush=True)
    os._exit(1)


def load(spec: str):
    """The function ``module:function`` names."""
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def probe_then_stop(probe, probe_spec: str, port: int, timeout: float, stopping, stopped) -> None:
    """Wait for ``port``, run the probe, send SIGTERM; fail if any of it takes too long."""
    deadline = time.monotonic() + timeout
    while not answers(port):
        if time.monotonic() > deadline:
            fail(f"the service did not open port {port} within {timeout:g} s")
        time.sleep(0.1)
    try:
        result = probe()
    except Exception as error:
        fail(f"the health probe {probe_spec} raised {error!r}")
    if result not in (0, None):
        fail(f"the health probe {probe_spec} returned {result!r}")
    stopping.set()
    os.kill(os.getpid(), signal.SIGTERM)
    if not stopped.wait(timeout):
        fail(f"the service did not stop within {timeout:g} s of SIGTERM")


def compile_loaded(stdlib_sources: str, output: str) -> None:
    """Bytecode for every module loaded so far; see the module's docstring."""
    stdlib = os.path.dirname(os.__file__) + "/"
    venv = sys.prefix + "/"
    Mode = py_compile.PycInvalidationMode
    specs = [getattr(module, "__spec__", None) for module in list(sys.modules.values())]
    origins = {getattr(spec, "origin", None) for spec in specs}
    for path in sorted(str(origin) for origin in origins if origin):
        if not path.endswith(".py"):
            continue
        if path.startswith(stdlib):
            source = os.path.join(stdlib_sources, path.removeprefix(stdlib))
            target = output + importlib.util.cache_from_source(path)
            py_compile.compile(source, target, path, doraise=True, invalidation_mode=Mode.TIMESTAMP)
        elif path.startswith(venv):
            py_compile.compile(path, doraise=True, invalidation_mode=Mode.CHECKED_HASH)


def main(argv: list[str]) -> int:
    positional = [arg for arg in argv if not arg.startswith("--")]
    options = dict(arg[2:].partition("=")[::2] for arg in argv if arg.startswith("--"))
    try:
        entry_spec, probe_spec = positional
        port = int(options.pop("port"))
        stdlib_sources, output = options.pop("stdlib-sources"), options.pop("output")
        timeout = float(options.pop("timeout", 30))
    except (ValueError, KeyError):
        print(USAGE, file=sys.stderr)
        return 2
    if options:
        print(USAGE, file=sys.stderr)
        return 2
    entry, probe = load(entry_spec), load(probe_spec)
    stopping, stopped = threading.Event(), threading.Event()
    args = (probe, probe_spec, port, timeout, stopping, stopped)
    threading.Thread(target=probe_then_stop, args=args, daemon=True).start()
    # The service's own handler replaces this one while it runs; uvicorn raises SIGTERM again
    # once it has stopped, which must not kill this process before it compiles.
    signal.signal(signal.SIGTERM, lambda *_: None)
    if entry() not in (0, None):
        fail(f"the service ({entry_spec}) did not start")
    if not stopping.is_set():
        fail(f"the service ({entry_spec}) returned before its health probe answered")
    stopped.set()
    compile_loaded(stdlib_sources, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
