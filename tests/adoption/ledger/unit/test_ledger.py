"""ledger's own tests: its API on a store in memory, its settings; no Docker, no database
(the image checks run it against PostgreSQL)."""

import asyncio

import pytest
from fastapi.testclient import TestClient

from ledger.app import create_app
from ledger.deadline import BodyDeadline
from ledger.settings import PREFIX, InvalidSetting, Settings

URL = "postgresql://ledger:secret@db:5432/ledger"


class Memory:
    def __init__(self) -> None:
        self.memos: list[str] = []

    def add(self, memo: str) -> int:
        self.memos.append(memo)
        return len(self.memos)

    def get(self, number: int) -> str | None:
        return self.memos[number - 1] if 1 <= number <= len(self.memos) else None


def test_an_entry_is_stored_and_read_back_by_its_number() -> None:
    with TestClient(create_app(Memory())) as client:
        created = client.post("/entries", json={"memo": "coffee"})
        assert created.status_code == 201
        assert client.get(f"/entries/{created.json()['id']}").json() == {"memo": "coffee"}
        assert client.get("/entries/99").status_code == 404


def test_the_database_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(f"{PREFIX}DATABASE_URL", raising=False)
    with pytest.raises(InvalidSetting, match=f"{PREFIX}DATABASE_URL: required"):
        Settings.from_environment()


def test_an_invalid_port_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{PREFIX}DATABASE_URL", URL)
    monkeypatch.setenv(f"{PREFIX}PORT", "eighty")
    with pytest.raises(InvalidSetting, match=f"{PREFIX}PORT"):
        Settings.from_environment()


def test_the_driver_is_the_one_compiled_against_libpq() -> None:
    import psycopg2.extensions

    assert psycopg2.extensions.libpq_version() > 0


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
