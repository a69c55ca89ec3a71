"""Shared by every test folder: the checks of a feature the service does not have, and the
run's summary (tests/summary.py).

A check marked ``@pytest.mark.feature("NAME")`` proves one of the service's optional features,
declared in the seam (tests/service.py). Where the seam says ``NAME = None``, the check
does not apply to this service: it is deselected, and the run's summary lists it by name under
"not applicable to this service". It is never skipped silently, and never fails for the lack.
"""

import importlib

import pytest

from tests.summary import SECTIONS, check_id, report

SERVICE_LACKS = "not applicable to this service (tests/service.py)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("feature") for item in items):
        return  # the unit tests, also run in the dev image, where tools/ is not
    service = importlib.import_module("tests.service")
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("feature")
        if marker is not None and getattr(service, marker.args[0]) is None:
            dropped.append(item)
            report(SERVICE_LACKS, f"{check_id(item)}: {marker.args[0]} = None")
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # a pytest-xdist worker: the controller shows its lines
        output["summary"] = SECTIONS


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist's controller, as each worker ends: its summary lines."""
    for section, lines in getattr(node, "workeroutput", {}).get("summary", {}).items():
        for line in lines:
            report(section, line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for section, lines in SECTIONS.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)
