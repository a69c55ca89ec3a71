"""The settings, from environment variables named after the package (LEDGER_PORT...)."""

import os
from dataclasses import dataclass
from pathlib import Path

PREFIX = f"{__package__.upper()}_"
LEVELS = ("critical", "error", "warning", "info", "debug")


class InvalidSetting(ValueError):
    """A setting's value cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    log_level: str
    # libpq's connection URI: postgresql://user:password@host:port/database
    database_url: str

    @classmethod
    def from_environment(cls) -> "Settings":
        """The settings, or InvalidSetting naming the first variable that is wrong or missing."""
        env = {name: value for name, value in os.environ.items() if value}  # empty: unset
        port = env.get(f"{PREFIX}PORT", "8000")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise InvalidSetting(f"{PREFIX}PORT: {port!r} is not a TCP port")
        level = env.get(f"{PREFIX}LOG_LEVEL", "info").lower()
        if level not in LEVELS:
            raise InvalidSetting(f"{PREFIX}LOG_LEVEL: {level!r} is not one of {', '.join(LEVELS)}")
        url = env.get(f"{PREFIX}DATABASE_URL", "")
        if not url.startswith(("postgresql://", "postgres://")):
            raise InvalidSetting(f"{PREFIX}DATABASE_URL: required, a postgresql:// URI")
        return cls(
            host=env.get(f"{PREFIX}HOST", "127.0.0.1"),
            port=int(port),
            data_dir=Path(env.get(f"{PREFIX}DATA_DIR", "data")),
            log_level=level,
            database_url=url,
        )
