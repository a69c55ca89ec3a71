"""Run the service: ``python -m shortlink`` (or the ``shortlink`` console script)."""

import logging
import sys

import uvicorn
from pydantic import ValidationError

from .app import StartupError, create_app
from .settings import ENV_PREFIX, Settings

# Below Docker's default 10 s stop timeout, so in-flight requests end and the database closes
# before a SIGKILL could arrive.
GRACEFUL_SHUTDOWN_SECONDS = 5

log = logging.getLogger(__package__)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stdout,
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )


def main() -> int:
    configure_logging("info")
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in error.errors()
        )
        log.error("invalid settings: %s", problems)
        return 2
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except StartupError as error:
        log.error("cannot start: %s", error)
        return 1
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
