"""The seam between the image contract and the service inside it: everything the image checks
(tests/image, tests/compose, tests/multiarch, tests/adoption) know of the service is declared
here, every literal they look for included. Replacing the service? Rewrite this module for
your API; `nox -s unit` (tests/seam) says in seconds what is missing or inconsistent, and the
image contract around it stays as it is.

Required of every service:
- ``HEALTH_PATH`` (tools/project.py): answers 200 once the service serves;
- ``round_trip``: one request and its answer through the published port;
- ``write`` and ``stored``: one write the service acknowledges as durable, and its read-back;
- ``DATA_DIR``, ``INVALID_SETTINGS``, ``UNWRITABLE_DATA``: the setting naming the data folder,
  settings the service must refuse at start (exit 2, one ERROR line naming the variable), and
  the words of its one ERROR line when the data folder is not writable (exit 1);
- ``LOCATE_APP``: Python run in the image that prints where its code, venv and data folder are;
- ``GRACEFUL_SHUTDOWN_SECONDS``: the longest it takes to end in-flight requests on SIGTERM.

Optional features, each ``None`` when the service has none: the checks that prove one are then
reported as not applicable to this service, by name, in the run's summary (tests/conftest.py),
and never run.
- ``ADMIN_TOKEN``: an admin secret read from a file (``AdminToken``);
- ``BUILD_INFO``: an endpoint reporting the build metadata the image passes it;
- ``CLOSED_ON_STOP``: a line the service logs once it has closed its storage on SIGTERM;
- ``DEV_EDIT``: an edit of the sources whose effect the dev loop then serves (compose).
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tools.project import ENV_PREFIX, HEALTH_PATH, PACKAGE

if TYPE_CHECKING:
    from pathlib import Path

    from .containers import Container

__all__ = ["HEALTH_PATH"]  # re-exported: the checks read the health path here too

# The service's own settings that the image tests set.
DATA_DIR = f"{ENV_PREFIX}DATA_DIR"
INVALID_SETTINGS = {
    "port": f"{ENV_PREFIX}PORT=eighty",
    "log-level": f"{ENV_PREFIX}LOG_LEVEL=chatty",
}
# In the one ERROR line the service prints when the data folder cannot be written.
UNWRITABLE_DATA = "is not writable"
# Run inside the image's Python: where its code, venv and data folder are.
LOCATE_APP = (
    f"import json, sys, {PACKAGE}; from {PACKAGE}.settings import Settings; "
    f"print(json.dumps({{'code': {PACKAGE}.__path__[0], 'venv': sys.prefix, "
    f"'data': str(Settings().data_dir.resolve())}}))"
)

# compose.yaml's stop_grace_period must leave it this long.
GRACEFUL_SHUTDOWN_SECONDS: int = importlib.import_module(
    f"{PACKAGE}.__main__"
).GRACEFUL_SHUTDOWN_SECONDS


def write(container: "Container", n: int) -> str | None:
    """Store something; its key once the service acknowledged it as stored, else None."""
    answer = container.request("POST", "/links", {"url": f"https://example.com/{n}"})
    return answer.json()["code"] if answer.status == 201 else None


def stored(container: "Container", key: str) -> bool:
    return container.request("GET", f"/links/{key}").status == 200


def round_trip(container: "Container") -> str:
    """Write, then read back through the published port; '' when it worked, else what happened."""
    created = container.request("POST", "/links", {"url": "https://example.com/round-trip"})
    if created.status not in (200, 201):
        return f"POST /links answered {created.status}"
    followed = container.request("GET", f"/{created.json()['code']}")
    if (
        followed.status != 307
        or followed.headers.get("location") != "https://example.com/round-trip"
    ):
        return f"GET /<code> answered {followed.status} to {followed.headers.get('location')}"
    return ""


@dataclass(frozen=True)
class AdminToken:
    """An admin secret the service reads from a file at start."""

    path: str  # where the service reads it in the image (a Compose or Kubernetes secret)
    unreadable: str  # in its one ERROR line, exit 1, when the file cannot be read
    disabled: str  # logged once when there is no file: the feature is off, the service runs
    accepted: Callable[["Container", str], bool]  # a request with this token is authorized
    required: Callable[["Container"], bool]  # one without any token is refused (401)
    off: Callable[["Container"], bool]  # without a file, the feature answers as disabled


def _delete(container: "Container", token: str | None = None) -> int:
    """DELETE an unknown code, with ``token`` as bearer if given: 404 means authorized."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    return container.request("DELETE", "/links/no-such-code", headers=headers).status


ADMIN_TOKEN: AdminToken | None = AdminToken(
    path="/run/secrets/admin_token",
    unreadable="cannot read",
    disabled="deletion disabled",
    accepted=lambda container, token: _delete(container, token) == 404,
    required=lambda container: _delete(container) == 401,
    off=lambda container: _delete(container) == 403,
)


def _build_info(container: "Container") -> dict[str, str]:
    return container.request("GET", "/version").json()


# What the service reports of the build args: keys version, revision and build_date.
BUILD_INFO: Callable[["Container"], dict[str, str]] | None = _build_info

CLOSED_ON_STOP: str | None = "database closed"


@dataclass(frozen=True)
class DevEdit:
    """One edit to the sources whose effect the running service then answers."""

    source: str  # the file edited, relative to the project root
    edit: Callable[["Path", str], None]  # make the edit under a project root, with a marker
    serves: Callable[["Container", str], bool]  # whether the running service answers it


def _edit_health(root: "Path", marker: str) -> None:
    path = root / f"src/{PACKAGE}/app.py"
    path.write_text(path.read_text().replace('"status": "ok"', f'"status": "{marker}"', 1))


def _serves_health(container: "Container", marker: str) -> bool:
    try:
        return container.request("GET", HEALTH_PATH).json().get("status") == marker
    except (OSError, ValueError):
        return False


DEV_EDIT: DevEdit | None = DevEdit(f"src/{PACKAGE}/app.py", _edit_health, _serves_health)
