"""The seam for guestbook, which the adoption test puts in place of tests/service.py: a Django
app served by gunicorn, its entries in SQLite, its static files collected at build time. Of
the optional features it has only DEV_EDIT."""

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

# Each image's own cap, from what was measured (nox -s build, stand-in bases, 2026-12-06): the
# optimized image 159.1 MB on its 112.6 MB python base, the minimal one 101.2 MB (shortlink's
# 95 MB cap does not fit Django). Room for the official bases, a few MB larger, and for growth.
IMAGES: dict[str, ImageProfile] = {
    "optimized": ImageProfile(size_cap_mb=200),
    "minimal": ImageProfile(no_shell=True, no_package_manager=True, no_pip=True, size_cap_mb=120),
}
# What the image adds to its runtime base (tests/contract/test_size.py): the venv, 34.1 MB
# (Django is most of it, its locales and unused contrib apps' files included; gunicorn,
# whitenoise), and the stdlib's bytecode, 11.6 MB: 46.5 MB measured. 60 leaves room to grow
# without hiding a stray layer (another copy of the venv would not fit).
VENV_BUDGET_MB = 60

DATA_DIR = f"{ENV_PREFIX}DATA_DIR"
INVALID_SETTINGS = {
    "port": f"{ENV_PREFIX}PORT=eighty",
    "log-level": f"{ENV_PREFIX}LOG_LEVEL=chatty",
    # Blank: refused as unset is (the checks always pass the profile's value, then this).
    "blank-secret-key": f"{ENV_PREFIX}SECRET_KEY= ",
}
UNWRITABLE_DATA = "is not writable"
LOCATE_APP = (
    f"import json, sys, {PACKAGE}; from {PACKAGE}.config import Settings; "
    f"print(json.dumps({{'code': {PACKAGE}.__path__[0], 'venv': sys.prefix, "
    f"'data': str(Settings.from_environment(secret_required=False).data_dir.resolve())}}))"
)
GRACEFUL_SHUTDOWN_SECONDS: int = importlib.import_module(
    f"{PACKAGE}.__main__"
).GRACEFUL_SHUTDOWN_SECONDS

# Collected by the build step (collectstatic) into /app/assets; served only from there.
_STATIC = f"/static/{PACKAGE}/style.css"


def write(container: "Container", n: int) -> str | None:
    """Sign the guestbook; the entry's id once the service committed it, else None."""
    answer = container.request("POST", "/entries", {"name": f"guest {n}"})
    return str(answer.json()["id"]) if answer.status == 201 else None


def stored(container: "Container", key: str) -> bool:
    return container.request("GET", f"/entries/{key}").status == 200


def round_trip(container: "Container") -> str:
    """Sign, read the entry back, and fetch the collected stylesheet; '' when all worked."""
    created = container.request("POST", "/entries", {"name": "round trip"})
    if created.status != 201:
        return f"POST /entries answered {created.status}: {created.body[:200]!r}"
    answer = container.request("GET", f"/entries/{created.json()['id']}")
    if answer.status != 200 or answer.json().get("name") != "round trip":
        return f"GET /entries/<id> answered {answer.status}: {answer.body[:200]!r}"
    static = container.request("GET", _STATIC)
    if static.status != 200 or not static.headers.get("content-type", "").startswith("text/css"):
        return f"GET {_STATIC} (the build step's output) answered {static.status}"
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
    path = root / f"src/{PACKAGE}/views.py"
    path.write_text(path.read_text().replace('"status": "ok"', f'"status": "{marker}"', 1))


def _serves_health(container: "Container", marker: str) -> bool:
    try:
        return container.request("GET", profile().health_path).json().get("status") == marker
    except (OSError, ValueError):
        return False


# gunicorn --reload restarts its worker once it sees the edited file (it polls each second).
DEV_EDIT: DevEdit | None = DevEdit(f"src/{PACKAGE}/views.py", _edit_health, _serves_health)
