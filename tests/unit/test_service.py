import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shortlink import __main__ as entrypoint
from shortlink import store
from shortlink.app import StartupError, create_app
from shortlink.settings import Settings
from shortlink.store import DATABASE_NAME

from .conftest import ADMIN_TOKEN, ClientFactory


def test_healthz_answers_ok(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_answers_ready_after_a_committed_write(client: TestClient, data_dir: Path) -> None:
    assert client.get("/readyz").json() == {"status": "ready"}
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        assert db.execute("SELECT count(*) FROM readiness").fetchone() == (1,)


def test_readyz_is_503_when_the_database_cannot_be_written(
    make_client: ClientFactory, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Waiting for the lock the whole busy timeout (5 s) proves nothing more than a tenth of it.
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 100)
    client = make_client()
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        db.execute("BEGIN EXCLUSIVE")
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_version_reports_unknown_build_fields_by_default(client: TestClient) -> None:
    assert client.get("/version").json() == {
        "version": "0.1.0",
        "revision": "unknown",
        "build_date": "unknown",
    }


def test_version_reports_what_the_environment_sets(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHORTLINK_VERSION", "1.2.3")
    monkeypatch.setenv("SHORTLINK_REVISION", "abc1234")
    monkeypatch.setenv("SHORTLINK_BUILD_DATE", "2026-11-27T00:00:00Z")
    assert make_client().get("/version").json() == {
        "version": "1.2.3",
        "revision": "abc1234",
        "build_date": "2026-11-27T00:00:00Z",
    }


def test_links_survive_a_restart_on_the_same_data_dir(
    make_client: ClientFactory, data_dir: Path
) -> None:
    first = make_client()
    link = first.post("/links", json={"url": "https://example.com/kept"}).json()
    first.get(f"/{link['code']}", follow_redirects=False)
    first.__exit__(None, None, None)
    second = make_client()
    kept = second.get(f"/links/{link['code']}").json()
    assert kept["url"] == "https://example.com/kept"
    assert kept["hits"] == 1
    assert (data_dir / DATABASE_NAME).is_file()


def test_a_201_is_committed_before_the_response(client: TestClient, data_dir: Path) -> None:
    code = client.post("/links", json={"url": "https://example.com/durable"}).json()["code"]
    with sqlite3.connect(data_dir / DATABASE_NAME) as other_connection:
        row = other_connection.execute("SELECT url FROM links WHERE code = ?", (code,)).fetchone()
    assert row == ("https://example.com/durable",)


def test_the_database_uses_wal_mode(client: TestClient, data_dir: Path) -> None:
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_without_a_token_file_the_service_runs_and_deletion_is_disabled(
    make_client: ClientFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-token"
    with caplog.at_level(logging.WARNING, logger="shortlink"):
        client = make_client(admin_token_file=missing)
    assert f"deletion disabled: admin token file {missing} does not exist" in caplog.text
    code = client.post("/links", json={"url": "https://example.com/"}).json()["code"]
    response = client.delete(f"/links/{code}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 403
    assert "deletion is disabled" in response.json()["detail"]
    assert client.get(f"/links/{code}").status_code == 200


def test_an_empty_token_setting_disables_deletion(make_client: ClientFactory) -> None:
    client = make_client(admin_token_file="")
    response = client.delete("/links/abc", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 403


def test_an_empty_token_file_stops_the_start(tmp_path: Path, data_dir: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(StartupError, match="is empty"):
        create_app(Settings(data_dir=data_dir, admin_token_file=empty))


def test_an_unreadable_token_file_stops_the_start(tmp_path: Path, data_dir: Path) -> None:
    # A folder, because root (as in CI) reads a file whatever its mode; the image tests check
    # a mode-000 file as the app's non-root user.
    with pytest.raises(StartupError, match="cannot read the admin token file"):
        create_app(Settings(data_dir=data_dir, admin_token_file=tmp_path))


def test_a_data_dir_that_cannot_be_created_stops_the_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StartupError, match="cannot create the data folder"):
        create_app(Settings(data_dir=blocker / "data", admin_token_file=None))


def test_the_admin_token_never_reaches_the_logs(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        client = make_client()
        code = client.post("/links", json={"url": "https://example.com/"}).json()["code"]
        client.delete(f"/links/{code}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        client.delete(f"/links/{code}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"})
    assert f"DELETE /links/{code} 204" in caplog.text
    assert ADMIN_TOKEN not in caplog.text


def test_every_request_is_logged_on_one_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="shortlink.access"):
        client.get("/healthz")
        client.get("/nope123")
    lines = [r.getMessage() for r in caplog.records if r.name == "shortlink.access"]
    assert len(lines) == 2
    assert lines[0].startswith("GET /healthz 200 ")
    assert lines[1].startswith("GET /nope123 404 ")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SHORTLINK_PORT", "eighty", "SHORTLINK_PORT"),
        ("SHORTLINK_PORT", "70000", "SHORTLINK_PORT"),
        ("SHORTLINK_LOG_LEVEL", "chatty", "SHORTLINK_LOG_LEVEL"),
        ("SHORTLINK_PUBLIC_URL", "not a url", "SHORTLINK_PUBLIC_URL"),
    ],
)
def test_an_invalid_setting_exits_2_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert entrypoint.main() == 2
    output = capsys.readouterr().out.strip().splitlines()
    assert len(output) == 1
    assert "invalid settings" in output[0]
    assert message in output[0]


def test_a_startup_error_exits_1_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("SHORTLINK_ADMIN_TOKEN_FILE", str(empty))
    monkeypatch.setenv("SHORTLINK_DATA_DIR", str(tmp_path / "data"))
    assert entrypoint.main() == 1
    output = capsys.readouterr().out.strip().splitlines()
    assert output == [output[0]]
    assert output[0].endswith(f"cannot start: the admin token file {empty} is empty")


def test_log_level_is_case_insensitive() -> None:
    assert Settings(log_level="DEBUG").log_level == "debug"


def test_a_link_read_while_its_hits_are_written_counts_each_hit_once(tmp_path: Path) -> None:
    """The flush takes the counts from memory, then writes them: a read in between saw them in
    neither place (observed under load: hits 0 right after a followed GET)."""

    async def episode() -> tuple[int, int]:
        links = store.Store(tmp_path)
        links.start()
        link, _ = await links.add("https://example.com/counted")
        links.target(link.code, count=True)
        release, commit = threading.Event(), links._commit
        links._commit = lambda batch: (release.wait(5), commit(batch))  # the write in flight
        flushing = asyncio.create_task(links._flush_hits())
        await asyncio.sleep(0)  # the flush has taken the counts from memory
        during = asyncio.create_task(links.get(link.code))
        await asyncio.sleep(0.2)
        release.set()
        hits_during = (await during).hits
        await flushing
        hits_after = (await links.get(link.code)).hits
        await links.close()
        return hits_during, hits_after

    assert asyncio.run(episode()) == (1, 1)
