from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shortlink.app import create_app
from shortlink.settings import Settings

ADMIN_TOKEN = "unit-test-admin-token"

type ClientFactory = Callable[..., TestClient]


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "admin_token"
    path.write_text(ADMIN_TOKEN + "\n")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_client(data_dir: Path, token_file: Path) -> Iterator[ClientFactory]:
    """Start the app on ``data_dir``; every client it made is shut down at the end."""
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        settings = Settings(**{"data_dir": data_dir, "admin_token_file": token_file, **overrides})
        client = TestClient(create_app(settings)).__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()
