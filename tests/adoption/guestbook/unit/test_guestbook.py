"""guestbook's own tests: its API through Django's test client, its migrations, its settings,
its static files; no Docker, no gunicorn."""

import logging
import sqlite3
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from guestbook import __main__ as server
from guestbook.config import PREFIX, InvalidSetting, Settings

STYLE = "/static/guestbook/style.css"


@pytest.fixture
def client(database: str) -> Client:
    return Client()


def test_the_migrations_create_the_tables_and_match_the_models(database: str) -> None:
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "guestbook_entry" in tables
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_an_entry_is_stored_and_read_back(client: Client) -> None:
    created = client.post("/entries", {"name": "Ada"}, content_type="application/json")
    assert created.status_code == 201
    answer = client.get(f"/entries/{created.json()['id']}")
    assert answer.status_code == 200
    assert answer.json()["name"] == "Ada"
    assert client.get("/entries/999999").status_code == 404


@pytest.mark.parametrize(
    "body",
    ["not json", "[1]", '{"name": ""}', '{"name": "' + "x" * 101 + '"}'],
    ids=["not-json", "not-an-object", "empty", "too-long"],
)
def test_an_entry_without_a_valid_name_is_refused(client: Client, body: str) -> None:
    answer = client.post("/entries", body, content_type="application/json")
    assert answer.status_code == 400


def test_health_and_readiness(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_static_files_are_served_from_the_collected_folder_only(
    database: str, tmp_path: Path
) -> None:
    """What the image's build step does (collectstatic into STATIC_ROOT), then what whitenoise
    serves from it; from an empty folder, nothing: the sources are not served."""
    with override_settings(STATIC_ROOT=str(tmp_path / "empty")):
        (tmp_path / "empty").mkdir()
        assert Client().get(STYLE).status_code == 404
    with override_settings(STATIC_ROOT=str(tmp_path / "assets")):
        call_command("collectstatic", interactive=False, verbosity=0)
        assert (tmp_path / "assets" / "guestbook" / "style.css").is_file()
        answer = Client().get(STYLE)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/css")


def test_settings_name_each_variable_that_is_wrong() -> None:
    environ = {f"{PREFIX}PORT": "eighty", f"{PREFIX}LOG_LEVEL": "chatty"}
    with pytest.raises(InvalidSetting) as raised:
        Settings.from_environment(environ)
    for name in ("PORT", "LOG_LEVEL", "SECRET_KEY"):
        assert f"{PREFIX}{name}" in str(raised.value)
    # collectstatic at build time has no secret key: only serving needs one.
    assert Settings.from_environment({}, secret_required=False).port == 8000


def test_it_refuses_to_start_without_its_secret_key_in_one_error_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(f"{PREFIX}SECRET_KEY")
    assert server.main() == 2
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"{PREFIX}SECRET_KEY" in errors[0].getMessage()


def test_it_refuses_a_data_folder_it_cannot_write(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    (tmp_path / "a-file").touch()
    monkeypatch.setenv(f"{PREFIX}DATA_DIR", str(tmp_path / "a-file"))
    assert server.main() == 1
    assert "is not writable" in caplog.text


def test_gunicorn_forks_two_workers_and_stops_within_the_grace_period() -> None:
    options = server.options(
        Settings.from_environment({f"{PREFIX}HOST": "::"}, secret_required=False)
    )
    assert options["bind"] == ["[::]:8000"]
    assert options["workers"] == 2
    assert options["graceful_timeout"] == server.GRACEFUL_SHUTDOWN_SECONDS
