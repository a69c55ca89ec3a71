"""The seam between the image contract and the service inside it: everything the image checks
(tests/contract, tests/compose, tests/features, lab/multiarch) know of the service is declared
here, every literal they look for included, and each image's profile; only the feature checks
of shortlink's own API (tests/features/test_clients.py, replaced with the service) speak it
directly. Replacing the service? Rewrite this module for your API; `nox -s unit` (tests/seam)
says in seconds what is missing or inconsistent, and the image contract around it stays as it
is.

What the builds, compose and the checks need to run it (its health path, the settings it must
be given, its system packages, its dev server) is its profile, pyproject.toml's
``[tool.service]`` (tools/profile.py); this module says how the checks talk to it.

What the Dockerfiles and compose.yaml assume of every service (tests/seam checks the names):
its console script ``PACKAGE`` (pyproject.toml) runs ``PACKAGE.__main__:main``, which serves
on ``PACKAGE_HOST``:``PACKAGE_PORT`` (8000 unless set) and keeps its data in
``PACKAGE_DATA_DIR``, returns once stopped by SIGTERM, and defines
``GRACEFUL_SHUTDOWN_SECONDS``; ``PACKAGE.healthcheck:main`` returns 0 when the service answers
(the HEALTHCHECK); the dev loop runs the profile's ``dev-command``. The helpers the checks
give you: ``container.request(method, path, payload=None, headers=None)`` answers a
``Response`` (``status``, ``headers`` by lower-case name, ``body``, ``json()``;
tools/containers.py).

Required of every service, here:
- ``IMAGES``: each image's ``ImageProfile`` (tests/contract/profile.py): what only it promises
  (no shell, no package manager, no pip, a size cap) and how to run its Python;
  ``VENV_BUDGET_MB``: what the venv may add to the runtime base;
- ``round_trip(container)``: a write and its read-back through the published port, '' when
  they worked, else what happened;
- ``write(container, n)``: the n-th write of a series the service acknowledges as durable: its
  key (a str), or None when not acknowledged; ``stored(container, key)``: whether it reads back;
- ``DATA_DIR``, ``INVALID_SETTINGS``, ``UNWRITABLE_DATA``: the setting naming the data folder;
  settings the service must refuse at start, a label for each mapped to ``"VARIABLE=value"``
  (exit 2, one ERROR line naming the variable); the words of its one ERROR line when the data
  folder is not writable (exit 1);
- ``LOCATE_APP``: Python run in the image that prints JSON with the keys ``code``, ``venv`` and
  ``data``: the folders of its code, its virtual environment and its data;
- ``GRACEFUL_SHUTDOWN_SECONDS``: the longest it takes to end in-flight requests on SIGTERM.

Optional features, each ``None`` when the service has none: the checks that prove one are then
reported as not applicable to this service, by name, in the run's summary (tests/conftest.py),
and never run.
- ``ADMIN_TOKEN``: an admin secret read from a file (``AdminToken``, tests/seam/shapes.py);
- ``BUILD_INFO``: an endpoint reporting the build metadata the image passes it;
- ``CLOSED_ON_STOP``: a line the service logs once it has closed its storage on SIGTERM;
- ``DEV_EDIT``: an edit of the sources whose effect the dev loop then serves (``DevEdit``);
- ``SERVICE_LINKS``: the words of the one line it logs when it ignores a service link an
  orchestrator injected into a variable named like its own (``PACKAGE_PORT=tcp://IP:PORT``);
- ``JSON_LOGS``: the ``"VARIABLE=value"`` that makes every log line JSON, start-up errors too;
- ``PROXY``: links that follow a trusted reverse proxy's headers (``ProxyHeaders``);
- ``JSON_BODY_PATH``: a path whose POST reads a JSON request body (the contract trickles one
  there, a byte at a time, to see the server drop it: tests/contract/clients);
- ``GUARDS_OFF``: the ``"VARIABLE=value"`` that turns each of the server's guards against hostile
  clients off, by guard (``header-bytes``, ``body-time``, ``keep-alive``): the demonstration's
  negative controls run the image so, and must see the contract's check of that guard fail;
- ``RESOURCE_ERRORS``: the words of the line counting the errors of a file-descriptor
  exhaustion, logged instead of one line (and traceback) each;
- ``UNWRITABLE_DATABASE``: the words of its one ERROR line (exit 1) when a file its storage left
  in the data folder belongs to another uid (an older image that ran as root).
"""

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

# The service's own settings that the image tests set.
# Each image's profile, by image name (tools/images.py: optimized is `Dockerfile`, minimal is
# `Dockerfile.minimal`; a profile whose Dockerfile was deleted is not used). Every check of the
# contract holds on every image; these say what only some of them promise.
IMAGES: dict[str, ImageProfile] = {
    # Far below the baseline's ~1.3 GB and the seed's quoted 937 MB; above any slim Python image.
    "optimized": ImageProfile(size_cap_mb=250),
    # Distroless: nothing for code execution to use, and a Python runtime without the OS. About
    # 87 MB, the whole stdlib's and venv's bytecode included (no module compiles at run time).
    "minimal": ImageProfile(no_shell=True, no_package_manager=True, no_pip=True, size_cap_mb=95),
}
# The virtual environment's budget over the runtime base: fastapi, pydantic (its compiled core
# is most of it), uvicorn and the app, bytecode included, measure about 17 MB installed; 40 MB
# leaves room to grow without hiding a stray layer (tests/contract/test_size.py).
VENV_BUDGET_MB = 40

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


def _edit_health(root: "Path", marker: str) -> None:
    path = root / f"src/{PACKAGE}/app.py"
    path.write_text(path.read_text().replace('"status": "ok"', f'"status": "{marker}"', 1))


def _serves_health(container: "Container", marker: str) -> bool:
    try:
        return container.request("GET", profile().health_path).json().get("status") == marker
    except (OSError, ValueError):
        return False


DEV_EDIT: DevEdit | None = DevEdit(f"src/{PACKAGE}/app.py", _edit_health, _serves_health)

SERVICE_LINKS: str | None = "enableServiceLinks: false"

JSON_LOGS: str | None = f"{ENV_PREFIX}LOG_FORMAT=json"


def _short_url(container: "Container", headers: dict[str, str]) -> str:
    answer = container.request("POST", "/links", {"url": "https://example.com/proxied"}, headers)
    return answer.json().get("short_url", "") if answer.status in (200, 201) else ""


PROXY: ProxyHeaders | None = ProxyHeaders(
    trusted=f"{ENV_PREFIX}FORWARDED_ALLOW_IPS",
    settings=(f"{ENV_PREFIX}ALLOWED_HOSTS=links.example.com",),
    host="links.example.com",
    link=_short_url,
)

JSON_BODY_PATH: str | None = "/links"

GUARDS_OFF: dict[str, str] | None = {
    "header-bytes": f"{ENV_PREFIX}MAX_HEADER_BYTES=1000000000",
    "body-time": f"{ENV_PREFIX}BODY_TIMEOUT_SECONDS=3600",
    "keep-alive": f"{ENV_PREFIX}KEEP_ALIVE_SECONDS=5",
}

RESOURCE_ERRORS: str | None = "not logged one by one"

UNWRITABLE_DATABASE: str | None = "write it; fix: chown"
