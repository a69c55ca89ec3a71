"""Every step of the journey (lab/journey/steps/, between the baseline and the Dockerfile, and the
distroless step beyond it) builds and serves."""

from collections.abc import Iterator

import pytest

from lab.journey import measure
from tests.image.containers import remove_container, start_container
from tools import base_images, engine, images
from tools.project import HEALTH_PATH, ROOT


@pytest.fixture(scope="session")
def journey_bases() -> Iterator[dict[str, str]]:
    try:
        engine.require_engine()
        yield base_images.resolve(tuple(step.image for step in measure.STEPS))[1]
    except engine.ImageToolError as error:
        pytest.exit(str(error), returncode=1)
    finally:
        measure.remove_step_images()


@pytest.mark.parametrize("step", measure.STEPS, ids=lambda step: f"step-{step.number}")
def test_journey_step_builds_and_answers_healthz(
    step: measure.Step, journey_bases: dict[str, str]
) -> None:
    images.build(step.image, journey_bases, quiet=True)
    container = start_container(step.image.tag)
    try:
        assert container.request("GET", HEALTH_PATH).json() == {"status": "ok"}
    finally:
        remove_container(container)


@pytest.mark.parametrize(
    "step",
    [step for step in measure.STEPS if step.dockerfile.startswith("lab/journey/steps/")],
    ids=lambda step: f"step-{step.number}",
)
def test_journey_step_sends_the_whole_context_like_the_baseline(step: measure.Step) -> None:
    ignore = ROOT / f"{step.dockerfile}.dockerignore"
    baseline = ROOT / f"{images.BASELINE.dockerfile}.dockerignore"
    assert ignore.read_text() == baseline.read_text()
