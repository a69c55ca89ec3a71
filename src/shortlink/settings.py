"""Every setting of the service, read from environment variables prefixed with the package name."""

from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .logs import LogFormat

# The package name, upper-cased: renaming the package renames every variable.
ENV_PREFIX = f"{__package__.upper()}_"

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
    """The service's settings; the README's settings table is written from these fields."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on.")
    data_dir: Path = Field(Path("data"), description="Folder holding the SQLite database.")
    admin_token_file: Path | None = Field(
        Path("/run/secrets/admin_token"),
        description="File holding the admin token for DELETE; empty or absent disables deletion.",
    )
    log_level: LogLevel = Field("info", description="One of critical, error, warning, info, debug.")
    log_format: LogFormat = Field("text", description="text, or json: one JSON object a line.")
    public_url: AnyHttpUrl | None = Field(
        None, description="Base of the short URLs returned; default: from an allowed Host header."
    )
    allowed_hosts: str = Field(
        "localhost,127.0.0.1,::1",
        description="Comma-separated Host header names short URLs may use; * for any.",
    )
    version: str | None = Field(None, description="Reported by /version; default: the package's.")
    revision: str = Field("unknown", description="Git revision reported by /version.")
    build_date: str = Field("unknown", description="Build date reported by /version.")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lowercase_log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("admin_token_file", "public_url", "version", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        return None if value == "" else value
