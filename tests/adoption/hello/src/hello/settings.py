"""The settings, from environment variables named after the package (HELLO_PORT...)."""

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

    @classmethod
    def from_environment(cls) -> "Settings":
        """The settings, or InvalidSetting naming the first variable that is wrong."""
        env = os.environ
        port = env.get(f"{PREFIX}PORT", "8000")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise InvalidSetting(f"{PREFIX}PORT: {port!r} is not a TCP port")
        level = env.get(f"{PREFIX}LOG_LEVEL", "info").lower()
        if level not in LEVELS:
            raise InvalidSetting(f"{PREFIX}LOG_LEVEL: {level!r} is not one of {', '.join(LEVELS)}")
        return cls(
            host=env.get(f"{PREFIX}HOST", "127.0.0.1"),
            port=int(port),
            data_dir=Path(env.get(f"{PREFIX}DATA_DIR", "data")),
            log_level=level,
        )
