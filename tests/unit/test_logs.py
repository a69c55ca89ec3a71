"""Log lines that no request can forge: one record, one line, short enough for Docker to
keep whole; JSON when asked."""

import json
import logging
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from shortlink import logs

FORGED = "2020-01-01 00:00:00,000 INFO shortlink.access: DELETE /links/abc 204 0.1ms"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_newline_in_the_path_cannot_start_a_forged_log_line(
    client: TestClient, capsys: pytest.CaptureFixture[str], log_format: logs.LogFormat
) -> None:
    logs.configure("info", log_format)
    client.get("/x%0A" + FORGED.replace(" ", "%20"))
    client.get("/y%0D%1B[31m%E2%80%A8")
    output = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("2020-01-01") for line in output)
    access = '"logger": "shortlink.access"' if log_format == "json" else " shortlink.access: "
    lines = [line for line in output if access in line]
    assert len(lines) == 2
    if log_format == "json":
        assert json.loads(lines[0])["message"].startswith("GET /x\n2020-01-01")
    else:
        assert "GET /x\\n2020-01-01" in lines[0]
        assert "GET /y\\r\\x1b[31m\\u2028 404" in lines[1]


def test_escaping_is_unambiguous_and_survives_lone_surrogates() -> None:
    assert logs.escape("a\\nb") == "a\\\\nb"
    assert logs.escape("a\nb") == "a\\nb"
    assert logs.escape("\ud800") == "\\ud800"
    assert logs.escape("ünïcode ok") == "ünïcode ok"


@pytest.mark.usefixtures("restore_logging")
def test_a_traceback_stays_on_its_records_line(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", "text")
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        logging.getLogger("shortlink").exception("failed")
    assert len(capsys.readouterr().out.splitlines()) == 1


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("character", ["a", "\x1b", "é"], ids=["ascii", "escaped", "utf-8"])
def test_a_20_kb_path_is_logged_on_one_line_docker_does_not_split(
    capsys: pytest.CaptureFixture[str],
    client: TestClient,
    log_format: logs.LogFormat,
    character: str,
) -> None:
    logs.configure("info", log_format)
    client.get("/" + quote(character * (20_000 // len(character.encode()))))
    output = capsys.readouterr().out
    lines = [line for line in output.splitlines() if "shortlink.access" in line]
    assert len(lines) == 1
    # With its newline, within one of Docker's 16 KiB messages (moby/moby#34620).
    assert len(lines[0].encode()) + 1 <= 16 * 1024
    message = json.loads(lines[0])["message"] if log_format == "json" else lines[0]
    assert re.search(r"GET /.+\.\.\.\[[0-9]+ of [0-9]+ characters left out\]\.\.\..+ 404 ", message)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_long_message_and_traceback_both_keep_their_start_and_end(
    capsys: pytest.CaptureFixture[str], log_format: logs.LogFormat
) -> None:
    logs.configure("info", log_format)
    try:
        raise ValueError("error-start" + "x" * 30_000 + "error-end")
    except ValueError:
        logging.getLogger("shortlink").exception("message-start" + "m" * 20_000 + "message-end")
    [line] = capsys.readouterr().out.splitlines()
    assert len(line.encode()) < 16 * 1024
    for mark in ("message-start", "message-end", "Traceback", "error-end"):
        assert mark in line
