"""Run the service: ``python -m shortlink`` (or the ``shortlink`` console script)."""

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator

import uvicorn
from pydantic import ValidationError

from . import logs
from .app import StartupError, create_app
from .server import dual_stack_socket, uvicorn_options
from .settings import (
    SERVICE_LINKS_FIX,
    Settings,
    ignored_service_links,
    requested_log_format,
    variable,
)

# Below Docker's default 10 s stop timeout, so in-flight requests end and the database closes
# before a SIGKILL could arrive.
GRACEFUL_SHUTDOWN_SECONDS = 5

log = logging.getLogger(__package__)


def main() -> int:
    # The format asked for, from the start: an invalid setting is reported in it too.
    log_format = requested_log_format(os.environ)
    logs.configure("info", log_format)
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(f"{variable(e['loc'])}: {e['msg']}" for e in error.errors())
        log.error("invalid settings: %s", problems)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    if ignored := ignored_service_links(os.environ):
        log.warning("ignored %s: %s", ", ".join(ignored), SERVICE_LINKS_FIX)
    try:
        app = create_app(settings)
        sock = dual_stack_socket(settings.host, settings.port)
    except StartupError as error:
        log.error("cannot start: %s", error)
        return 1
    except OSError as error:
        log.error("cannot listen on %s port %d: %s", settings.host, settings.port, error.strerror)
        return 1
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # The app believes only the proxies its settings name (middleware.TrustedProxies).
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    with stop_signals(server):
        server.run(sockets=[sock] if sock else None)
    return 0 if server.started else 1


@contextlib.contextmanager
def stop_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGTERM and SIGINT stop ``server`` gracefully, and the process then exits 0.

    uvicorn stops on both, restores the handlers it found, then raises the signal again so that
    they act on it (uvicorn's Server.capture_signals): with Python's own, SIGINT would end the
    process with exit code 130 and SIGTERM with 143 (unless it is PID 1, which the kernel spares
    an unhandled SIGTERM). The handlers it finds are these: a stop asked for, nothing more.
    """

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.signal(signum, stop) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
