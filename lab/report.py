"""Measured results written into the README between markers, never typed by hand: what
``--record`` does in every lab tool."""

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from tools.project import ROOT

README = ROOT / "README.md"


def machine() -> str:
    """One line naming the machine that measured: OS, cores, architecture."""
    release = Path("/etc/os-release")
    name = platform.system()
    if release.is_file():
        match = re.search(r'^PRETTY_NAME="?([^"\n]*)', release.read_text(), re.MULTILINE)
        name = match.group(1) if match else name
    return f"{name}, {os.cpu_count()} cores, {platform.machine()}"


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def replace_section(name: str, markdown: str, path: Path = README) -> None:
    """Replace what stands between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{path.name} has no {start} ... {end} section")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{markdown.strip()}\n{end}{after}")
