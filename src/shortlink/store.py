"""Links stored in one SQLite file; every write is committed before the call returns."""

import os
import secrets
import sqlite3
import string
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7
DATABASE_NAME = f"{__package__}.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    code TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    hits INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS readiness (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);
"""
FIND_BY_CODE = "SELECT code, url, hits, created_at FROM links WHERE code = ?"
FIND_BY_URL = "SELECT code, url, hits, created_at FROM links WHERE url = ?"


class StoreError(Exception):
    """The database cannot be opened or written."""


@dataclass(frozen=True)
class Link:
    code: str
    url: str
    hits: int
    created_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """One connection shared by the request threads, serialised by a lock."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DATABASE_NAME
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the data folder {data_dir}: {error.strerror}"
            ) from error
        if not os.access(data_dir, os.W_OK | os.X_OK):
            raise StoreError(f"the data folder {data_dir} is not writable by uid {os.getuid()}")
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL syncs the WAL on every commit: a 201 survives power loss, not only a kill.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the database {self.path}: {error}") from error
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, url: str) -> tuple[Link, bool]:
        """Store ``url``; return its link and whether it was created (False: it existed)."""
        with self._lock:
            existing = self._find(FIND_BY_URL, url)
            if existing:
                return existing, False
            while True:
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                link = Link(code=code, url=url, hits=0, created_at=_now())
                try:
                    self._db.execute(
                        "INSERT INTO links (code, url, hits, created_at) VALUES (?, ?, 0, ?)",
                        (link.code, link.url, link.created_at),
                    )
                except sqlite3.IntegrityError:
                    continue
                return link, True

    def get(self, code: str) -> Link | None:
        with self._lock:
            return self._find(FIND_BY_CODE, code)

    def hit(self, code: str) -> str | None:
        """Count one visit of ``code``; return its target URL, or None if unknown."""
        with self._lock:
            row = self._db.execute(
                "UPDATE links SET hits = hits + 1 WHERE code = ? RETURNING url", (code,)
            ).fetchone()
        return row[0] if row else None

    def delete(self, code: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM links WHERE code = ?", (code,)).rowcount > 0

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM links").fetchone()[0]

    def check_writable(self) -> None:
        """Raise StoreError unless the database answers and accepts a committed write."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO readiness (id, checked_at) VALUES (1, ?)", (_now(),)
                )
        except sqlite3.Error as error:
            raise StoreError(f"database not writable: {error}") from error

    def _find(self, query: str, value: str) -> Link | None:
        row = self._db.execute(query, (value,)).fetchone()
        return Link(*row) if row else None
