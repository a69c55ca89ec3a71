"""Run the service: ``python -m hello`` (or the console script)."""

import logging
import signal
import sys
import tempfile

import uvicorn

from .app import create_app
from .settings import InvalidSetting, Settings

log = logging.getLogger(__package__)
# In-flight requests end within this many seconds of SIGTERM.
GRACEFUL_SHUTDOWN_SECONDS = 5


def main() -> int:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level="INFO")
    try:
        settings = Settings.from_environment()
    except InvalidSetting as error:
        log.error("invalid settings: %s", error)
        return 2
    logging.getLogger().setLevel(settings.log_level.upper())
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=settings.data_dir).close()
    except OSError as error:
        log.error("the data folder %s is not writable: %s", settings.data_dir, error.strerror)
        return 1
    config = uvicorn.Config(
        create_app(settings.data_dir),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # h11 bounds a request head (16 KiB by default); httptools would buffer any size.
        http="h11",
        # Longer than a load balancer's idle timeout (60 s): it closes first, never us.
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    # Once stopped, uvicorn raises SIGTERM or SIGINT again for the handlers it found: these
    # only ask it to stop, so the process exits 0 where it is not PID 1 (under an init).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: setattr(server, "should_exit", True))
    # uvicorn's own socket for ::, unlike asyncio's, takes IPv4 too (IPV6_V6ONLY left off).
    server.run(sockets=[config.bind_socket()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
