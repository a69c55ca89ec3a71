"""Links stored in one SQLite file; every write is committed before its caller is answered.

Reads run on the caller's thread on their own connection (WAL: readers never wait for the
writer). Writes go to one writer thread that commits whatever queued up meanwhile in a single
transaction: one fsync answers many concurrent requests (group commit). Hit counts are kept in
memory and written once a second, and on close.
"""

import asyncio
import errno
import logging
import os
import queue
import secrets
import sqlite3
import stat
import string
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7
DATABASE_NAME = f"{__package__}.sqlite3"
# A kill loses at most this much of the hit counts; a graceful stop loses none.
HIT_FLUSH_SECONDS = 1.0
# Bounds one transaction, so a burst cannot hold the write lock for long.
MAX_BATCH = 256
# Pages the readiness probe writes: a link (URL up to 2 KiB, two indexes) needs fewer.
PROBE_PAGES = 8
# Waiting for another process's write lock, e.g. a backup tool, instead of failing at once.
BUSY_TIMEOUT_MS = 5000

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
CREATE TABLE IF NOT EXISTS readiness_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data BLOB NOT NULL
);
"""
FIND_BY_CODE = "SELECT code, url, hits, created_at FROM links WHERE code = ?"
FIND_BY_URL = "SELECT code, url, hits, created_at FROM links WHERE url = ?"
# Errors that mean "no room or no way to write now", which retrying later can cure.
NO_SPACE_CODES = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN}
# Errors no retry cures: the file cannot be written by this process, or is not a database.
PERMANENT_CODES = {
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_AUTH,
    sqlite3.SQLITE_CORRUPT,
    sqlite3.SQLITE_NOTADB,
}
# What SQLite writes beside the database in WAL mode; each must be writable too.
COMPANIONS = ("", "-wal", "-shm")
# SQLite's own mode for a new database (0644), plus the group's write: another uid of the same
# group (OpenShift runs each pod as an arbitrary uid of group 0) can then write it. SQLite sets
# 0644 on a database it creates, and the database's mode on -wal and -shm, whatever the umask:
# a umask, which only takes bits away, cannot do this.
DATABASE_MODE = 0o664
GROUP_RW = stat.S_IRGRP | stat.S_IWGRP

log = logging.getLogger(__package__)


class StoreError(Exception):
    """The database cannot be opened or written."""


class StoreFull(StoreError):
    """A write could not be stored (disk full, I/O error); the same write may succeed later."""


class StoreUnusable(StoreError):
    """A write failed for a reason no retry cures (read-only file, corruption): an operator
    must act."""


@dataclass(frozen=True)
class Link:
    code: str
    url: str
    hits: int
    created_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if error.errno == errno.EROFS:
            raise StoreError(f"the data folder {data_dir} is on a read-only file system") from error
        raise StoreError(f"cannot create the data folder {data_dir}: {error.strerror}") from error
    if os.statvfs(data_dir).f_flag & os.ST_RDONLY:
        raise StoreError(f"the data folder {data_dir} is on a read-only file system")
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StoreError(f"the data folder {data_dir} is not writable by uid {os.getuid()}")


def _check_database_files(path: Path) -> None:
    """Refuse a database file (or its -wal or -shm) this process cannot write: left by an
    older image that ran as root, or by another uid. SQLite would open it read-only and fail
    every write; this says so at start instead, with the owner, the mode and the fix."""
    for suffix in COMPANIONS:
        file = path.with_name(path.name + suffix)
        try:
            status = file.stat()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise StoreError(f"cannot read the database file {file}: {error.strerror}") from error
        if not os.access(file, os.R_OK | os.W_OK):
            uid = os.getuid()
            raise StoreError(
                f"the database file {file} is owned by uid {status.st_uid} (gid "
                f"{status.st_gid}) with mode {stat.filemode(status.st_mode)}: uid {uid} cannot "
                f"write it; fix: chown {uid} {path}* (the database and its -wal and -shm), or "
                f"make them writable by a group uid {uid} is in"
            )


def _make_group_writable(path: Path) -> None:
    """Create the database file with DATABASE_MODE before SQLite does; one that this uid owns
    (an earlier version made it 0644) gains the group's write too."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATABASE_MODE))
    except FileExistsError:
        pass
    except OSError as error:
        raise StoreError(f"cannot create the database {path}: {error.strerror}") from error
    for suffix in COMPANIONS:
        file = path.with_name(path.name + suffix)
        try:
            status = file.stat()
            # chmod, which no umask masks (os.open's mode above is masked by it).
            if status.st_uid == os.geteuid() and ~status.st_mode & GROUP_RW:
                file.chmod(stat.S_IMODE(status.st_mode) | GROUP_RW)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise StoreError(f"cannot make {file} group-writable: {error.strerror}") from error


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


