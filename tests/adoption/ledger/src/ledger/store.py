"""The ledger's entries: rows in PostgreSQL (psycopg2), each also appended to an audit log in
the data folder, fsync'ed, before it is acknowledged."""

import os
import threading
from pathlib import Path

import psycopg2
import psycopg2.extensions
import psycopg2.pool

SCHEMA = "CREATE TABLE IF NOT EXISTS entries (id BIGSERIAL PRIMARY KEY, memo TEXT NOT NULL)"


class Unreachable(RuntimeError):
    """The database cannot be reached or refused us: the message says which, without secrets."""


class Ledger:
    """Entries in PostgreSQL at ``url``; the audit log in ``folder``."""

    def __init__(self, url: str, folder: Path) -> None:
        try:
            self.pool = psycopg2.pool.ThreadedConnectionPool(1, 4, url, connect_timeout=5)
        except psycopg2.Error as error:
            # libpq's first line names the host and the reason, never the password.
            raise Unreachable(str(error).strip().splitlines()[0]) from None
        with self.connection() as connection, connection.cursor() as cursor:
            cursor.execute(SCHEMA)
        self.audit = folder / "audit.log"
        self.lock = threading.Lock()

    def connection(self) -> "_Borrowed":
        """A pooled connection for one ``with`` block, committed on leaving it."""
        return _Borrowed(self.pool)

    def add(self, memo: str) -> int:
        with self.connection() as connection, connection.cursor() as cursor:
            cursor.execute("INSERT INTO entries (memo) VALUES (%s) RETURNING id", (memo,))
            number = cursor.fetchone()[0]
        with self.lock:
            created = not self.audit.exists()
            with self.audit.open("a") as file:
                if created:
                    # Its group may write it too: a later start may run as another uid of the
                    # same group on the same volume (OpenShift); the umask would leave it 0644.
                    os.fchmod(file.fileno(), 0o664)
                file.write(f"{number}\t{memo}\n")
                file.flush()
                os.fsync(file.fileno())
        return number

    def get(self, number: int) -> str | None:
        with self.connection() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT memo FROM entries WHERE id = %s", (number,))
            row = cursor.fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.pool.closeall()


class _Borrowed:
    """A pooled connection for one ``with`` block: committed, or rolled back, then returned."""

    def __init__(self, pool: psycopg2.pool.ThreadedConnectionPool) -> None:
        self.pool = pool

    def __enter__(self) -> psycopg2.extensions.connection:
        self.connection = self.pool.getconn()
        return self.connection.__enter__()

    def __exit__(self, *failure: object) -> None:
        try:
            self.connection.__exit__(*failure)
        finally:
            self.pool.putconn(self.connection)
