"""The README's checks table names every image check, so it cannot drift from the tests."""

import ast
from pathlib import Path

from tools.project import ROOT

CHECKS = [Path(__file__).parent, ROOT / "tests" / "reproducible"]


def image_checks() -> set[str]:
    names = set()
    for folder in CHECKS:
        for module in folder.glob("test_*.py"):
            tree = ast.parse(module.read_text())
            names |= {
                node.name
                for node in tree.body
                if isinstance(node, ast.FunctionDef)
                and node.name.startswith("test_")
                and "expected" in {arg.arg for arg in node.args.args}
            }
    return names


def test_readme_checks_table_names_every_image_check() -> None:
    section = (ROOT / "README.md").read_text().split("## Checks and what they prove")[1]
    section = section.split("\n## ")[0]
    missing = {name for name in image_checks() if f"`{name}`" not in section}
    assert image_checks()
    assert not missing
