"""All the image tests know of the service inside: its health path, one round trip, one kind of
write that must survive, and how it reports bad start-up conditions. Replacing the service?
Rewrite this module; the image contract around it stays."""

from typing import TYPE_CHECKING

from tools.project import ENV_PREFIX, HEALTH_PATH, PACKAGE

if TYPE_CHECKING:
    from pathlib import Path

    from .containers import Container

# The service's own settings that the image tests set.
DATA_DIR = f"{ENV_PREFIX}DATA_DIR"
INVALID_SETTINGS = {
    "port": f"{ENV_PREFIX}PORT=eighty",
    "log-level": f"{ENV_PREFIX}LOG_LEVEL=chatty",
}
TOKEN_PATH = "/run/secrets/admin_token"
# Printed, on one ERROR line, when the data folder or the token file cannot be used.
UNWRITABLE_DATA = "is not writable"
UNREADABLE_TOKEN = "cannot read"
# Run inside the image's Python: where its code, venv and data folder are.
LOCATE_APP = (
    f"import json, sys, {PACKAGE}; from {PACKAGE}.settings import Settings; "
    f"print(json.dumps({{'code': {PACKAGE}.__path__[0], 'venv': sys.prefix, "
    f"'data': str(Settings().data_dir.resolve())}}))"
)


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


def build_info(container: "Container") -> dict[str, str]:
    """What the service reports of the build args the image passed it."""
    return container.request("GET", "/version").json()


def admin_token_accepted(container: "Container", token: str) -> bool:
    """Whether a delete with ``token`` gets past authorization (404: unknown key, but allowed)."""
    answer = container.request(
        "DELETE", "/links/no-such-code", headers={"Authorization": f"Bearer {token}"}
    )
    return answer.status == 404


def deletion_disabled(container: "Container") -> bool:
    return container.request("DELETE", "/links/no-such-code").status == 403


def admin_token_required(container: "Container") -> bool:
    """Whether a delete without any token is refused as unauthenticated."""
    return container.request("DELETE", "/links/no-such-code").status == 401


# The dev loop's proof: one edit to the source whose effect the running service then answers.
EDITED_SOURCE = f"src/{PACKAGE}/app.py"


def edit_source(root: "Path", marker: str) -> None:
    """Change what the health endpoint answers, in the sources under ``root``."""
    path = root / EDITED_SOURCE
    path.write_text(path.read_text().replace('"status": "ok"', f'"status": "{marker}"', 1))


def serves_edit(container: "Container", marker: str) -> bool:
    try:
        return container.request("GET", HEALTH_PATH).json().get("status") == marker
    except (OSError, ValueError):
        return False
