"""A full disk is an answer, not a crash; a read-only data folder says so at start-up.

SQLite's max_page_count caps the database as a full disk would, with the same SQLITE_FULL,
without root or a real small file system (the image tests can add a small tmpfs).
"""

import os
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shortlink import __main__ as entrypoint
from shortlink.app import StartupError, create_app
from shortlink.settings import Settings
from shortlink.store import DATABASE_NAME, Store

from .conftest import ClientFactory

MAX_POSTS = 200


def long_url(name: object) -> str:
    # Long URLs fill the pages the readiness probe freed in a few posts, not hundreds.
    return f"https://full.example/{name}/{'p' * 1500}"


def store_of(client: TestClient) -> Store:
    return client.app.state.store  # type: ignore[attr-defined]


def cap_database(client: TestClient, pages: int) -> None:
    """Cap the database at ``pages`` pages (at least its current size), like a full disk."""
    store_of(client)._writer_db.execute(f"PRAGMA max_page_count = {pages}")


def fill(client: TestClient) -> int:
    """Post links until the capped database refuses one; return how many were stored."""
    cap_database(client, 1)
    for n in range(MAX_POSTS):
        response = client.post("/links", json={"url": long_url(n)})
        if response.status_code != 201:
            assert response.status_code == 507, response.text
            return n
    pytest.fail(f"{MAX_POSTS} links fitted in a full database")


def test_a_full_disk_answers_507_json_with_a_retry_hint(client: TestClient) -> None:
    fill(client)
    response = client.post("/links", json={"url": long_url("more")})
    assert response.status_code == 507
    assert response.json() == {"detail": "the disk is full"}
    assert int(response.headers["retry-after"]) > 0


def test_redirects_keep_working_and_counting_on_a_full_disk(
    make_client: ClientFactory, data_dir: Path
) -> None:
    client = make_client()
    code = client.post("/links", json={"url": "https://full.example/kept"}).json()["code"]
    fill(client)
    for _ in range(3):
        assert client.get(f"/{code}", follow_redirects=False).status_code == 307
    assert client.get(f"/links/{code}").json()["hits"] == 3
    cap_database(client, 1_000_000)
    client.__exit__(None, None, None)
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        assert db.execute("SELECT hits FROM links WHERE code = ?", (code,)).fetchone() == (3,)


def test_readyz_is_503_while_the_database_cannot_take_an_insert(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200
    fill(client)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_all_recover_when_space_returns_without_a_restart(client: TestClient) -> None:
    fill(client)
    assert client.get("/readyz").status_code == 503
    cap_database(client, 1_000_000)
    assert client.get("/readyz").status_code == 200
    assert client.post("/links", json={"url": "https://full.example/after"}).status_code == 201


def test_a_full_disk_logs_one_line_per_refusal_without_a_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    fill(client)
    caplog.clear()
    client.post("/links", json={"url": long_url("secret-path")})
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert errors[0].exc_info is None
    assert "secret-path" not in caplog.text


def read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.statvfs

    class ReadOnly:
        def __init__(self, path: object) -> None:
            self.f_flag = real(path).f_flag | os.ST_RDONLY  # type: ignore[arg-type]

    monkeypatch.setattr(os, "statvfs", ReadOnly)


def test_a_read_only_data_folder_is_named_as_such(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir.mkdir()
    read_only(monkeypatch)
    with pytest.raises(StartupError, match="is on a read-only file system"):
        create_app(Settings(data_dir=data_dir, admin_token_file=None))


def test_a_read_only_data_folder_exits_1_with_one_line(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir()
    read_only(monkeypatch)
    monkeypatch.setenv("SHORTLINK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHORTLINK_ADMIN_TOKEN_FILE", "")
    assert entrypoint.main() == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if " ERROR " in line]
    assert len(lines) == 1
    assert "read-only file system" in lines[0]
    assert "not writable" not in lines[0]
