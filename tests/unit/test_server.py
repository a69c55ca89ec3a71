"""The server itself: half-sent requests are dropped; hit counts reach the disk each second;
the uvicorn whose private classes it builds on is the one it was tested with."""

import asyncio
import socket
import sqlite3
import threading
import time
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import uvicorn
from packaging.requirements import Requirement
from packaging.version import Version

from shortlink import server, store
from shortlink.app import create_app
from shortlink.settings import Settings
from shortlink.store import DATABASE_NAME

from .conftest import ClientFactory

DEADLINE_SECONDS = 0.3
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


@pytest.fixture
def port(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The app served by uvicorn with the project's protocol, on a free loopback port."""
    monkeypatch.setattr(server, "HEAD_TIMEOUT_SECONDS", DEADLINE_SECONDS)
    app = create_app(Settings(data_dir=data_dir, admin_token_file=None))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free, http=server.protocol(), log_config=None
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield free
    running.should_exit = True
    thread.join(10)


def closed_by_server(connection: socket.socket, within: float) -> bool:
    """Whether the server closes the connection in time; any answer still unread is skipped."""
    connection.settimeout(within)
    try:
        while connection.recv(1024):
            pass
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n", b"GET /healthz HTTP/1.1\r\n\r\nGET /"],
    ids=["nothing", "half-a-head", "half-a-second-head"],
)
def test_a_half_sent_request_is_dropped_within_the_deadline(port: int, sent: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(sent)
        if sent.count(b"\r\n\r\n"):
            assert connection.recv(1024).startswith(b"HTTP/1.1 200")
        assert closed_by_server(connection, within=DEADLINE_SECONDS + 2)


def test_a_slow_but_complete_request_is_answered(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: localhost\r\n", b"\r\n"):
            connection.sendall(part)
            time.sleep(DEADLINE_SECONDS / 4)
        connection.settimeout(2)
        assert connection.recv(1024).startswith(b"HTTP/1.1 200")


def test_hit_counts_reach_the_database_without_a_shutdown(
    make_client: ClientFactory, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "HIT_FLUSH_SECONDS", 0.05)
    client = make_client()
    code = client.post("/links", json={"url": "https://a.example/"}).json()["code"]
    client.get(f"/{code}", follow_redirects=False)
    deadline = time.monotonic() + 5
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        while db.execute("SELECT hits FROM links WHERE code = ?", (code,)).fetchone() != (1,):
            assert time.monotonic() < deadline, "the hit count was never written"
            time.sleep(0.02)


def test_concurrent_posts_of_one_url_get_one_code(make_client: ClientFactory) -> None:
    client = make_client()

    async def post_many() -> set[str]:
        results = await asyncio.gather(
            *(
                asyncio.to_thread(client.post, "/links", json={"url": "https://one.example/"})
                for _ in range(32)
            )
        )
        return {r.json()["code"] for r in results}

    assert len(asyncio.run(post_many())) == 1


def test_uvicorn_is_allowed_only_in_the_minor_release_server_py_was_tested_with() -> None:
    """server.py subclasses uvicorn's private protocol classes, which any 0.x minor may change."""
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    allowed = next(r for r in map(Requirement, dependencies) if r.name == "uvicorn").specifier
    tested = Version(version("uvicorn"))
    assert tested in allowed
    assert Version(f"{tested.major}.{tested.minor}.0") in allowed
    assert Version(f"{tested.major}.{tested.minor + 1}.0") not in allowed
    if tested.minor:
        assert Version(f"{tested.major}.{tested.minor - 1}.999") not in allowed
