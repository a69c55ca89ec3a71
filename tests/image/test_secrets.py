"""No secret reaches the optimized image; the baseline leaks every one (the negative control).

Both images are built, without cache, from a temporary copy of the build context into which
canary secrets are planted: an .env file, a fake .git folder, and a build secret given both
ways a Dockerfile can take one (a build arg, and a BuildKit secret mount).
"""

from collections.abc import Iterator

import pytest

from tools import canaries, images

from .conftest import per_image


@pytest.fixture(scope="session")
def leaks(tmp_path_factory: pytest.TempPathFactory, bases: dict[str, str]) -> Iterator[dict]:
    """Image name -> canary kind -> where it was found, for both canary builds."""
    workdir = tmp_path_factory.mktemp("canary")
    netrc = canaries.plant(workdir / "context")
    found = {}
    for image in images.IMAGES:
        tag = f"shortlink-canary:{image.name}"
        images.build(
            image,
            bases,
            tag=tag,
            context=workdir / "context",
            no_cache=True,
            quiet=True,
            **canaries.build_inputs(netrc),
        )
        found[image.name] = canaries.find(tag, workdir)
    yield found
    for image in images.IMAGES:
        images.docker("rmi", "--force", f"shortlink-canary:{image.name}", check=False)


@per_image(optimized=True, baseline=False)
@pytest.mark.parametrize("canary", canaries.CANARIES)
def test_canary_secret_appears_nowhere_in_the_image(
    leaks: dict, image: images.Image, expected: bool, canary: str
) -> None:
    where = leaks[image.name][canary]
    assert (not where) is expected, f"{canary} canary found in: {where[:10]}"
