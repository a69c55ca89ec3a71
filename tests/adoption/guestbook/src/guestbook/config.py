"""The service's settings, from environment variables named after the package (GUESTBOOK_PORT...),
read by `guestbook` before anything starts and by the Django settings module. Standard library
only: the health probe and the checks import this package without Django."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = f"{__package__.upper()}_"
LEVELS = ("critical", "error", "warning", "info", "debug")
BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "false": False,
    "0": False,
    "no": False,
    "": False,
}
# One format for every line: the service's, gunicorn's and Django's (" ERROR " marks an error).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class InvalidSetting(ValueError):
    """Settings that cannot be used; the message names each variable that is wrong."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    log_level: str
    # Django's SECRET_KEY (signing); "" when unset, which only the server refuses.
    secret_key: str
    # Host header names Django accepts where it builds a URL from one.
    allowed_hosts: tuple[str, ...]
    # Django's DEBUG: tracebacks in answers, static files from the sources. The dev loop only.
    debug: bool

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] = os.environ, *, secret_required: bool = True
    ) -> "Settings":
        """The settings, or InvalidSetting naming every variable that is wrong. The secret key
        may be absent where nothing is signed (``secret_required=False``: collectstatic at build
        time, the Django settings module; Django refuses an empty key where it would use it)."""
        problems = []
        port = environ.get(f"{PREFIX}PORT", "8000").strip()
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            problems.append(f"{PREFIX}PORT: {port!r} is not a TCP port")
        level = environ.get(f"{PREFIX}LOG_LEVEL", "info").strip().lower()
        if level not in LEVELS:
            problems.append(f"{PREFIX}LOG_LEVEL: {level!r} is not one of {', '.join(LEVELS)}")
        secret_key = environ.get(f"{PREFIX}SECRET_KEY", "")
        if secret_required and not secret_key.strip():
            problems.append(
                f"{PREFIX}SECRET_KEY: required, and not set; give it a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
            )
        debug = environ.get(f"{PREFIX}DEBUG", "false").strip().lower()
        if debug not in BOOLEANS:
            problems.append(f"{PREFIX}DEBUG: {debug!r} is not true or false")
        hosts = environ.get(f"{PREFIX}ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
        if problems:
            raise InvalidSetting("; ".join(problems))
        return cls(
            host=environ.get(f"{PREFIX}HOST", "127.0.0.1").strip(),
            port=int(port),
            data_dir=Path(environ.get(f"{PREFIX}DATA_DIR", "data")),
            log_level=level,
            secret_key=secret_key,
            allowed_hosts=tuple(host.strip() for host in hosts.split(",") if host.strip()),
            debug=BOOLEANS[debug],
        )

    @property
    def database(self) -> Path:
        """The SQLite file, in the data folder."""
        return self.data_dir / f"{__package__}.sqlite3"


def logging_config(level: str) -> dict:
    """The logging configuration (dictConfig) of Django's settings and of gunicorn: access log
    lines to stdout, everything else to stderr, each in LOG_FORMAT."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {
            "stderr": handler | {"stream": "ext://sys.stderr"},
            "stdout": handler | {"stream": "ext://sys.stdout"},
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # Django's own handlers (console when DEBUG, mail to ADMINS) replaced by the root's.
            "django": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }
