"""What the contract holds each image to, and how a check states what it observed.

Every check holds on every image the service ships: ``verdict(expected, holds, evidence)``
asserts it. What differs per image is declared by the service, once, in the seam
(tests/service.py, ``IMAGES``: an ``ImageProfile`` per image). A check of a promise only some
images make (no shell, a size cap...) is marked ``@pytest.mark.declared("FIELD")``: where the
image's profile leaves FIELD unset it does not apply, and the run's summary lists it as not
applicable, by name (conftest.py).

Another room may bring images of its own, each with the outcome it expects of every check, by
implementing the hook ``pytest_contract_images`` (conftest.py): the demonstration brings the
bad baseline, expected to fail each check for a stated reason (demonstration/expected.py). An
expected failure passes only when the check ran to the end and its evidence shows that reason.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tools import images


@dataclass(frozen=True)
class ImageProfile:
    """What one image promises beyond what every image must hold."""

    # The argv that starts the image's Python, in exec form (an image may have no shell).
    python: tuple[str, ...] = ("python",)
    # No shell, no package manager, no pip anywhere: what code execution inside would find.
    no_shell: bool = False
    no_package_manager: bool = False
    no_pip: bool = False
    # Its unpacked size at most this many MB (decimal), when it promises one.
    size_cap_mb: float | None = None


@dataclass(frozen=True)
class Expected:
    holds: bool
    # When it must fail: a regular expression the observed evidence must match.
    because: str = ""


HOLDS = Expected(True)


def fails(because: str) -> Expected:
    return Expected(False, because)


@dataclass(frozen=True)
class Subject(images.Image):
    """An image under test: its profile, and what each check is expected to find there (None:
    every check holds, as on the service's own images)."""

    profile: ImageProfile = ImageProfile()
    outcomes: Mapping[str, Expected] | None = field(default=None, compare=False, hash=False)

    def expected(self, check: str, case: str | None = None) -> Expected:
        """The outcome expected of ``check`` (a test function's name; ``case``: its other
        parameter, looked up as ``check[case]`` first). KeyError when the image's table has
        no entry: a demonstration states every outcome."""
        if self.outcomes is None:
            return HOLDS
        if case is not None and f"{check}[{case}]" in self.outcomes:
            return self.outcomes[f"{check}[{case}]"]
        return self.outcomes[check]


def one_clear_line(observed: str, code: int, words: str) -> bool:
    """Whether a start that failed (``observed``: tools.containers.try_start's account) exited
    with ``code``, said ``words``, and logged exactly one ERROR line and no traceback."""
    errors = [line for line in observed.splitlines() if " ERROR " in line]
    return (
        f"exited with code {code}" in observed
        and words in observed
        and len(errors) == 1
        and "Traceback" not in observed
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
