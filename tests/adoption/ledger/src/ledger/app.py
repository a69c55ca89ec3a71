"""Entries: POST a memo, GET it back by its number."""

from typing import Protocol

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from .deadline import BodyDeadline
from .settings import Settings


class Store(Protocol):
    def add(self, memo: str) -> int: ...
    def get(self, number: int) -> str | None: ...


class Entry(BaseModel):
    memo: str = Field(min_length=1, max_length=200)


def create_app(store: Store | None = None) -> FastAPI:
    """The app on ``store``; without it, the ledger the settings name (uvicorn's ``--factory``,
    in the dev image, calls it without arguments)."""
    if store is None:
        from .store import Ledger

        settings = Settings.from_environment()
        store = Ledger(settings.database_url, settings.data_dir)
    app = FastAPI(title="ledger")
    app.add_middleware(BodyDeadline)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/entries", status_code=201)
    def add(body: Entry) -> dict[str, int]:
        return {"id": store.add(body.memo)}

    @app.get("/entries/{number}")
    def get(number: int) -> dict[str, str]:
        memo = store.get(number)
        if memo is None:
            raise HTTPException(404, "no such entry")
        return {"memo": memo}

    return app
