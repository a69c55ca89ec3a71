"""Which base images a build uses, where no registry answers (tools/base_images.py)."""

import pytest

from tools import base_images
from tools.engine import ImageToolError


def test_without_a_registry_or_the_offline_support_one_line_says_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(base_images.SETTING, raising=False)
    monkeypatch.setattr(base_images, "standins", None)
    monkeypatch.setattr(base_images, "image_exists", lambda ref: False)
    monkeypatch.setattr(base_images, "_pulls", lambda ref: False)
    with pytest.raises(ImageToolError, match=r"no registry answers, and the offline support"):
        base_images.resolve()
