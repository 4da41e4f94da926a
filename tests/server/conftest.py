"""Fixtures for server tests: the app in process, and a real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from starlette.testclient import TestClient  # noqa: E402

from botwire import SQLiteStore  # noqa: E402
from botwire.server import Settings, create_app  # noqa: E402
from tests.servers import ServerProcess, start_server  # noqa: E402


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A fresh SQLite store for one test."""
    opened = SQLiteStore(tmp_path / "server.db")
    yield opened
    opened.close()


def make_client(store: Any, **settings: Any) -> TestClient:
    """A sync httpx client (Starlette's TestClient) talking to the app in process."""
    app = create_app(store, Settings(**settings))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(store: SQLiteStore) -> Iterator[TestClient]:
    """An HTTP client on an app with default settings, in process."""
    with make_client(store) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server process (uvicorn) per test module, on SQLite."""
    folder = tmp_path_factory.mktemp("server")
    process = start_server(f"sqlite:///{folder / 'server.db'}")
    yield process
    process.stop()
