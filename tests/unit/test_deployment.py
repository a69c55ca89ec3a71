"""Where it is deployed: orchestrators' variables, reverse proxies, dual stack, descriptor
exhaustion, storage left by another uid or shared with its group, stop signals, token files as
editors save them (issue 20)."""

import asyncio
import contextlib
import errno
import json
import logging
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shortlink import __main__ as entrypoint
from shortlink import healthcheck, server, store
from shortlink.app import StartupError, create_app, read_admin_token
from shortlink.settings import (
    EMPTY_MEANS_NONE,
    Settings,
    ignored_service_links,
    requested_log_format,
)
from shortlink.store import DATABASE_NAME, StoreError, StoreUnusable

from .conftest import ClientFactory
from .helpers import ADMIN_TOKEN, TEST_HOST

# What Kubernetes injects for a Service named shortlink.
SERVICE_LINKS = {
    "SHORTLINK_PORT": "tcp://10.96.12.34:8000",
    "SHORTLINK_PORT_8000_TCP": "tcp://10.96.12.34:8000",
    "SHORTLINK_PORT_8000_TCP_PROTO": "tcp",
    "SHORTLINK_PORT_8000_TCP_PORT": "8000",
    "SHORTLINK_PORT_8000_TCP_ADDR": "10.96.12.34",
    "SHORTLINK_SERVICE_HOST": "10.96.12.34",
    "SHORTLINK_SERVICE_PORT": "8000",
}
PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "links.example.com"}


class FakeServer:
    """uvicorn.Server, recording what main() gives it instead of serving."""

    last: "FakeServer"

    def __init__(self, config: object) -> None:
        self.config = config
        self.started = False
        FakeServer.last = self

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        self.sockets = sockets or []
        self.started = True
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[type[FakeServer]]:
    monkeypatch.setattr(entrypoint.uvicorn, "Server", FakeServer)
    monkeypatch.setenv("SHORTLINK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHORTLINK_ADMIN_TOKEN_FILE", "")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield FakeServer
    root.handlers[:], root.level = handlers, level


# Settings that survive orchestrators ---------------------------------------------------------


def test_service_links_in_our_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SERVICE_LINKS.items():
        monkeypatch.setenv(name, value)
    assert Settings().port == 8000
    assert ignored_service_links(os.environ) == ["SHORTLINK_PORT=tcp://10.96.12.34:8000"]


@pytest.mark.parametrize(
    "value", ["tcp://10.96.12.34:8000", "udp://10.0.0.1:53", "tcp://[fd00:10:96::a]:8000"]
)
def test_every_kind_of_service_link_is_recognized(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("shortlink_port", value)
    assert Settings().port == 8000
    assert ignored_service_links(os.environ) == [f"shortlink_port={value}"]


# What an empty value says of the settings where it means none: no token file (deletion
# disabled), no trusted proxy.
NONE = {"admin_token_file": None, "forwarded_allow_ips": ""}


@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "blank"])
@pytest.mark.parametrize("name", sorted(set(Settings.model_fields) - EMPTY_MEANS_NONE))
def test_an_empty_variable_is_an_unset_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """As compose's ${VAR:-} or a blank Helm value leave it: the default, not a refusal."""
    monkeypatch.setenv(f"SHORTLINK_{name.upper()}", value)
    assert getattr(Settings(), name) == Settings.model_fields[name].default


