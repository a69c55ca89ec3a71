"""Every step of the journey (steps/, between the two Dockerfiles) builds and serves."""

import pytest

from tools import images, journey

from .conftest import remove_container, start_container


@pytest.fixture(scope="session")
def journey_bases() -> dict[str, str]:
    return images.resolve_base_images(tuple(step.image for step in journey.STEPS))[1]


@pytest.mark.parametrize("step", journey.STEPS, ids=lambda step: f"step-{step.number}")
def test_journey_step_builds_and_answers_healthz(
    step: journey.Step, journey_bases: dict[str, str]
) -> None:
    images.build(step.image, journey_bases, quiet=True)
    container = start_container(step.image.tag)
    assert container.request("GET", "/healthz").json() == {"status": "ok"}
    remove_container(container)


@pytest.mark.parametrize("step", journey.STEPS[1:-1], ids=lambda step: f"step-{step.number}")
def test_journey_step_sends_the_whole_context_like_the_baseline(step: journey.Step) -> None:
    ignore = images.ROOT / f"{step.dockerfile}.dockerignore"
    baseline = images.ROOT / f"{images.BASELINE.dockerfile}.dockerignore"
    assert ignore.read_text() == baseline.read_text()
