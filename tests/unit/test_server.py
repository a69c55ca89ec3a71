"""The server itself, on each of uvicorn's HTTP protocols: half-sent requests are dropped,
heads are bounded in size and bodies in time, idle connections live as long as keep-alive says;
hit counts reach the disk each second; the uvicorn whose private classes it builds on is the
one it was tested with."""

import asyncio
import contextlib
import os
import re
import socket
import sqlite3
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import uvicorn
from packaging.requirements import Requirement
from packaging.version import Version
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shortlink import server, store
from shortlink.app import create_app
from shortlink.settings import Settings
from shortlink.store import DATABASE_NAME

from .conftest import ClientFactory
from .helpers import ADMIN_TOKEN

DEADLINE_SECONDS = 0.3
BOUNDED = server.bounded
# h11 refuses an HTTP/1.1 request without a Host header, as the RFC says; httptools takes it.
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


@pytest.fixture(params=["httptools", "h11"])
def parser(request: pytest.FixtureRequest) -> type:
    """Each of uvicorn's HTTP protocols server.protocol() may choose."""
    if request.param == "h11":
        return H11Protocol
    return HttpToolsProtocol


@pytest.fixture
def serve(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, parser: type
) -> Iterator[Callable[..., int]]:
    """Serve the app with uvicorn, as __main__ does but with ``parser``, on a free loopback
    port; each keyword is a setting."""
    monkeypatch.setattr(server, "HEAD_TIMEOUT_SECONDS", DEADLINE_SECONDS)
    # The servers' threads log a request after answering it, which may be after the test has
    # ended and pytest has closed that phase's log handler ("I/O operation on closed file").
    monkeypatch.setattr(server.log, "propagate", False)
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**settings: object) -> int:
        chosen = Settings(**{"data_dir": data_dir, "admin_token_file": None, **settings})  # type: ignore[arg-type]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        options = server.uvicorn_options(chosen) | {
            "http": server.bounded(parser, chosen.max_header_bytes, chosen.body_timeout_seconds)
        }
        config = uvicorn.Config(
            create_app(chosen), host="127.0.0.1", port=free, log_config=None, **options
        )
        running = uvicorn.Server(config)
        thread = threading.Thread(target=running.run)
        thread.start()
        servers.append((running, thread))
        deadline = time.monotonic() + 10
        while not running.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return free

    yield start
    for running, thread in servers:
        running.should_exit = True
        thread.join(10)


@pytest.fixture
def port(serve: Callable[..., int]) -> int:
    return serve()


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
    [b"", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n", HEALTHZ + b"GET /"],
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


def answer(connection: socket.socket, within: float = 2) -> bytes:
    """The server's next whole response (head and Content-Length body); what came before it
    closed, or b"" if nothing did."""
    connection.settimeout(within)
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            if not (more := connection.recv(65536)):
                return received
            received += more
        head, _, body = received.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *([0-9]+)", head)
        while length and len(body) < int(length[1]):
            if not (more := connection.recv(65536)):
                break
            body += more
    except ConnectionResetError:
        return received
    return head + b"\r\n\r\n" + body


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_10_mb_header_is_refused_having_read_no_more_than_the_limit(
    serve: Callable[..., int], parser: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    fed: list[int] = []

    class Counting(parser):  # type: ignore[valid-type, misc]
        """The parser's protocol, recording how much of the connection it was given."""

        def data_received(self, data: bytes) -> None:
            fed.append(len(data))
            super().data_received(data)

    monkeypatch.setattr(server, "bounded", lambda _, *limits: BOUNDED(Counting, *limits))
    port = serve()
    huge = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 10_000_000
    with socket.create_connection(("127.0.0.1", port)) as connection:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            connection.sendall(huge + b"\r\n\r\n")
        # 431, or a reset that came before it: the server closed with bytes still unread.
        refused = answer(connection)
        assert refused == b"" or refused.startswith(b"HTTP/1.1 431"), refused[:100]
    assert sum(fed) <= Settings().max_header_bytes
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(HEALTHZ)
        assert answer(connection).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("size", [1024, 4096])
def test_a_head_one_byte_over_the_limit_gets_431_and_one_at_it_200(
    serve: Callable[..., int], size: int
) -> None:
    port = serve(max_header_bytes=size)
    start = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: "
    at_limit = start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"
    assert len(at_limit) == size
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(at_limit)
        assert answer(connection).startswith(b"HTTP/1.1 200")
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(at_limit[:-4] + b"a\r\n\r\n")
        refused = answer(connection)
        assert refused.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
        assert f"larger than {size} bytes".encode() in refused
        assert closed_by_server(connection, within=2)


def test_a_body_sent_a_byte_at_a_time_is_dropped_after_the_body_timeout(
    serve: Callable[..., int],
) -> None:
    port = serve(body_timeout_seconds=1.0)
    head = (
        b"POST /links HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    before = open_descriptors()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(head)
        started = time.monotonic()
        connection.settimeout(0.2)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while time.monotonic() - started < 5:
                connection.sendall(b" ")  # a byte each 0.2 s: never idle, never done
                try:
                    if not connection.recv(1024):
                        break
                except TimeoutError:
                    continue
        dropped_after = time.monotonic() - started
        assert 0.9 < dropped_after < 3
        # The server's end is closed: only this test's own is left open.
        assert open_descriptors() == before + 1


def test_a_body_that_arrives_in_time_however_slowly_is_answered(
    serve: Callable[..., int],
) -> None:
    port = serve(body_timeout_seconds=2.0)
    body = b'{"url": "https://slow.example/"}'
    head = (
        b"POST /links HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(head)
        for byte in body[:8]:
            time.sleep(DEADLINE_SECONDS / 2)  # slower, in all, than a head may take
            connection.sendall(bytes([byte]))
        connection.sendall(body[8:])
        assert answer(connection).startswith(b"HTTP/1.1 201")


def test_an_idle_connection_outlives_the_head_deadline_until_keep_alive_ends(
    serve: Callable[..., int],
) -> None:
    port = serve(keep_alive_seconds=1)
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for _ in range(2):
            connection.sendall(HEALTHZ)
            assert answer(connection).startswith(b"HTTP/1.1 200")
            time.sleep(DEADLINE_SECONDS * 2)  # idle, past the head deadline
        assert closed_by_server(connection, within=2)


def test_a_burst_of_100_deletes_takes_a_handful_of_threads(
    serve: Callable[..., int], token_file: Path
) -> None:
    port = serve(admin_token_file=token_file)

    async def delete(code: str) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"DELETE /links/{code} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n".encode()
        )
        answered = await reader.read()
        writer.close()
        return answered

    async def burst() -> tuple[int, list[bytes]]:
        deletes = asyncio.gather(*(delete(f"none{n}") for n in range(100)))
        peak = threading.active_count()
        while not deletes.done():
            peak = max(peak, threading.active_count())
            await asyncio.sleep(0.001)
        return peak, await deletes

    before = threading.active_count()
    peak, answers = asyncio.run(burst())
    assert all(answer.startswith(b"HTTP/1.1 404") for answer in answers)
    assert peak - before <= 4, f"{peak - before} threads more during the burst"


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
