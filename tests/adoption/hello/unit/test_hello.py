"""hello's own tests: its API on a temporary folder, its settings; no Docker."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hello.app import create_app
from hello.settings import PREFIX, InvalidSetting, Settings


def test_a_greeting_is_stored_and_survives_a_restart(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path)) as client:
        created = client.post("/greetings", json={"name": "Ada"})
        assert created.status_code == 201
    with TestClient(create_app(tmp_path)) as client:
        answer = client.get(f"/greetings/{created.json()['id']}")
        assert answer.json() == {"greeting": "Hello, Ada"}
        assert client.get("/greetings/99").status_code == 404


def test_an_invalid_port_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}PORT", "eighty")
    with pytest.raises(InvalidSetting, match=f"{PREFIX}PORT"):
        Settings.from_environment()
