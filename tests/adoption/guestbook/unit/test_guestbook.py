"""guestbook's own tests: its API through Django's test client, its migrations, its settings,
its static files; no Docker, no gunicorn."""

import logging
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from guestbook import __main__ as server
from guestbook.config import PREFIX, InvalidSetting, Settings
from guestbook.deadline import BodyDeadline

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


# guestbook, its workers' boot slowed to a second (gunicorn's post_fork hook).
SLOW_BOOT = (
    "import sys, time, guestbook.__main__ as m; options = m.options; "
    "m.options = lambda s: options(s) | {'post_fork': lambda server, worker: time.sleep(1)}; "
    "sys.exit(m.main())"
)


def test_a_stop_sent_while_a_worker_boots_is_not_lost(tmp_path: Path) -> None:
    """The SIGTERM the master passes to a worker still booting waits for the worker's handlers;
    it was lost there, and the stop took graceful_timeout's SIGKILL."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = os.environ | {f"{PREFIX}DATA_DIR": str(tmp_path), f"{PREFIX}PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_BOOT], env=env, stderr=subprocess.PIPE, text=True
    )
    said = []
    for line in process.stderr:
        said.append(line)
        if "Booting worker" in line:
            break
    time.sleep(0.3)  # within the worker's boot
    started = time.monotonic()
    process.terminate()
    said += process.communicate(timeout=30)[1]
    seconds = time.monotonic() - started
    assert process.returncode == 0, "".join(said)
    assert seconds < server.GRACEFUL_SHUTDOWN_SECONDS - 1, f"stopped after {seconds:.1f} s"


def test_a_body_still_arriving_at_its_deadline_gets_408_and_the_connection_closed() -> None:
    served, peer = socket.socketpair()
    peer.sendall(b"{")  # one byte of the ten announced, and no more
    environ = {"CONTENT_LENGTH": "10", "gunicorn.socket": served}
    environ["wsgi.input"] = served.makefile("rb")
    answered: list[tuple[str, list[tuple[str, str]]]] = []
    with served, peer:
        BodyDeadline(lambda *_: [b"the app ran"], seconds=0.3)(
            environ, lambda status, headers: answered.append((status, headers))
        )
    assert answered[0][0].startswith("408 ")
    assert ("Connection", "close") in answered[0][1]
