"""The baseline is bad on purpose: hadolint and checkov must still report what it is shown for
(expected.py). ``python -m demonstration.lint``, in `nox -s lint`'s venv; exits 1 with what
they no longer find."""

import subprocess
import sys

from tools.lint import LintError, checkov
from tools.project import ROOT

from . import BASELINE
from .expected import CHECKOV, HADOLINT


def main() -> int:
    found = subprocess.run(
        ["hadolint", "--no-fail", "--no-color", BASELINE.dockerfile],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    print(f"{BASELINE.dockerfile} is bad on purpose; hadolint's findings:\n{found}")
    problems = [
        f"hadolint no longer reports {' or '.join(rules)} on the baseline"
        for rules in HADOLINT
        if not any(rule in found for rule in rules)
    ]
    try:
        baseline = ROOT / BASELINE.dockerfile
        flagged = checkov([baseline], ("dockerfile",)).get(baseline, set())
        print(f"checkov on {BASELINE.dockerfile}: {', '.join(sorted(flagged)) or 'nothing'}")
        if flagged != CHECKOV:
            problems.append(f"checkov: it fails {sorted(flagged)}, expected {sorted(CHECKOV)}")
    except LintError as error:
        problems.append(str(error))
    for problem in problems:
        print(f"error: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