type Operation = Callable[[sqlite3.Connection], object]


class Store:
    """The links; thread-safe. ``start`` runs the background work, ``close`` ends it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DATABASE_NAME
        _check_data_dir(data_dir)
        _check_database_files(self.path)
        self._reader_lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._hits_unwritten = False
        # Cleared while counts taken from _hits are being written: a read waits for the write,
        # or it would see them in neither place (or, once committed, in both).
        self._hits_settled = asyncio.Event()
        self._hits_settled.set()
        self._flusher: asyncio.Task | None = None
        self._open()

    def _open(self) -> None:
        _make_group_writable(self.path)
        try:
            writer = _connect(self.path)
            writer.execute("PRAGMA journal_mode=WAL")
            # FULL syncs the WAL on every commit: a 201 survives power loss, not only a kill.
            writer.execute("PRAGMA synchronous=FULL")
            writer.executescript(SCHEMA)
            self._reader = _connect(self.path)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the database {self.path}: {error}") from error
        self._writer_db = writer
        self._queue: queue.SimpleQueue[tuple[Operation, asyncio.Future] | None] = (
            queue.SimpleQueue()
        )
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._writer.start()
        self._closed = False

    # Reads -----------------------------------------------------------------------------------

    async def get(self, code: str) -> Link | None:
        await self._hits_settled.wait()
        link = self._find(FIND_BY_CODE, code)
        return link and replace(link, hits=link.hits + self._hits[code])

    def target(self, code: str, *, count: bool) -> str | None:
        """The URL ``code`` leads to, counting the visit if ``count``; None if unknown."""
        with self._reader_lock:
            row = self._reader.execute("SELECT url FROM links WHERE code = ?", (code,)).fetchone()
        if row is None:
            return None
        if count:
            self._hits[code] += 1
        return row[0]

    def count(self) -> int:
        with self._reader_lock:
            return self._reader.execute("SELECT count(*) FROM links").fetchone()[0]

    # Writes, each awaited until committed ------------------------------------------------------

    async def add(self, url: str) -> tuple[Link, bool]:
        """Store ``url``; return its link and whether it was created (False: it existed)."""
        await self._hits_settled.wait()
        existing = self._find(FIND_BY_URL, url)
        if existing:
            return replace(existing, hits=existing.hits + self._hits[existing.code]), False
        return await self._write(lambda db: _insert(db, url))

    async def delete(self, code: str) -> bool:
        deleted = await self._write(
            lambda db: db.execute("DELETE FROM links WHERE code = ?", (code,)).rowcount > 0
        )
        self._hits.pop(code, None)
        return deleted

    async def check_writable(self) -> None:
        """Raise StoreError unless the database takes a committed insert of a page of data."""
        await self._write(_probe)

    # Background work ---------------------------------------------------------------------------

    def start(self) -> None:
        """Write the hit counts once a second from now on; call from the serving event loop.

        An ASGI app may live through several lifespans (test clients do that): after ``close``,
        ``start`` opens the database again.
        """
        if self._closed:
            self._open()
        # Made again for each loop: an asyncio.Event a waiter bound to one fails in another.
        self._hits_settled = asyncio.Event()
        self._hits_settled.set()
        self._flusher = asyncio.get_running_loop().create_task(self._flush_hits_forever())

    async def close(self) -> None:
        """Write the remaining hit counts, stop the writer thread and close the database."""
        if self._flusher:
            self._flusher.cancel()
        await self._flush_hits()
        self._closed = True
        self._queue.put(None)
        await asyncio.to_thread(self._writer.join)
        self._writer_db.close()
        self._reader.close()

    async def _flush_hits_forever(self) -> None:
        while True:
            await asyncio.sleep(HIT_FLUSH_SECONDS)
            await self._flush_hits()

    async def _flush_hits(self) -> None:
        if not self._hits:
            return
        counts, self._hits = self._hits, Counter()
        self._hits_settled.clear()
        try:
            await self._write(
                lambda db: db.executemany(
                    "UPDATE links SET hits = hits + ? WHERE code = ?",
                    [(n, code) for code, n in counts.items()],
                )
            )
        except StoreError as error:
            # Kept for the next try; logged once per outage, not once a second.
            self._hits.update(counts)
            if not self._hits_unwritten:
                log.warning("hit counts kept in memory until they can be written: %s", error)
            self._hits_unwritten = True
            return
        finally:
            self._hits_settled.set()
        if self._hits_unwritten:
            log.info("hit counts written again")
        self._hits_unwritten = False

    # Internals ---------------------------------------------------------------------------------

    def _find(self, query: str, value: str) -> Link | None:
        with self._reader_lock:
            row = self._reader.execute(query, (value,)).fetchone()
        return Link(*row) if row else None

    async def _write[T](self, operation: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError("the database is closed")
        future = asyncio.get_running_loop().create_future()
        self._queue.put((operation, future))
        return await future

    def _write_loop(self) -> None:
        while (item := self._queue.get()) is not None:
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self._queue.put(None)
                    break
                batch.append(following)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Operation, asyncio.Future]]) -> None:
        db = self._writer_db
        results: list[tuple[bool, object]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for operation, _ in batch:
                # A savepoint each: one failing operation does not undo the others.
                db.execute("SAVEPOINT operation")
                try:
                    results.append((True, operation(db)))
                    db.execute("RELEASE operation")
                except Exception as error:
                    if not db.in_transaction:
                        # SQLite rolled back the whole transaction, as it may on a full disk.
                        raise
                    db.execute("ROLLBACK TO operation")
                    db.execute("RELEASE operation")
                    results.append((False, _store_error(error)))
            db.execute("COMMIT")
        except Exception as error:
            # Whatever went wrong fails this batch only: the writer thread must live on.
            if db.in_transaction:
                db.execute("ROLLBACK")
            results = [(False, _store_error(error))] * len(batch)
        for (_, future), (ok, value) in zip(batch, results, strict=True):
            future.get_loop().call_soon_threadsafe(_settle, future, ok, value)


def _settle(future: asyncio.Future, ok: bool, value: object) -> None:
    # The request may have gone (client disconnected) and cancelled its future.
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)  # type: ignore[arg-type]


def _store_error(error: Exception) -> Exception:
    if not isinstance(error, sqlite3.Error):
        return error
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in NO_SPACE_CODES:
        return StoreFull(f"the database cannot store this now: {error}")
    if code is not None and code & 0xFF in PERMANENT_CODES:
        return StoreUnusable(f"the database cannot be written: {error}")
    return StoreError(f"database error: {error}")


def _insert(db: sqlite3.Connection, url: str) -> tuple[Link, bool]:
    # Checked again in the transaction: a concurrent request may have stored it meanwhile.
    row = db.execute(FIND_BY_URL, (url,)).fetchone()
    if row:
        return Link(*row), False
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        link = Link(code=code, url=url, hits=0, created_at=_now())
        try:
            db.execute(
                "INSERT INTO links (code, url, hits, created_at) VALUES (?, ?, 0, ?)",
                (link.code, link.url, link.created_at),
            )
        except sqlite3.IntegrityError:
            continue
        return link, True


def _probe(db: sqlite3.Connection) -> None:
    # Fresh pages, more than the largest link with its index entries needs: an in-place
    # update of a small row can succeed on a full disk while a new link cannot be stored.
    size = PROBE_PAGES * db.execute("PRAGMA page_size").fetchone()[0]
    db.execute("INSERT OR REPLACE INTO readiness (id, checked_at) VALUES (1, ?)", (_now(),))
    db.execute("INSERT OR REPLACE INTO readiness_probe VALUES (1, zeroblob(?))", (size,))
    db.execute("DELETE FROM readiness_probe")
