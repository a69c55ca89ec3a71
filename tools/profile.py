"""The service's profile: what the images, compose and the image checks need of the service,
declared by it once, in pyproject.toml's ``[tool.service]`` table (docs, "Adopt it"). A TOML
table, not Python: the builds and compose read it without importing the service.

``profile()`` reads and checks it; a missing or malformed field raises ``ProfileError`` naming
it, in one line (``nox -s unit`` and every tool that needs it say so in seconds).
"""

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tools.engine import ImageToolError
from tools.project import ROOT

TABLE = "[tool.service]"
# Where the build step writes what the runtime gets (both Dockerfiles copy it, read-only).
ASSETS = "/app/assets"
# Debian's package names (Debian Policy 5.6.1): what apt-get is given, nothing a shell expands.
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
# A Compose secret's name: its file's name too (./NAME) and /run/secrets/NAME.
SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# A setting's name as a process environment takes it (POSIX: letters, digits, underscores).
SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ProfileError(ImageToolError):
    """``[tool.service]`` lacks a field or contradicts itself: the message names the field."""


@dataclass(frozen=True)
class Database:
    """A database server the service needs beside it, on a private network as host ``db``."""

    # The official image (a stand-in where no registry answers: tools/base_images.py).
    image: str
    # Its environment (POSTGRES_PASSWORD...): the checks and compose start it with these.
    environment: dict[str, str]
    # Exit 0 once it accepts connections (pg_isready...), run in its container, exec form.
    ready: tuple[str, ...]
    # The folder it keeps its data in (its image's VOLUME): compose gives it a named volume,
    # so the data outlives `down` and goes with `down --volumes`, as the service's own.
    data: str

    def run_args(self) -> tuple[str, ...]:
        return env_args(self.environment)


@dataclass(frozen=True)
class ServiceProfile:
    """The service, as the images and their checks need it (field by field: pyproject.toml)."""

    # Answers 200 once the service serves: every wait of the tools and the checks asks it.
    health_path: str
    # Answers 200 while it should be sent requests (Kubernetes' readiness probe); by default
    # the health path.
    readiness_path: str
    # The settings the image must be given to start, with the values the checks and compose pass.
    settings: dict[str, str]
    # Debian packages the builder stage alone installs (a compiler, -dev headers).
    build_packages: tuple[str, ...]
    # Debian packages the runtime needs too (the libraries the venv's extension modules link).
    runtime_packages: tuple[str, ...]
    # The dev loop's server, in exec form, reloading on each edit (compose's `dev` service).
    dev_command: tuple[str, ...]
    # Compose secrets the service reads as /run/secrets/NAME, each from the file ./NAME.
    secrets: tuple[str, ...]
    # A shell command the builder runs once the project is installed (collectstatic...); what it
    # writes to ASSETS reaches the runtime, read-only; "" for none.
    build_step: str
    # A database server beside it (its address reaches the service through ``settings``).
    database: Database | None = None

    def build_args(self) -> dict[str, str]:
        """The build args every Dockerfile of the kernel declares for the packages
        (tools/images.PACKAGE_ARGS)."""
        return {
            "BUILD_PACKAGES": " ".join(self.build_packages),
            "RUNTIME_PACKAGES": " ".join(self.runtime_packages),
            "BUILD_STEP": self.build_step,
        }

    def run_args(self) -> tuple[str, ...]:
        """``docker run`` options that give the image its required settings."""
        return env_args(self.settings)


def env_args(environment: dict[str, str]) -> tuple[str, ...]:
    """``docker run`` options that set ``environment``."""
    return tuple(f"--env={name}={value}" for name, value in environment.items())


def _environment(table: dict, name: str, within: str = "") -> dict[str, str]:
    """``table[name]``, a table of variable names to strings; ProfileError naming a bad one."""
    found = _field(table, name, dict, "a table of NAME = 'value'", within)
    for variable, value in found.items():
        if not SETTING_NAME.fullmatch(variable) or not isinstance(value, str):
            raise ProfileError(
                f"{TABLE} {within}{name}.{variable}: not a variable name with a string value"
            )
    return dict(found)


