"""Every setting of the service, read from environment variables prefixed with the package name."""

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .logs import LogFormat

# The package name, upper-cased: renaming the package renames every variable.
ENV_PREFIX = f"{__package__.upper()}_"

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
Port = Annotated[int, Field(ge=1, le=65535)]

# Where a platform tells a service which port to serve on (Cloud Run, Heroku, App Runner): the
# port when the service's own setting is unset. In upper case, as field names never are, so
# that variable() tells its errors from the port setting's.
PLATFORM_PORT = "PORT"

# What an orchestrator injects for a service named like this package, in variables that look
# like ours: Kubernetes sets `<SERVICE>_PORT=tcp://10.96.12.34:8000` (and `_PORT_8000_TCP...`,
# `_SERVICE_HOST`...) in every pod of the namespace; container links do the same. Never a
# setting: such a value is ignored, and said once (ignored_service_links).
SERVICE_LINK = re.compile(r"(tcp|udp|sctp)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):[0-9]+")
SERVICE_LINKS_FIX = (
    "a service link an orchestrator injects for a service of that name, not a setting "
    "(in Kubernetes, enableServiceLinks: false in the pod spec stops it)"
)


# The settings whose empty value says "none", as their descriptions do; any other setting's
# empty value is no value at all.
EMPTY_MEANS_NONE = frozenset({"admin_token_file", "forwarded_allow_ips"})


def is_service_link(value: object) -> bool:
    return isinstance(value, str) and SERVICE_LINK.fullmatch(value.strip()) is not None


def is_blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()


class _Platform(BaseModel):
    """What a platform sets for the service, validated under the variable's own name."""

    PORT: Port


class _Environment(EnvSettingsSource):
    """The environment, as pydantic-settings reads it, minus what sets nothing: a service link,
    and an empty or blank value (compose's ``${VAR:-}``, a Helm value left blank), which is an
    unset variable: the setting's default, except where empty means none (EMPTY_MEANS_NONE).
    Where the port is thus unset, PORT's value is the port."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        value, key, is_complex = super().get_field_value(field, field_name)
        if is_service_link(value) or (is_blank(value) and field_name not in EMPTY_MEANS_NONE):
            value = None
        return value, key, is_complex

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        platform = os.environ.get(PLATFORM_PORT, "")
        if "port" not in values and not is_blank(platform):
            # Validated here, so that an invalid value is reported as PORT's, not as ours.
            values["port"] = _Platform.model_validate({PLATFORM_PORT: platform}).PORT
        return values


class Settings(BaseSettings):
    """The service's settings; the docs' settings page is written from these fields."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True)

    host: str = Field(
        "127.0.0.1",
        description="Address to listen on; :: listens on IPv6 and IPv4 on one port.",
    )
    port: Port = Field(
        8000,
        description=(
            "TCP port to listen on; where unset, the port in `PORT` if that is set (Cloud Run,"
            " Heroku and App Runner set it)."
        ),
    )
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
    forwarded_allow_ips: str = Field(
        "127.0.0.1,::1",
        description=(
            "Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-Proto,"
            " -For and -Host are believed; * for any; empty for none."
        ),
    )
    max_header_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description=(
            "Largest request head (request line and header fields) in bytes; a larger one is"
            " answered 431 and its connection closed. 64 KiB is what AWS ALB passes on (nginx:"
            " 32 KiB); real clients send a few KiB."
        ),
    )
    body_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description=(
            "Seconds a request body may take to arrive after its head; a slower one's connection"
            " is closed. The largest body taken, 16 KiB, needs about 8 s at 16 kbit/s."
        ),
    )
    keep_alive_seconds: int = Field(
        75,
        gt=0,
        description=(
            "Seconds an idle connection is kept open between requests. Longer than the idle"
            " timeout of the proxy in front (AWS ALB, nginx upstream: 60 s), which must close"
            " first: a request it sent as the service closed would fail. 75 s is nginx's own."
        ),
    )
    version: str | None = Field(None, description="Reported by /version; default: the package's.")
    revision: str = Field("unknown", description="Git revision reported by /version.")
    build_date: str = Field("unknown", description="Build date reported by /version.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environment = _Environment(settings_cls)
        return init_settings, environment, dotenv_settings, file_secret_settings

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lowercase_log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("admin_token_file", mode="before")
    @classmethod
    def _empty_means_no_file(cls, value: object) -> object:
        return None if is_blank(value) else value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        # uvicorn would take a misspelt address as a name no client ever has, silently.
        for item in trusted_proxies(value):
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"{item!r} is not an IP address or network") from None
        return value


def variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable an error location of the settings names: PORT, or a field's."""
    name = "_".join(map(str, loc))
    return name if name == PLATFORM_PORT else f"{ENV_PREFIX}{name.upper()}"


def trusted_proxies(setting: str) -> list[str]:
    """The items of a forwarded_allow_ips setting."""
    return [item.strip() for item in setting.split(",") if item.strip()]


def ignored_service_links(environ: Mapping[str, str]) -> list[str]:
    """``NAME=value`` of each variable named like a setting whose value is a service link."""
    names = {f"{ENV_PREFIX}{name}".upper() for name in Settings.model_fields}
    return sorted(
        f"{name}={value.strip()}"
        for name, value in environ.items()
        if name.upper() in names and is_service_link(value)
    )


def requested_log_format(environ: Mapping[str, str]) -> LogFormat:
    """The log format the environment asks for, before the settings are validated: so that
    even an invalid setting is reported in it."""
    wanted = f"{ENV_PREFIX}LOG_FORMAT"
    values = [value for name, value in environ.items() if name.upper() == wanted]
    return "json" if values and values[0].strip().lower() == "json" else "text"
