"""No secret reaches the image.

Every image is built from a temporary copy of the build context into which canary secrets are
planted: an .env file, a token in the git remote URL, and a build secret given both ways a
Dockerfile can take one (a build arg, and a BuildKit secret mount). The build uses the layer
cache: the canaries are the same each run (tools/canaries.py says why that is sound).
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tools import canaries, engine, images
from tools.project import NAME

from .profile import Expected, Subject, verdict

CANARY_REMOTE = "https://git.example.invalid/org/repo.git"


@pytest.fixture(scope="session")
def canary_images(
    tmp_path_factory: pytest.TempPathFactory, bases: dict[str, str], subjects: list[Subject]
) -> Iterator[dict[str, str]]:
    """Image name -> tag of its canary build; two built at a time, removed at the end."""
    workdir = tmp_path_factory.mktemp("canary")
    netrc = canaries.plant(workdir / "context")
    tags = {image.name: f"{NAME}-canary:{image.name}" for image in subjects}

    def build(image: images.Image) -> None:
        images.build(
            image,
            bases,
            tag=tags[image.name],
            context=workdir / "context",
            quiet=True,
            **canaries.build_inputs(netrc),
        )

    try:
        # Two at a time: more only queue for the same cores.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(build, subjects))
        yield tags
    finally:
        for tag in tags.values():
            engine.docker("rmi", "--force", tag, check=False)


@pytest.fixture(scope="session")
def leaks(
    canary_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, list[str]]]:
    """Image name -> canary kind -> where it was found."""
    workdir = tmp_path_factory.mktemp("saved")
    return {name: canaries.find(tag, workdir) for name, tag in canary_images.items()}


@pytest.mark.parametrize("canary", canaries.CANARIES)
def test_canary_secret_appears_nowhere_in_the_image(
    leaks: dict, image: Subject, canary: str, expected: Expected
) -> None:
    where = leaks[image.name][canary]
    verdict(expected, not where, f"{canary} canary found in: {where[:10]}")


def test_source_label_names_the_remote_without_its_credentials(
    canary_images: dict[str, str], image: images.Image, expected: Expected
) -> None:
    labels = engine.inspect(canary_images[image.name])["Config"]["Labels"] or {}
    source = labels.get("org.opencontainers.image.source")
    verdict(expected, source == CANARY_REMOTE, f"source label {source}")
