"""Each image check runs on every image with the outcome expected of it.

The baseline is the negative control: a case that expects it to fail passes only when the
check ran to the end and observed the stated bad property in its evidence. A baseline that
could not start, or a check that errored, is an error of the suite, never an expected failure.
"""

import re
from dataclasses import dataclass

import pytest

from tools import images


@dataclass(frozen=True)
class Expected:
    holds: bool
    # When it must fail: a regular expression the observed evidence must match.
    because: str = ""
    # False: the property belongs to the service, not the image; both images have it.
    contrast: bool = True

    def id(self, image: str) -> str:
        if not self.contrast:
            return f"{image}-holds-too-no-contrast"
        return f"{image}-{'holds' if self.holds else 'fails'}"


HOLDS = Expected(True)
HOLDS_TOO = Expected(True, contrast=False)


def fails(because: str) -> Expected:
    return Expected(False, because)


def per_image(**expected: Expected) -> pytest.MarkDecorator:
    """Parametrize a check over the images, each with its expected outcome."""
    return pytest.mark.parametrize(
        ("image", "expected"),
        [(getattr(images, name.upper()), outcome) for name, outcome in expected.items()],
        ids=[outcome.id(name) for name, outcome in expected.items()],
    )


def verdict(expected: Expected, holds: bool, evidence: str) -> None:
    """Assert the expected outcome; an expected failure must show its stated cause."""
    if expected.holds:
        assert holds, f"the property does not hold: {evidence}"
        return
    assert not holds, f"expected to fail ({expected.because}), but it holds: {evidence}"
    assert re.search(expected.because, evidence, re.DOTALL), (
        f"it fails, but not for the stated reason /{expected.because}/: {evidence}"
    )
