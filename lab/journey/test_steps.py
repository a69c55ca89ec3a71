"""Every step of the journey (lab/journey/plan.py: the baseline, the steps in
lab/journey/steps/, the Dockerfile and the distroless step beyond it) builds and serves."""

from collections.abc import Iterator

import pytest

from lab import BASELINE
from lab.journey import measure
from lab.journey.plan import STEPS, Step
from tools import base_images, engine, images
from tools.containers import remove_container, start
from tools.profile import profile
from tools.project import ROOT


@pytest.fixture(scope="session")
def journey_bases() -> Iterator[dict[str, str]]:
    try:
        engine.require_engine()
        yield base_images.resolve(tuple(measure.image(step) for step in STEPS))[1]
    except engine.ImageToolError as error:
        pytest.exit(str(error), returncode=1)
    finally:
        measure.remove_step_images()


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.name)
def test_journey_step_builds_and_answers_healthz(step: Step, journey_bases: dict[str, str]) -> None:
    image = measure.image(step)
    images.build(image, journey_bases, quiet=True)
    container = start(image.tag)
    try:
        assert container.request("GET", profile().health_path).json() == {"status": "ok"}
    finally:
        remove_container(container)


def patterns(ignore_file: str) -> set[str]:
    lines = (ROOT / ignore_file).read_text().splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def test_journey_steps_send_the_whole_context_until_they_send_the_allow_list() -> None:
    """The steps after the baseline and before the allow-list leave out what the baseline does,
    and .git (every clone's differs: CI's fresh clone would rebuild each step)."""
    baseline = patterns(measure.ignore_file(BASELINE.dockerfile))
    allow_list = patterns(".dockerignore")
    ignores = [patterns(measure.ignore_file(step.dockerfile)) for step in STEPS]
    first = ignores.index(allow_list)
    assert STEPS[0].dockerfile == BASELINE.dockerfile
    assert ignores[:first] == [baseline] + [baseline | {".git"}] * (first - 1)
    assert ignores[first:] == [allow_list] * (len(ignores) - first)


def test_journey_step_names_are_unique_and_the_dockerfile_is_a_step() -> None:
    assert len({step.name for step in STEPS}) == len(STEPS)
    assert measure.FINAL_STEP in STEPS
