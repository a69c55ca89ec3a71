"""Each image is its runtime base plus the service's virtual environment, and no more (the
minimal one's base has no Python: the interpreter it copies is counted with it); an image whose
profile declares a size cap is at most that.

The venv budget and the caps are the service's, declared in the seam (tests/service.py:
``VENV_BUDGET_MB``, each image's ``size_cap_mb``). Sizes are dive's (tools/layer_sizes.py:
every file of every layer), so they mean the same on the classic and the containerd image store.
"""

import functools
from collections.abc import Callable

import pytest

from tests import service
from tools import layer_sizes
from tools.engine import ImageToolError

from .profile import Expected, Subject, verdict

# What Dockerfile.minimal copies onto a runtime base without Python: the python base's
# /usr/local without pip (Python 3.14, 23.5 MB) and the libraries it links that distroless's cc
# lacks (sqlite, libffi, liblzma, ncurses, readline, libdb..., about 7 MB).
PYTHON_COPY_BUDGET = 32_000_000


@functools.cache
def unpacked(tag: str) -> int:
    """Measured once per run: dive reads a big image's layers for seconds (the baseline's, a
    minute). dive failing is one line, not a traceback."""
    try:
        return layer_sizes.image_size(tag).unpacked
    except ImageToolError as error:
        failure = str(error)
    pytest.fail(failure, pytrace=False)


def test_image_is_at_most_its_python_base_plus_the_venv_budget(
    image: Subject, expected: Expected, bases: dict[str, str]
) -> None:
    runtime = image.runtime_base()
    python_base, base_size = bases[runtime], unpacked(bases[runtime])
    if not runtime.startswith("python:"):
        python_base, base_size = f"{python_base} + Python", base_size + PYTHON_COPY_BUDGET
    budget = int(service.VENV_BUDGET_MB * 1e6)
    size = unpacked(image.tag)
    observed = (
        f"{image.tag}: {layer_sizes.megabytes(size)}, "
        f"{layer_sizes.megabytes(size - base_size - budget)} over {python_base} "
        f"({layer_sizes.megabytes(base_size)}) plus {layer_sizes.megabytes(budget)}"
    )
    verdict(expected, size <= base_size + budget, observed)


@pytest.mark.declared("size_cap_mb")
def test_image_is_at_most_its_size_cap(
    image: Subject, expected: Expected, figures: Callable[[str], None]
) -> None:
    size, cap = unpacked(image.tag), int(image.profile.size_cap_mb * 1e6)
    figures(f"{image.tag}: {layer_sizes.megabytes(size)} unpacked")
    where = "over" if size > cap else "within"
    verdict(
        expected,
        size <= cap,
        f"{image.tag}: {layer_sizes.megabytes(size)}, {where} its cap of "
        f"{layer_sizes.megabytes(cap)}",
    )
