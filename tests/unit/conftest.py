from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shortlink.app import create_app
from shortlink.settings import Settings

from .helpers import ADMIN_TOKEN, TEST_HOST

type ClientFactory = Callable[..., TestClient]


@pytest.fixture(autouse=True)
def no_platform_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """PORT, where the machine running the tests sets it, would be the service's port."""
    monkeypatch.delenv("PORT", raising=False)


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
        defaults = {"data_dir": data_dir, "admin_token_file": token_file}
        # The test client's Host header; the default list is tested on its own.
        settings = Settings(**{**defaults, "allowed_hosts": TEST_HOST, **overrides})
        client = TestClient(create_app(settings)).__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()
