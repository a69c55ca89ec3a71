"""Log records that cannot be forged: one record is one line, whatever a client sent.

Text lines escape every control character (and the backslash, so an escape cannot be faked
either); JSON lines are ASCII-only JSON, one object a line. A line is never longer than
MAX_LINE_BYTES: a longer record is shortened in its middle, and says so.
"""

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Docker's log drivers read a container's output in messages of at most 16 KiB and split a
# longer line into several records (moby's daemon/logger/copier.go; moby/moby#34620), as
# containerd's CRI logs do (max_container_log_line_size): a line and its newline fit in one.
MAX_LINE_BYTES = 16 * 1024 - 1

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, lone surrogates (which
# would not even encode) and the backslash: each written as a Python-style escape.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))} | {
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
_ESCAPES |= {code: f"\\u{code:04x}" for code in range(0xD800, 0xE000)}


def escape(text: str) -> str:
    """``text`` on one line, every control character visible as an escape."""
    return text.translate(_ESCAPES)


def shortened(text: str, keep: int) -> str:
    """``text`` with no more than ``keep`` of its characters, the middle left out and counted:
    the start (time, level, method and path) and the end (status, duration) of a record stay."""
    if len(text) <= keep:
        return text
    head, tail = text[: keep - keep // 2], text[len(text) - keep // 2 :]
    return f"{head}...[{len(text) - keep} of {len(text)} characters left out]...{tail}"


def fitted(render: Callable[[int | None], str]) -> str:
    """``render(None)``, the whole record, if it fits in MAX_LINE_BYTES; else ``render(keep)``
    for the largest ``keep`` that fits, ``render`` keeping that many characters of each field."""
    line = render(None)
    size = len(line.encode())
    if size <= MAX_LINE_BYTES:
        return line
    fits, too_many = 0, size  # a field's characters kept: none fits, all did not
    while too_many - fits > 1:
        keep = (fits + too_many) // 2
        if len(render(keep).encode()) <= MAX_LINE_BYTES:
            fits = keep
        else:
            too_many = keep
    return render(fits)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        # A traceback becomes part of its record's one line instead of lines of its own.
        extra = [self.formatException(record.exc_info)] if record.exc_info else []
        if record.stack_info:
            extra.append(self.formatStack(record.stack_info))

        def render(keep: int | None) -> str:
            record.message = message if keep is None else shortened(message, keep)
            tails = [text if keep is None else shortened(text, keep) for text in extra]
            return escape("\n".join([self.formatMessage(record), *tails]))

        return fitted(render)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return fitted(
            lambda keep: json.dumps(
                entry
                if keep is None
                else {name: shortened(value, keep) for name, value in entry.items()},
                ensure_ascii=True,
            )
        )


def configure(level: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
