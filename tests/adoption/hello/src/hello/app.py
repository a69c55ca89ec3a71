"""Greetings: POST a name, GET its greeting back; each one a line of greetings.jsonl."""

import json
import os
import threading
from pathlib import Path

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from .deadline import BodyDeadline
from .settings import Settings


class Name(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class Greetings:
    """Lines of JSON in one file, each written and fsync'ed before it is acknowledged."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "greetings.jsonl"
        self.lock = threading.Lock()
        self.names = (
            [json.loads(line)["name"] for line in self.path.read_text().splitlines() if line]
            if self.path.exists()
            else []
        )

    def add(self, name: str) -> int:
        with self.lock:
            created = not self.path.exists()
            with self.path.open("a") as file:
                if created:
                    # Its group may write it too: a later start may run as another uid of the
                    # same group on the same volume (OpenShift); the umask would leave it 0644.
                    os.fchmod(file.fileno(), 0o664)
                file.write(json.dumps({"name": name}) + "\n")
                file.flush()
                os.fsync(file.fileno())
            self.names.append(name)
            return len(self.names)


def create_app(data_dir: Path | None = None) -> FastAPI:
    """The app on ``data_dir``; without it, the settings' (uvicorn's ``--factory``, in the dev
    image, calls it without arguments)."""
    greetings = Greetings(data_dir or Settings.from_environment().data_dir)
    app = FastAPI(title="hello")
    app.add_middleware(BodyDeadline)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/greetings", status_code=201)
    def greet(body: Name) -> dict[str, int]:
        return {"id": greetings.add(body.name)}

    @app.get("/greetings/{number}")
    def greeting(number: int) -> dict[str, str]:
        if not 1 <= number <= len(greetings.names):
            raise HTTPException(404, "no such greeting")
        return {"greeting": f"Hello, {greetings.names[number - 1]}"}

    return app
