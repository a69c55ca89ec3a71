"""The project's name, said once in pyproject.toml; every tool and test reads it from here."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

NAME: str = _PROJECT["name"]
VERSION: str = _PROJECT["version"]
# The import package, and the prefix of every setting the service reads (see its settings.py).
PACKAGE = NAME.replace("-", "_")
ENV_PREFIX = f"{PACKAGE.upper()}_"
