"""Each image check runs on every image with the outcome expected of it.

The baseline is the negative control: a case that expects it to fail passes only when the
check ran to the end and observed the stated bad property in its evidence. A baseline that
could not start, or a check that errored, is an error of the suite, never an expected failure.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tools import images

if TYPE_CHECKING:
    from pathlib import Path

    from .containers import Container


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


# The shapes of the service's optional features, which the seam (service.py) declares.


@dataclass(frozen=True)
class AdminToken:
    """An admin secret the service reads from a file at start."""

    path: str  # where the service reads it in the image (a Compose or Kubernetes secret)
    unreadable: str  # in its one ERROR line, exit 1, when the file cannot be read
    disabled: str  # logged once when there is no file: the feature is off, the service runs
    accepted: Callable[["Container", str], bool]  # a request with this token is authorized
    required: Callable[["Container"], bool]  # one without any token is refused (401)
    off: Callable[["Container"], bool]  # without a file, the feature answers as disabled


@dataclass(frozen=True)
class DevEdit:
    """One edit to the sources whose effect the running service then answers."""

    source: str  # the file edited, relative to the project root
    edit: Callable[["Path", str], None]  # make the edit under a project root, with a marker
    serves: Callable[["Container", str], bool]  # whether the running service answers it


@dataclass(frozen=True)
class ProxyHeaders:
    """Links the service gives out name the public scheme and host a reverse proxy forwards,
    when the proxy is one its settings trust, and only then."""

    trusted: str  # the setting naming the trusted proxies' addresses or networks, comma-separated
    settings: tuple[str, ...]  # "VARIABLE=value"s it also needs to name ``host`` in its links
    host: str  # the public host name the proxy forwards (X-Forwarded-Host)
    link: Callable[["Container", dict[str, str]], str]  # a link it gives, sent these headers