@pytest.mark.parametrize("name", sorted(EMPTY_MEANS_NONE))
def test_an_empty_token_file_or_proxy_list_still_says_none(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(f"SHORTLINK_{name.upper()}", "")
    assert getattr(Settings(), name) == NONE[name]


@pytest.mark.parametrize(
    "ours", [None, "", "tcp://10.96.12.34:8000"], ids=["unset", "empty", "service-link"]
)
def test_without_a_port_of_its_own_it_serves_on_the_platforms_port(
    monkeypatch: pytest.MonkeyPatch, ours: str | None
) -> None:
    """Cloud Run, Heroku and App Runner say which port to serve on in PORT."""
    if ours is not None:
        monkeypatch.setenv("SHORTLINK_PORT", ours)
    monkeypatch.setenv("PORT", "9123")
    assert Settings().port == 9123


def test_its_own_port_wins_over_the_platforms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTLINK_PORT", "9000")
    monkeypatch.setenv("PORT", "9123")
    assert Settings().port == 9000


@pytest.mark.parametrize("value", ["eighty", "0", "70000"])
def test_an_invalid_platform_port_exits_2_with_one_line_naming_port(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_server: type[FakeServer],
    value: str,
) -> None:
    monkeypatch.setenv("PORT", value)
    assert entrypoint.main() == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert "ERROR" in lines[0]
    assert "invalid settings: PORT: " in lines[0]
    assert "SHORTLINK_PORT" not in lines[0]


def test_main_serves_on_the_platforms_port(
    monkeypatch: pytest.MonkeyPatch, fake_server: type[FakeServer]
) -> None:
    monkeypatch.setenv("PORT", "9123")
    assert entrypoint.main() == 0
    assert fake_server.last.config.port == 9123


def test_a_set_port_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORTLINK_PORT", "9000")
    assert Settings().port == 9000
    assert ignored_service_links(os.environ) == []


def test_main_serves_and_says_once_what_it_ignored_and_why(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_server: type[FakeServer],
) -> None:
    for name, value in SERVICE_LINKS.items():
        monkeypatch.setenv(name, value)
    assert entrypoint.main() == 0
    assert fake_server.last.config.port == 8000
    said = [line for line in capsys.readouterr().out.splitlines() if "ignored" in line]
    assert len(said) == 1
    assert "SHORTLINK_PORT=tcp://10.96.12.34:8000" in said[0]
    assert "enableServiceLinks: false" in said[0]


@pytest.mark.parametrize(
    "setting", ["SHORTLINK_PORT=eighty", "SHORTLINK_LOG_LEVEL=chatty", "SHORTLINK_PORT=0"]
)
def test_an_invalid_setting_is_reported_as_json_when_json_is_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], setting: str
) -> None:
    monkeypatch.setenv("SHORTLINK_LOG_FORMAT", "JSON")
    monkeypatch.setenv(*setting.split("="))
    assert entrypoint.main() == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "ERROR"
    assert setting.split("=")[0] in entry["message"]


def test_an_invalid_log_format_is_reported_as_text() -> None:
    assert requested_log_format({"SHORTLINK_LOG_FORMAT": "yaml"}) == "text"
    assert requested_log_format({"shortlink_log_format": " json "}) == "json"


# Behind a reverse proxy ----------------------------------------------------------------------


def proxied_client(data_dir: Path, peer: str, trusted: str) -> TestClient:
    settings = Settings(
        data_dir=data_dir,
        admin_token_file=None,
        allowed_hosts=f"{TEST_HOST},links.example.com",
        forwarded_allow_ips=trusted,
    )
    return TestClient(create_app(settings), client=(peer, 40000))


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.0.0.5", "10.0.0.5"),
        ("10.0.0.5", "10.0.0.0/8"),
        ("::ffff:10.0.0.5", "10.0.0.0/8"),
        ("fd00::5", "fd00::/64"),
        ("192.0.2.9", "*"),
    ],
)
def test_a_trusted_proxy_makes_links_https_on_its_host(
    data_dir: Path, peer: str, trusted: str
) -> None:
    with proxied_client(data_dir, peer, trusted) as client:
        answer = client.post("/links", json={"url": "https://example.com/"}, headers=PROXIED)
    assert answer.json()["short_url"].startswith("https://links.example.com/")


@pytest.mark.parametrize(
    ("peer", "trusted"), [("10.0.0.5", "10.0.0.6"), ("10.0.0.5", ""), ("10.0.0.5", "127.0.0.1")]
)
def test_an_untrusted_peer_cannot_choose_the_scheme_or_host(
    data_dir: Path, peer: str, trusted: str
) -> None:
    with proxied_client(data_dir, peer, trusted) as client:
        answer = client.post("/links", json={"url": "https://example.com/"}, headers=PROXIED)
    assert answer.json()["short_url"].startswith(f"http://{TEST_HOST}/")


def test_a_forwarded_host_must_still_be_an_allowed_one(data_dir: Path) -> None:
    with proxied_client(data_dir, "10.0.0.5", "10.0.0.5") as client:
        headers = {**PROXIED, "X-Forwarded-Host": "evil.example"}
        answer = client.post("/links", json={"url": "https://example.com/"}, headers=headers)
    assert answer.json()["short_url"].startswith("/")


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.300", "10.0.0.0/99"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(forwarded_allow_ips=value)


