"""A Compose project of a test's own: its name, its files, its containers, and its removal.

Each Stack has a project name no user's stack has (`-p`), so the tests never touch a running
one, and `remove` takes away every container, volume, network and image the project made.
"""

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools import compose, engine
from tools.containers import PREFIX
from tools.containers import Running as Container
from tools.project import ROOT

# Builds are mostly cached; the first one of the dev image downloads the dev dependencies.
BUILD_SECONDS = 600
WAIT_SECONDS = 120


def require_override() -> Path:
    """The override `nox -s compose` writes: the stand-ins and CA bundle of this machine."""
    if not compose.OVERRIDE.is_file():
        pytest.exit(f"{compose.OVERRIDE} is missing: run `nox -s compose`", returncode=1)
    return compose.OVERRIDE


@dataclass
class Stack:
    """``docker compose -p <own name>`` on the compose.yaml in ``root``."""

    root: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    project: str = field(default_factory=lambda: f"{PREFIX}-{uuid.uuid4().hex[:12]}")

    def command(self, *args: str) -> list[str]:
        files = ["-f", str(self.root / "compose.yaml"), "-f", str(require_override())]
        return ["docker", "compose", "-p", self.project, *files, *args]

    def run(
        self, *args: str, timeout: float = WAIT_SECONDS, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.environment(),
        )
        if check and done.returncode:
            pytest.fail(f"docker compose {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done

    def environment(self) -> dict[str, str]:
        # Published on a free loopback port, never on a port a user's stack may hold.
        return os.environ | {"PUBLISH": "127.0.0.1:0", "DEV_PUBLISH": "127.0.0.1:0"} | self.env

    def up(self) -> None:
        self.run("up", "--wait", "--build", "app", timeout=BUILD_SECONDS)

    def container(self, service: str, *, seconds: float = WAIT_SECONDS) -> Container:
        """The service's running container, once its port is published."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ids = self.run("ps", "--quiet", service, check=False).stdout.split()
            address = self.run("port", service, "8000", check=False).stdout.strip()
            if ids and address:
                port = int(address.rsplit(":", 1)[1])
                return Container(ids[0], port)
            time.sleep(0.5)
        pytest.fail(f"service {service} of {self.project} did not run within {seconds} s")

    def inspect(self, container: Container) -> dict:
        return json.loads(engine.docker("inspect", container.id))[0]

    def image(self, service: str) -> str:
        """The image Compose built for ``service`` (named after the project, no `image:`)."""
        return f"{self.project}-{service}"

    def remove(self) -> list[str]:
        """Take the project down with its volumes and images; what is left of it (nothing)."""
        self.run(
            "--profile",
            "*",
            "down",
            "--volumes",
            "--rmi",
            "local",
            "--remove-orphans",
            check=False,
        )
        # A rebuild (the dev loop's, after a lock change) leaves the image it replaced untagged,
        # where `--rmi local` no longer sees it: Compose's label still names the project.
        built = engine.docker("image", "ls", "--quiet", "--filter", project_label(self.project))
        for image in set(built.split()):
            engine.docker("image", "rm", "--force", image, check=False)
        return leftovers(self.project)


def numeric_non_root(user: str) -> bool:
    """Whether a `user[:group]` setting names a numeric uid other than 0."""
    uid = user.split(":")[0]
    return uid.isdigit() and int(uid) != 0


def project_label(project: str) -> str:
    """The filter for what Compose made for ``project``: it labels everything it makes."""
    return f"label=com.docker.compose.project={project}"


def leftovers(project: str) -> list[str]:
    """Containers, volumes, networks and images (tagged or not) of ``project`` that still exist."""
    found = []
    for kind in ("container", "volume", "network", "image"):
        listed = ["ls", "--all"] if kind == "container" else ["ls"]
        names = engine.docker(kind, *listed, "--quiet", "--filter", project_label(project))
        found += [f"{kind} {name}" for name in set(names.split())]
    tags = engine.docker("image", "ls", "--format", "{{.Repository}}").split()
    found += [f"image {tag}" for tag in tags if tag.startswith(f"{project}-")]
    return found
