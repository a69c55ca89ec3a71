"""The checks of `nox -s lint` beyond ruff and hadolint's own: ``python -m tools.lint``.

- the baseline is bad on purpose: hadolint must still report what it is shown for;
- the workflow and Dependabot files against their schemas (check-jsonschema, vendored,
  offline; actionlint's PyPI package downloads its binary at install, which fails here);
- zizmor on the GitHub files (offline), shellcheck on every shell script of the project.

Run in the lint session's venv, where those tools are installed. Exits 1 with what failed.
"""

import re
import subprocess
import sys

from tools import images, project
from tools.project import ROOT

# What the baseline must be flagged for: an untagged base (DL3006) or `latest` (DL3007), and
# apt without --no-install-recommends (DL3015). hadolint can see the first only in a literal FROM.
BASELINE_FINDINGS = (("DL3006", "DL3007"), ("DL3015",))


def baseline_findings() -> list[str]:
    """The expected hadolint rules it no longer reports on the baseline (each 'A or B')."""
    found = subprocess.run(
        ["hadolint", "--no-fail", "--no-color", images.BASELINE.dockerfile],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    print(f"{images.BASELINE.dockerfile} is bad on purpose; hadolint's findings:\n{found}")
    return [" or ".join(rules) for rules in BASELINE_FINDINGS if not any(r in found for r in rules)]


def shell_scripts() -> list[str]:
    """Every project file (tracked, or new and not ignored) that starts with a shell's #! line."""
    scripts = []
    for name in project.files():
        with (ROOT / name).open("rb") as file:
            if re.match(rb"#!\S*(/|env )(ba|da|k)?sh\b", file.readline()):
                scripts.append(name)
    return scripts


def main() -> int:
    missing = baseline_findings()
    if missing:
        print(f"error: hadolint no longer reports {', '.join(missing)} on the baseline")
        return 1
    commands = [
        [
            "check-jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            ".github/workflows/ci.yml",
        ],
        ["check-jsonschema", "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"],
        ["zizmor", "--offline", "--no-progress", ".github/"],
    ]
    if scripts := shell_scripts():
        commands.append(["shellcheck", "--external-sources", *scripts])
    failed = [command[0] for command in commands if subprocess.run(command, cwd=ROOT).returncode]
    if failed:
        print(f"error: {', '.join(failed)} failed (above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
