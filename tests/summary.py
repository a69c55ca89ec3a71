"""Lines the run's summary shows, by section, whatever the outcome: what did not apply, what
was not run on the baseline, figures a check measured. Under pytest-xdist the checks run in
workers: each hands its lines to the controller, which shows them once (tests/conftest.py)."""

import pytest

SECTIONS: dict[str, list[str]] = {}


def check_id(item: pytest.Item) -> str:
    """The check's node id as pytest names it in one process: in a worker, pytest-xdist's
    ``--dist loadgroup`` appends ``@GROUP`` to it."""
    group = item.get_closest_marker("xdist_group")
    return item.nodeid.removesuffix(f"@{group.args[0]}") if group else item.nodeid


def report(section: str, line: str) -> None:
    """Show ``line`` under ``section`` at the end of the run; a line already there is not
    repeated (every worker collects, and deselects, the same checks)."""
    lines = SECTIONS.setdefault(section, [])
    if line not in lines:
        lines.append(line)
