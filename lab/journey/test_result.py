"""The journey's result renders, without building anything: made-up results for every step go
through the Markdown writer and the chart (`nox -s journey` writes the real ones)."""

import re
from itertools import pairwise
from pathlib import Path

from lab.journey import measure
from lab.journey.plan import STEPS

# A PNG's width: bytes 16 to 20 of its IHDR chunk, big-endian.
PNG_WIDTH = slice(16, 20)


def made_up() -> list[measure.Result]:
    """A result per step, each a little smaller and faster than the one before."""
    return [
        measure.Result(
            step=step,
            size=int(1400e6 / (n + 1)),
            layers=8 - n // 3,
            cold_seconds=[60 / (n + 1), 50 / (n + 1), 55 / (n + 1)],
            warm_seconds=20 / (n + 1),
            dependencies_cached=n >= 5,
            root=n < 12,
            leaks=["build", "env-file", "git-remote"] if n < 7 else [],
            hadolint_clean=n >= 10,
            ready_seconds=[2.5, 2.4, 2.6],
            stop_seconds=[10.2, 10.3, 10.2] if n < 10 else [0.5, 0.4, 0.5],
        )
        for n, step in enumerate(STEPS)
    ]


def test_the_result_has_a_section_per_step_with_its_diff() -> None:
    text = measure.markdown("standin", {"python:3.14-slim-trixie": "standin"}, made_up(), "26.1")
    outside_code = re.sub(r"^```.*?^```$", "", text, flags=re.MULTILINE | re.DOTALL)
    # Plain Markdown for a docs page that includes it: headings of level 3 and below only.
    assert not re.search(r"^#{1,2} ", outside_code, re.MULTILINE)
    assert re.findall(r"^### (.*)$", outside_code, re.MULTILINE) == [s.name for s in STEPS]
    for before, step in pairwise(STEPS):
        assert f"\n--- {before.dockerfile}\n+++ {step.dockerfile}\n" in text
        assert f"| change from {before.name} |" in text
    # The allow-list step's lesson is its ignore file.
    assert "\n+++ .dockerignore\n" in text
    # Differences signed with a true minus sign; what a yes/no cell was.
    for cell in ("| \N{MINUS SIGN}1 |", "| was yes |", "| ±0 |"):
        assert cell in text
    assert "937 MB → 219 MB" in text


def test_the_chart_is_a_png_900_pixels_wide(tmp_path: Path) -> None:
    path = tmp_path / "journey.png"
    measure.chart(made_up(), path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert int.from_bytes(data[PNG_WIDTH]) == 900
