"""Lines the run's summary shows, by section, whatever the outcome: what did not apply, what
was not run on the baseline, figures a check measured. Under pytest-xdist the checks run in
workers: each hands its lines to the controller, which shows them once (tests/conftest.py)."""

SECTIONS: dict[str, list[str]] = {}


def report(section: str, line: str) -> None:
    """Show ``line`` under ``section`` at the end of the run; a line already there is not
    repeated (every worker collects, and deselects, the same checks)."""
    lines = SECTIONS.setdefault(section, [])
    if line not in lines:
        lines.append(line)
