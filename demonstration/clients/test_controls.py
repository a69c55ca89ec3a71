"""The negative controls of the clients that wait (tests/contract/clients, `nox -s clients`):
the optimized image run with each guard turned off (the seam's GUARDS_OFF), observed all at
once, fails the check of that guard for its reason. The baseline runs the same server, so it
gives no contrast here (expected.py)."""

import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.contract.clients.test_waiting_clients import (
    drops_trickled_bodies,
    keeps_an_idle_connection,
    serves_behind_nginx,
)
from tools import images

from ..test_controls import guard_off

# Each control: the observation, the guard turned off, the reason it must fail for.
CONTROLS = {
    "keep-alive": (keeps_an_idle_connection, "keep-alive", r"closed the idle connection after"),
    "body-time": (drops_trickled_bodies, "body-time", r"[1-9]\d* of \d+ bodies .* still open"),
    "nginx-pool": (serves_behind_nginx, "keep-alive", r"one pooled connection: False"),
}


@pytest.fixture(scope="module")
def observed() -> Iterator[dict[str, Future[tuple[bool, str]]]]:
    with ThreadPoolExecutor(len(CONTROLS)) as pool:
        yield {
            name: pool.submit(observe, images.OPTIMIZED.tag, *guard_off(guard))
            for name, (observe, guard, _) in CONTROLS.items()
        }


@pytest.mark.parametrize("name", CONTROLS)
def test_each_waiting_check_fails_with_its_guard_turned_off(
    observed: dict[str, Future[tuple[bool, str]]], name: str
) -> None:
    holds, seen = observed[name].result()
    assert not holds, f"passed with {CONTROLS[name][1]} turned off: {seen}"
    assert re.search(CONTROLS[name][2], seen), f"failed, but not for its reason: {seen}"
