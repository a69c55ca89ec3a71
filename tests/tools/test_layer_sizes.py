"""Sizes from dive's JSON (tools/layer_sizes.py), with a stand-in dive on PATH and no engine: a
dive that fails, writes no JSON or writes another shape is one line (ImageToolError), never a
traceback."""

import json
import stat
import sys
from pathlib import Path

import pytest

from tools import layer_sizes
from tools.engine import ImageToolError

DIGESTS = ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
# The shape dive 0.13 writes (`dive IMAGE --json FILE`), its file lists left out.
REPORT = {
    "layer": [
        {"index": 0, "digestId": DIGESTS[0], "sizeBytes": 112_647_795, "command": ""},
        {"index": 1, "digestId": DIGESTS[1], "sizeBytes": 20_137_210, "command": "COPY ..."},
    ],
    "image": {"sizeBytes": 132_785_005, "inefficientBytes": 1_506_610, "efficiencyScore": 0.99},
}


@pytest.fixture
def dive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a dive on PATH that writes ``report`` (text) to its --json file, prints ``said`` on
    ``stream`` and exits with ``code``; the engine answers that the image exists, its layers
    DIGESTS; measures are kept in a folder of the test's own."""
    monkeypatch.setattr(layer_sizes, "image_exists", lambda tag: True)
    image = {"Id": "sha256:" + "c" * 64, "RootFS": {"Layers": DIGESTS}}
    monkeypatch.setattr(layer_sizes, "inspect", lambda tag: image)
    monkeypatch.setattr(layer_sizes, "MEASURED", tmp_path / "kept")
    monkeypatch.setenv("PATH", str(tmp_path))

    def install(report: str | None, said: str = "", code: int = 0, stream: str = "stderr") -> None:
        message = tmp_path / "said"
        message.write_text(said)
        written = tmp_path / "report.json"
        if report is not None:
            written.write_text(report)
        script = tmp_path / "dive"
        script.write_text(
            f"#!{sys.executable}\n"
            "import pathlib, shutil, sys\n"
            f"if {report is not None}: shutil.copy({str(written)!r}, sys.argv[3])\n"
            f"print(pathlib.Path({str(message)!r}).read_text(), end='', file=sys.{stream})\n"
            f"sys.exit({code})\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)

    return install


def test_the_image_its_layers_and_the_waste_are_read_from_dives_json(dive) -> None:
    dive(json.dumps(REPORT))
    assert layer_sizes.image_size("shortlink:optimized") == layer_sizes.Size(
        unpacked=132_785_005, layers=(112_647_795, 20_137_210), wasted=1_506_610
    )


def test_an_image_measured_once_is_not_read_again(dive) -> None:
    dive(json.dumps(REPORT))
    first = layer_sizes.image_size("shortlink:optimized")
    dive(None, said="dive was run again", code=1)  # a second run of dive would fail
    assert layer_sizes.image_size("shortlink:optimized") == first


def test_a_build_folder_it_cannot_write_only_costs_the_next_measure(
    dive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layer_sizes, "MEASURED", tmp_path / "said")  # a file, not a folder
    dive(json.dumps(REPORT))
    assert layer_sizes.image_size("shortlink:optimized").unpacked == 132_785_005


@pytest.mark.parametrize(
    ("report", "said", "code", "reason"),
    [
        (None, "cannot fetch image\nNo such image\n", 1, "(exit 1): cannot fetch image; No such"),
        (None, "", 0, "(exit 0): it printed nothing"),
        ("{", "", 0, "(exit 0): it printed nothing"),
        (json.dumps({"layer": []}), "", 0, "(exit 0)"),
        (json.dumps(REPORT), "panic: something\n", 2, "(exit 2): panic: something"),
    ],
    ids=["fails", "no-json", "broken-json", "other-shape", "fails-after-writing"],
)
def test_a_dive_that_fails_or_writes_no_json_is_one_line(
    dive, report: str | None, said: str, code: int, reason: str
) -> None:
    dive(report, said, code)
    with pytest.raises(ImageToolError) as raised:
        layer_sizes.image_size("shortlink:optimized")
    message = str(raised.value)
    assert message.startswith("dive measured nothing of shortlink:optimized"), message
    assert reason in message, message
    assert "\n" not in message, message


def test_without_errors_the_last_line_of_its_progress_is_said_without_colours(dive) -> None:
    progress = "\033[1mImage Source:\033[0m x\n\033[1mExtracting image...\033[0m (a while)\n"
    dive(None, progress, 1, stream="stdout")
    with pytest.raises(ImageToolError, match=r"\(exit 1\): Extracting image\.\.\. \(a while\)$"):
        layer_sizes.image_size("shortlink:optimized")


def test_layers_other_than_the_images_own_are_refused(dive) -> None:
    dive(json.dumps(REPORT | {"layer": REPORT["layer"][::-1]}))
    with pytest.raises(ImageToolError, match="other layers than shortlink:optimized's own"):
        layer_sizes.image_size("shortlink:optimized")


def test_no_dive_says_which_group_brings_it(dive, tmp_path: Path) -> None:
    (tmp_path / "dive").unlink(missing_ok=True)
    with pytest.raises(ImageToolError, match=r"dive is missing: .* `images` dependency group"):
        layer_sizes.image_size("shortlink:optimized")


def test_an_image_not_built_is_said_before_dive_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layer_sizes, "image_exists", lambda tag: False)
    with pytest.raises(ImageToolError, match="no such image; is it built"):
        layer_sizes.image_size("shortlink:optimized")
