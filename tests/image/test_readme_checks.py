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


def feature_checks() -> dict[str, str]:
    """Each check of an optional feature of the service: its name -> the feature's."""
    found = {}
    for module in Path(__file__).parent.glob("test_*.py"):
        for node in ast.parse(module.read_text()).body:
            for decorator in getattr(node, "decorator_list", []):
                call = decorator if isinstance(decorator, ast.Call) else None
                if call and ast.unparse(call.func) == "pytest.mark.feature":
                    found[node.name] = call.args[0].value
    return found


def checks_section() -> str:
    section = (ROOT / "README.md").read_text().split("## Checks and what they prove")[1]
    return section.split("\n## ")[0]


def test_readme_checks_table_names_every_image_check() -> None:
    missing = {name for name in image_checks() if f"`{name}`" not in checks_section()}
    assert image_checks()
    assert not missing


def test_readme_checks_table_says_which_checks_are_the_services() -> None:
    rows = {line.split("`")[1]: line for line in checks_section().splitlines() if "| `" in line}
    assert feature_checks()
    for name, feature in feature_checks().items():
        assert f"service: `{feature}`" in rows.get(name, ""), name
