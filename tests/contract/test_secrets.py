"""No secret reaches the image.

Every image is built from a temporary copy of the build context into which canary secrets are
planted: an .env file, a token in the git remote URL, and a build secret given both ways a
Dockerfile can take one (a build arg, and a BuildKit secret mount). The build uses the layer
cache: the canaries are the same each run (tools/canaries.py says why that is sound).
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import canaries, engine, images
from tools.project import NAME

from .profile import Expected, Subject, verdict

CANARY_REMOTE = "https://git.example.invalid/org/repo.git"


class CanaryBuilds:
    """Each image's canary build, made on its first check (in the worker that runs that image's
    checks) from one planted context; where each canary was found in it. Removed at the end."""

    def __init__(self, workdir: Path, bases: dict[str, str]) -> None:
        self._workdir, self._bases = workdir, bases
        self._netrc: Path | None = None
        self._tags: dict[str, str] = {}
        self._leaks: dict[str, dict[str, list[str]]] = {}

    def tag(self, image: images.Image) -> str:
        if image.name not in self._tags:
            if self._netrc is None:
                self._netrc = canaries.plant(self._workdir / "context")
            tag = f"{NAME}-canary:{image.name}-{uuid.uuid4().hex[:8]}"
            images.build(
                image,
                self._bases,
                tag=tag,
                context=self._workdir / "context",
                quiet=True,
                **canaries.build_inputs(self._netrc),
            )
            self._tags[image.name] = tag
        return self._tags[image.name]

    def leaks(self, image: images.Image) -> dict[str, list[str]]:
        """Canary kind -> where it was found in the image's canary build."""
        if image.name not in self._leaks:
            self._leaks[image.name] = canaries.find(self.tag(image), self._workdir)
        return self._leaks[image.name]

    def remove(self) -> None:
        for tag in self._tags.values():
            engine.docker("rmi", "--force", tag, check=False)


@pytest.fixture(scope="session")
def canary_builds(
    tmp_path_factory: pytest.TempPathFactory, bases: dict[str, str]
) -> Iterator[CanaryBuilds]:
    builds = CanaryBuilds(tmp_path_factory.mktemp("canary"), bases)
    try:
        yield builds
    finally:
        builds.remove()


@pytest.mark.parametrize("canary", canaries.CANARIES)
def test_canary_secret_appears_nowhere_in_the_image(
    canary_builds: CanaryBuilds, image: Subject, canary: str, expected: Expected
) -> None:
    where = canary_builds.leaks(image)[canary]
    verdict(expected, not where, f"{canary} canary found in: {where[:10]}")


def test_source_label_names_the_remote_without_its_credentials(
    canary_builds: CanaryBuilds, image: images.Image, expected: Expected
) -> None:
    labels = engine.inspect(canary_builds.tag(image))["Config"]["Labels"] or {}
    source = labels.get("org.opencontainers.image.source")
    verdict(expected, source == CANARY_REMOTE, f"source label {source}")
