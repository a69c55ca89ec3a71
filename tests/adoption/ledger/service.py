"""The seam for ledger, which the adoption test puts in place of tests/service.py: what a
cloner writes for their own service. It declares the same names as shortlink's, for an API
that keeps its entries in PostgreSQL; of the optional features it has only DEV_EDIT."""

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.contract.profile import ImageProfile
from tests.seam.shapes import AdminToken, DevEdit, ProxyHeaders
from tools.profile import profile
from tools.project import ENV_PREFIX, PACKAGE

if TYPE_CHECKING:
    from pathlib import Path

    from tools.containers import Running as Container

IMAGES: dict[str, ImageProfile] = {
    "optimized": ImageProfile(size_cap_mb=250),
    # Measured 88.4 MB: shortlink's minimal image and libpq with what it links (Kerberos, LDAP).
    "minimal": ImageProfile(no_shell=True, no_package_manager=True, no_pip=True, size_cap_mb=100),
}
VENV_BUDGET_MB = 40

DATA_DIR = f"{ENV_PREFIX}DATA_DIR"
INVALID_SETTINGS = {
    "port": f"{ENV_PREFIX}PORT=eighty",
    "log-level": f"{ENV_PREFIX}LOG_LEVEL=chatty",
}
UNWRITABLE_DATA = "is not writable"
LOCATE_APP = (
    f"import json, sys, {PACKAGE}; from {PACKAGE}.settings import Settings; "
    f"print(json.dumps({{'code': {PACKAGE}.__path__[0], 'venv': sys.prefix, "
    f"'data': str(Settings.from_environment().data_dir.resolve())}}))"
)
_MAIN = importlib.import_module(f"{PACKAGE}.__main__")
GRACEFUL_SHUTDOWN_SECONDS: int = _MAIN.GRACEFUL_SHUTDOWN_SECONDS


def write(container: "Container", n: int) -> str | None:
    """Store an entry; its number once the service acknowledged it, else None."""
    answer = container.request("POST", "/entries", {"memo": f"entry {n}"})
    return str(answer.json()["id"]) if answer.status == 201 else None


def stored(container: "Container", key: str) -> bool:
    return container.request("GET", f"/entries/{key}").status == 200


def round_trip(container: "Container") -> str:
    """Store an entry in PostgreSQL, then read it back; '' when it worked, else what happened."""
    created = container.request("POST", "/entries", {"memo": "round trip"})
    if created.status != 201:
        return f"POST /entries answered {created.status}: {created.body[:200]!r}"
    answer = container.request("GET", f"/entries/{created.json()['id']}")
    if answer.status != 200 or answer.json() != {"memo": "round trip"}:
        return f"GET /entries/<id> answered {answer.status}: {answer.body[:200]!r}"
    return ""


ADMIN_TOKEN: AdminToken | None = None
BUILD_INFO: Callable[["Container"], dict[str, str]] | None = None
CLOSED_ON_STOP: str | None = None
SERVICE_LINKS: str | None = None
JSON_LOGS: str | None = None
PROXY: ProxyHeaders | None = None
JSON_BODY_PATH: str | None = "/entries"

GUARDS_OFF: dict[str, str] | None = None
RESOURCE_ERRORS: str | None = None
UNWRITABLE_DATABASE: str | None = None


def _edit_health(root: "Path", marker: str) -> None:
    path = root / f"src/{PACKAGE}/app.py"
    path.write_text(path.read_text().replace('"status": "ok"', f'"status": "{marker}"', 1))


def _serves_health(container: "Container", marker: str) -> bool:
    try:
        return container.request("GET", profile().health_path).json().get("status") == marker
    except (OSError, ValueError):
        return False


DEV_EDIT: DevEdit | None = DevEdit(f"src/{PACKAGE}/app.py", _edit_health, _serves_health)
