"""The baseline under the contract's checks, each with the outcome expected.py states: a pytest
plugin (``pytest -p demonstration.plugin``; nox -s test and reproducible load it when this
folder is present). It brings the image through the contract's hook, leaves out and lists the
checks it does not run there, and refuses a check the table says nothing of."""

import pytest

from tests import service
from tests.contract.profile import ImageProfile, Subject
from tests.summary import check_id, report

from . import BASELINE
from .expected import OUTCOMES, PYTHON, SAME_HERE


def strictest() -> ImageProfile:
    """Every promise any of the service's images makes, the smallest size cap among them."""
    declared = list(service.IMAGES.values())
    caps = [profile.size_cap_mb for profile in declared if profile.size_cap_mb]
    return ImageProfile(
        python=PYTHON,
        no_shell=any(profile.no_shell for profile in declared),
        no_package_manager=any(profile.no_package_manager for profile in declared),
        no_pip=any(profile.no_pip for profile in declared),
        size_cap_mb=min(caps, default=None),
    )


@pytest.hookimpl(optionalhook=True)
def pytest_contract_images() -> list[Subject]:
    return [
        Subject(
            BASELINE.name,
            BASELINE.tag,
            BASELINE.dockerfile,
            profile=strictest(),
            outcomes=OUTCOMES,
        )
    ]


def check_of(item: pytest.Item) -> str | None:
    """``test_name`` or ``test_name[case]`` of a check run on the baseline, else None."""
    params = getattr(item, "callspec", None) and item.callspec.params
    if not params or getattr(params.get("image"), "name", None) != BASELINE.name:
        return None
    name = item.originalname
    cases = [str(value) for key, value in params.items() if key != "image"]
    with_case = f"{name}[{cases[0]}]" if cases else name
    return with_case if with_case in OUTCOMES or with_case in SAME_HERE else name


NOT_RUN = "not run on the baseline (demonstration/expected.py)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped, unstated = [], [], set()
    for item in items:
        check = check_of(item)
        if check in SAME_HERE:
            dropped.append(item)
            report(NOT_RUN, f"{check_id(item)}: {SAME_HERE[check]}")
        else:
            kept.append(item)
            if check is not None and check not in OUTCOMES:
                unstated.add(check)
    if unstated:
        raise pytest.UsageError(
            f"demonstration/expected.py states no outcome on the baseline for {sorted(unstated)}"
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
