"""Compose with the service's profile, under this machine's build conditions, for `nox -s
compose` and its tests: ``python -m tools.compose`` checks Compose and writes the override
(exit 1 with one line).

compose.yaml knows no service: the override gives it what the profile declares
(tools/profile.py): the Debian packages as build args, the required settings, the secrets (the
`app` service's, each from the file ./NAME or $NAME_FILE) and the dev server (the `dev` service's
command). It names the official bases only; on a machine that builds with stand-ins or behind a
TLS-intercepting proxy, the override also gives Compose what images.build gives buildx: the
stand-ins as named contexts (`additional_contexts`) and the host's CA bundle as a build secret.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

from tools import base_images, engine, images
from tools.containers import DATABASE_HOST
from tools.profile import Database, profile
from tools.project import ROOT

COMPOSE_FILE = ROOT / "compose.yaml"
# JSON is YAML: Compose reads it as a second compose file.
OVERRIDE = images.BUILD_DIR / "compose.build.yaml"
# The database beside the service, when its profile declares one: its Compose service, its host
# name on the project's network, as the checks name it, and its data's named volume.
DATABASE_SERVICE = DATABASE_HOST
DATABASE_VOLUME = "database"
# The version tested; README, "Requirements".
MINIMUM_VERSION = (2, 26)


def require_compose() -> str:
    """Compose's version; a clear error when the v2 plugin is missing or too old."""
    done = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True
    )
    version = done.stdout.strip().lstrip("v")
    numbers = tuple(int(part) for part in version.split("-")[0].split(".")[:2] if part.isdigit())
    if done.returncode or numbers < MINIMUM_VERSION:
        raise engine.ImageToolError(
            f"Docker Compose {'.'.join(map(str, MINIMUM_VERSION))} or newer is needed "
            f"(found: {version or 'none'}); on Debian, `bash offline/docker-engine` installs it"
        )
    return version


def write_override(bases: dict[str, str], compose_file: Path = COMPOSE_FILE) -> Path:
    """Write the override for every service of ``compose_file`` that builds; return its path."""
    config = json.loads(
        engine.docker(
            "compose", "-f", str(compose_file), "--profile", "*", "config", "--format", "json"
        )
    )
    service = profile(compose_file.parent)
    build: dict[str, object] = {"args": service.build_args()}
    standins = {ref: f"docker-image://{used}" for ref, used in bases.items() if used != ref}
    if standins:
        build["additional_contexts"] = standins
    secrets = {
        name: {"file": f"${{{secret_variable(name)}:-./{name}}}"} for name in service.secrets
    }
    if images.CA_BUNDLE.is_file():
        build["secrets"] = ["ca-bundle"]
        secrets["ca-bundle"] = {"file": str(images.CA_BUNDLE)}
    services: dict[str, dict[str, object]] = {
        name: {"build": build} for name, found in config["services"].items() if "build" in found
    }
    for name in ("app", "dev"):
        services[name]["environment"] = service.settings
    services["app"]["secrets"] = list(service.secrets)
    services["dev"]["command"] = list(service.dev_command)
    override: dict[str, object] = {"services": services}
    if service.database:
        services[DATABASE_SERVICE] = database_service(service.database)
        for name in ("app", "dev"):
            services[name]["depends_on"] = {DATABASE_SERVICE: {"condition": "service_healthy"}}
        override["volumes"] = {DATABASE_VOLUME: {}}
    override |= {"secrets": secrets} if secrets else {}
    OVERRIDE.parent.mkdir(parents=True, exist_ok=True)
    OVERRIDE.write_text(json.dumps(override, indent=2) + "\n")
    return OVERRIDE


def database_service(database: Database) -> dict[str, object]:
    """The Compose service of the profile's database: its image (a stand-in where no registry
    answers), environment and readiness as its health check; its data on a named volume, kept
    across `down` and `up` (an anonymous one would not be) and removed with `down --volumes`."""
    image = base_images.image_to_run(database.image)
    return {
        "image": image,
        "environment": database.environment,
        "healthcheck": {
            "test": ["CMD", *database.ready],
            "interval": "10s",
            "start_period": "60s",
            "start_interval": "1s",
        },
        "volumes": [f"{DATABASE_VOLUME}:{database.data}"],
        "restart": "unless-stopped",
    }


def secret_variable(name: str) -> str:
    """The variable that may name a secret's file instead of ./NAME: admin_token ->
    ADMIN_TOKEN_FILE."""
    return re.sub(r"\W", "_", name).upper() + "_FILE"


def main() -> int:
    try:
        engine.require_engine()
        print(f"Docker Compose {require_compose()}")
        override = write_override(base_images.resolve((images.OPTIMIZED,))[1])
    except engine.ImageToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"build settings for this machine: {override.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
