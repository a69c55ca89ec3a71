"""hello's own tests: its API on a temporary folder, its settings; no Docker."""

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hello.app import create_app
from hello.deadline import BodyDeadline
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


def test_a_body_still_arriving_at_its_deadline_gets_408_and_the_connection_closed() -> None:
    sent: list[dict] = []

    async def trickle() -> dict:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b" ", "more_body": True}

    async def record(message: dict) -> None:
        sent.append(message)

    async def never_called(*_: object) -> None:
        raise AssertionError("the app ran on a body that never arrived")

    asyncio.run(BodyDeadline(never_called, seconds=0.3)({"type": "http"}, trickle, record))
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
