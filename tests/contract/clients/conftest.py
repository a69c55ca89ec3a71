"""The clients that wait (test_waiting_clients.py): every image's observations start at once,
with the session, so the session lasts about as long as its longest wait, not their sum."""

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.contract.profile import Subject

from .test_waiting_clients import OBSERVERS


@pytest.fixture(scope="session")
def observed(
    request: pytest.FixtureRequest, database: str | None
) -> Iterator[dict[tuple[str, str], Future[tuple[bool, str]]]]:
    """(check, image tag) -> its observation, for every check of test_clients.py selected."""
    wanted = {
        (item.originalname, item.callspec.params["image"].tag)
        for item in request.session.items
        if getattr(item, "originalname", "") in OBSERVERS and hasattr(item, "callspec")
    }
    with ThreadPoolExecutor(max_workers=max(len(wanted), 1)) as pool:
        yield {(check, tag): pool.submit(OBSERVERS[check], tag) for check, tag in wanted}


@pytest.fixture
def observation(
    request: pytest.FixtureRequest,
    observed: dict[tuple[str, str], Future[tuple[bool, str]]],
    image: Subject,
) -> tuple[bool, str]:
    """This check's observation of ``image``: whether it holds, and what was seen."""
    return observed[(request.node.originalname, image.tag)].result()
