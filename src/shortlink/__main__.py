"""Run the service: ``python -m shortlink`` (or the ``shortlink`` console script)."""

import logging
import sys

import uvicorn
from pydantic import ValidationError

from . import logs
from .app import StartupError, create_app
from .server import KEEP_ALIVE_SECONDS, protocol
from .settings import ENV_PREFIX, Settings

# Below Docker's default 10 s stop timeout, so in-flight requests end and the database closes
# before a SIGKILL could arrive.
GRACEFUL_SHUTDOWN_SECONDS = 5

log = logging.getLogger(__package__)


def main() -> int:
    logs.configure("info")
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in error.errors()
        )
        log.error("invalid settings: %s", problems)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    try:
        app = create_app(settings)
    except StartupError as error:
        log.error("cannot start: %s", error)
        return 1
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol(),
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