# Dual stack ----------------------------------------------------------------------------------


def test_the_ipv6_wildcard_takes_ipv4_and_ipv6_on_one_port() -> None:
    sock = server.dual_stack_socket("::", 0)
    assert sock is not None
    with sock:
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
        sock.listen()
        port = sock.getsockname()[1]
        for address in ("127.0.0.1", "::1"):
            with socket.create_connection((address, port), timeout=2):
                sock.accept()[0].close()


def test_connections_on_the_dual_stack_socket_send_without_waiting_for_acks() -> None:
    # asyncio disables Nagle only on sockets whose protocol is TCP; with it on, a response
    # written in two parts (head, then body) waits for the client's delayed ACK: about 40 ms.
    sock = server.dual_stack_socket("::", 0)
    assert sock is not None

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            raw = writer.get_extra_info("socket")
            accepted.set_result(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        async with await asyncio.start_server(connected, sock=sock):
            _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
            try:
                return await asyncio.wait_for(accepted, 2)
            finally:
                writer.close()

    assert asyncio.run(accept_one()) == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1", "::1", "localhost"])  # noqa: S104
def test_other_hosts_are_left_to_uvicorn(host: str) -> None:
    assert server.dual_stack_socket(host, 0) is None


def test_main_passes_uvicorn_the_dual_stack_socket(
    monkeypatch: pytest.MonkeyPatch, fake_server: type[FakeServer]
) -> None:
    monkeypatch.setenv("SHORTLINK_HOST", "::")
    monkeypatch.setenv("SHORTLINK_PORT", str(free_port()))
    assert entrypoint.main() == 0
    [sock] = fake_server.last.sockets
    assert sock.family == socket.AF_INET6


def free_port() -> int:
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::", 0))
        return probe.getsockname()[1]


# Bounded logs under exhaustion ---------------------------------------------------------------


def test_an_exhaustion_episode_logs_two_lines_with_a_count(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(server, "EPISODE_QUIET_SECONDS", 0.1)

    async def episode() -> None:
        server.ResourceErrors().install()
        loop = asyncio.get_running_loop()
        for _ in range(5000):
            error = OSError(errno.EMFILE, os.strerror(errno.EMFILE))
            loop.call_exception_handler(
                {"message": "socket.accept() out of system resource", "exception": error}
            )
        await asyncio.sleep(0.5)

    with caplog.at_level(logging.INFO, logger="shortlink"):
        asyncio.run(episode())
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert "Too many open files (EMFILE)" in lines[0]
    assert lines[1].startswith("5000 errors like the one above")
    assert not any(record.exc_info for record in caplog.records)


def test_other_loop_errors_still_reach_asyncios_handler(caplog: pytest.LogCaptureFixture) -> None:
    async def other() -> None:
        server.ResourceErrors().install()
        asyncio.get_running_loop().call_exception_handler(
            {"message": "something else", "exception": ValueError("x")}
        )

    with caplog.at_level(logging.ERROR):
        asyncio.run(other())
    assert [record.name for record in caplog.records] == ["asyncio"]


# Storage the service can use, or a refusal ---------------------------------------------------


@pytest.fixture
def root_owned_database(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database file this process may not write, as a non-root uid would find one an older
    root-run image left: access() says no (the tests may run as root, who may write all)."""
    data_dir.mkdir()
    database = data_dir / DATABASE_NAME
    sqlite3.connect(database).close()
    database.chmod(0o644)
    real_access = os.access

    def access(path: object, mode: int, **options: object) -> bool:
        if Path(str(path)) == database and mode & os.W_OK:
            return False
        return real_access(path, mode, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    return database


def test_a_database_file_it_cannot_write_stops_the_start_naming_all(
    root_owned_database: Path, data_dir: Path
) -> None:
    with pytest.raises(StartupError) as refused:
        create_app(Settings(data_dir=data_dir, admin_token_file=None))
    message = str(refused.value)
    status = root_owned_database.stat()
    for part in (
        str(root_owned_database),
        f"owned by uid {status.st_uid}",
        "mode -rw-r--r--",
        f"uid {os.getuid()} cannot write it",
        f"fix: chown {os.getuid()} {root_owned_database}*",
    ):
        assert part in message


def test_a_database_file_it_cannot_write_exits_1_with_one_line(
    root_owned_database: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_server: type[FakeServer],
) -> None:
    monkeypatch.setenv("SHORTLINK_DATA_DIR", str(data_dir))
    assert entrypoint.main() == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert "cannot start: the database file" in errors[0]


def test_a_write_that_no_retry_can_cure_is_500_without_retry_after(
    client: TestClient,
) -> None:
    client.app.state.store._writer_db.execute("PRAGMA query_only = 1")  # type: ignore[attr-defined]
    answer = client.post("/links", json={"url": "https://example.com/read-only"})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "the database cannot be written"}
    assert "retry-after" not in answer.headers


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (sqlite3.SQLITE_READONLY, StoreUnusable),
        (sqlite3.SQLITE_CORRUPT, StoreUnusable),
        (sqlite3.SQLITE_FULL, store.StoreFull),
        (sqlite3.SQLITE_BUSY, StoreError),
    ],
)
def test_write_errors_are_told_apart(code: int, kind: type) -> None:
    error = sqlite3.OperationalError("planted")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    assert type(store._store_error(error)) is kind


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The umask most images and shells run with: it takes the group's write away."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("umask_022")
def test_the_database_files_it_creates_are_group_writable(
    make_client: ClientFactory, data_dir: Path
) -> None:
    make_client().post("/links", json={"url": "https://example.com/group"})
    for suffix in store.COMPANIONS:
        file = data_dir / (DATABASE_NAME + suffix)
        assert stat.filemode(file.stat().st_mode) == "-rw-rw-r--", file.name


@pytest.mark.usefixtures("umask_022")
def test_a_database_an_earlier_version_made_0644_becomes_group_writable(
    make_client: ClientFactory, data_dir: Path
) -> None:
    data_dir.mkdir()
    database = data_dir / DATABASE_NAME
    sqlite3.connect(database).close()
    database.chmod(0o644)
    make_client()
    assert stat.filemode(database.stat().st_mode) == "-rw-rw-r--"


# Stopping --------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_it_gracefully_with_exit_code_0(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """As under docker --init or tini, or a shell's Ctrl+C: the service is not PID 1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {name: value for name, value in os.environ.items() if "SHORTLINK" not in name}
    environment |= {
        "SHORTLINK_PORT": str(port),
        "SHORTLINK_DATA_DIR": str(tmp_path / "data"),
        "SHORTLINK_ADMIN_TOKEN_FILE": "",
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "shortlink"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError):
                if healthcheck.status("127.0.0.1", port) == 200:
                    break
            assert service.poll() is None, service.communicate()[0]
            assert time.monotonic() < deadline, "the service never served"
            time.sleep(0.1)
        service.send_signal(signum)
        output = service.communicate(timeout=20)[0]
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
    assert service.returncode == 0, output
    assert "database closed" in output


# A token file as people write them -----------------------------------------------------------


@pytest.mark.parametrize(
    "saved",
    [
        b"\xef\xbb\xbf" + ADMIN_TOKEN.encode(),
        b"\xef\xbb\xbf" + ADMIN_TOKEN.encode() + b"\r\n",
        b"  " + ADMIN_TOKEN.encode() + b" \n\n",
        b"\t" + ADMIN_TOKEN.encode() + b"\r\n",
    ],
    ids=["bom", "bom-crlf", "spaces", "tab-crlf"],
)
def test_a_token_file_as_editors_save_it_is_the_token(
    make_client: ClientFactory, token_file: Path, saved: bytes
) -> None:
    token_file.write_bytes(saved)
    client = make_client()
    answer = client.delete("/links/none", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "saved",
    [
        b"first\nsecond\n",
        b"tok\x00en",
        "to\u200bken".encode(),
        b"\xef\xbb\xbf" + "a\ufeffb".encode(),
    ],
    ids=["two-lines", "nul", "zero-width-space", "inner-bom"],
)
def test_a_token_no_header_can_carry_is_refused_in_one_line(tmp_path: Path, saved: bytes) -> None:
    path = tmp_path / "token"
    path.write_bytes(saved)
    with pytest.raises(StartupError, match="write the token alone, on one line"):
        read_admin_token(path)


def test_a_file_holding_only_a_bom_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(StartupError, match="is empty"):
        read_admin_token(path)