def _field(table: dict, name: str, kind: type, what: str, within: str = "") -> object:
    """``table[name]``, a ``kind``; ProfileError naming ``within`` + ``name`` otherwise."""
    if name not in table:
        raise ProfileError(f"{TABLE} {within}{name}: missing; {what}")
    value = table[name]
    if not isinstance(value, kind):
        raise ProfileError(f"{TABLE} {within}{name}: {value!r} is not {what}")
    return value


def _strings(
    table: dict, name: str, what: str, pattern: re.Pattern | None = None, within: str = ""
) -> tuple:
    values = _field(table, name, list, what, within)
    bad = [v for v in values if not isinstance(v, str) or (pattern and not pattern.fullmatch(v))]
    if bad:
        raise ProfileError(f"{TABLE} {within}{name}: {bad[0]!r} is not {what}")
    return tuple(values)


def parse(table: dict) -> ServiceProfile:
    """A ``ServiceProfile`` from the ``[tool.service]`` table; ProfileError naming the field."""
    health_path = _path(table, "health-path")
    readiness_path = _path(table, "readiness-path") if "readiness-path" in table else health_path
    settings = _environment(table, "settings")
    packages = _field(table, "packages", dict, "a table with `build` and `runtime` lists")
    what = "a Debian package name (lower case, digits, + . -)"
    build = _strings(packages, "build", what, PACKAGE_NAME, "packages.")
    runtime = _strings(packages, "runtime", what, PACKAGE_NAME, "packages.")
    dev = _strings(table, "dev-command", "the dev server's argv, in exec form")
    if not dev:
        raise ProfileError(f"{TABLE} dev-command: empty; the dev server's argv, in exec form")
    secrets = _strings(table, "secrets", "a file name (letters, digits, _ . -)", SECRET_NAME)
    step = _field(table, "build-step", str, "a shell command, or '' for none")
    if "\n" in step:
        raise ProfileError(f"{TABLE} build-step: one line; chain commands with &&")
    return ServiceProfile(
        health_path, readiness_path, settings, build, runtime, dev, secrets, step, _database(table)
    )


def _path(table: dict, name: str) -> str:
    """``table[name]``, an HTTP path; ProfileError naming the field otherwise."""
    path = _field(table, name, str, "a path, like '/healthz'")
    if not path.startswith("/"):
        raise ProfileError(f"{TABLE} {name}: {path!r} does not start with '/'")
    return path


def _database(table: dict) -> Database | None:
    """The optional ``[tool.service.database]`` table."""
    if "database" not in table:
        return None
    found = _field(table, "database", dict, "a table with image, environment and ready")
    image = _field(found, "image", str, "an image reference, like 'postgres:17'", "database.")
    environment = _environment(found, "environment", "database.")
    ready = _strings(found, "ready", "the argv that exits 0 once it serves", within="database.")
    if not ready:
        raise ProfileError(f"{TABLE} database.ready: empty; e.g. ['pg_isready']")
    data = _field(
        found, "data", str, "an absolute path, like '/var/lib/postgresql/data'", "database."
    )
    if not data.startswith("/"):
        raise ProfileError(f"{TABLE} database.data: {data!r} is not an absolute path")
    return Database(image, environment, ready, data)


@functools.cache
def profile(root: Path = ROOT) -> ServiceProfile:
    """The profile ``root``'s pyproject.toml declares; ProfileError naming what is wrong."""
    document = tomllib.loads((root / "pyproject.toml").read_text())
    table = document.get("tool", {}).get("service")
    if not isinstance(table, dict):
        raise ProfileError(f"{TABLE}: missing from pyproject.toml; declare the service's profile")
    return parse(table)
