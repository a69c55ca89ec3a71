"""The shapes of the optional features the seam (tests/service.py) may declare: the compose
checks (tests/compose) and the service's feature checks (tests/features) read them; the image
contract knows nothing of them."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from tools.containers import Running as Container


@dataclass(frozen=True)
class AdminToken:
    """An admin secret the service reads from a file at start."""

    path: str  # where the service reads it in the image (a Compose or Kubernetes secret)
    unreadable: str  # in its one ERROR line, exit 1, when the file cannot be read
    disabled: str  # logged once when there is no file: the feature is off, the service runs
    accepted: Callable[["Container", str], bool]  # a request with this token is authorized
    required: Callable[["Container"], bool]  # one without any token is refused (401)
    off: Callable[["Container"], bool]  # without a file, the feature answers as disabled


@dataclass(frozen=True)
class DevEdit:
    """One edit to the sources whose effect the running service then answers."""

    source: str  # the file edited, relative to the project root
    edit: Callable[["Path", str], None]  # make the edit under a project root, with a marker
    serves: Callable[["Container", str], bool]  # whether the running service answers it


@dataclass(frozen=True)
class ProxyHeaders:
    """Links the service gives out name the public scheme and host a reverse proxy forwards,
    when the proxy is one its settings trust, and only then."""

    trusted: str  # the setting naming the trusted proxies' addresses or networks, comma-separated
    settings: tuple[str, ...]  # "VARIABLE=value"s it also needs to name ``host`` in its links
    host: str  # the public host name the proxy forwards (X-Forwarded-Host)
    link: Callable[["Container", dict[str, str]], str]  # a link it gives, sent these headers
