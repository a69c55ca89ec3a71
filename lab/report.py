"""Measured results, never typed by hand: what ``--record`` does in every lab tool.

Each result is one Markdown file, ``lab/results/NAME.md``, with a line that names what
measured it (the command, the date, the machine, the engine, the image store and the base
images). The docs site includes them (docs/generate.py); the README carries one of them, the
headline, between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``.
"""

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from tools.project import ROOT

README = ROOT / "README.md"
RESULTS = ROOT / "lab" / "results"
# The result the README shows as its headline figures; the rest are on the docs site.
HEADLINE = "cold-builds"


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


def record(name: str, markdown: str) -> Path:
    """Write ``lab/results/NAME.md``; for the headline, the README's section too.

    Raises ValueError when the README has lost its headline markers (nothing is written then).
    """
    text = f"{markdown.strip()}\n"
    if name == HEADLINE and README.is_file():
        replace_section(name, text)
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    also = " and the README's headline" if name == HEADLINE else ""
    print(f"{path.relative_to(ROOT)} written{also}")
    return path


def replace_section(name: str, markdown: str, path: Path = README) -> None:
    """Replace what stands between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{path.name} has no {start} ... {end} section")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{markdown.strip()}\n{end}{after}")
