"""shortlink's own features, proven on its built images (not the contract: a service replacing
shortlink replaces this folder). Each check runs on the service's images, with the contract's
harness (tests/contract/conftest.py); a check whose negative control was the baseline has
one here instead: the same image run with the protecting setting turned off."""

import pytest

from tests.contract.conftest import (  # noqa: F401  (fixtures, shared with the contract)
    bases,
    container,
    database,
    own_images,
    parametrize_images,
    pool,
    python,
    volume,
)
from tests.contract.profile import HOLDS, Expected


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "image" in metafunc.fixturenames:
        parametrize_images(metafunc, own_images())


@pytest.fixture
def expected() -> Expected:
    """On the service's own images, every feature holds."""
    return HOLDS
