"""Fixtures for the security tests: an admin token, and the server app behind TokenAuth."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

import httpx  # noqa: E402

from botwire import SQLiteStore  # noqa: E402


@pytest.fixture
def admin_token() -> str:
    """A fresh admin secret (what BOTWIRE_ADMIN_TOKEN holds)."""
    return "adm-" + secrets.token_urlsafe(24)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """The SQLite store the app serves and keeps its tokens in."""
    opened = SQLiteStore(str(tmp_path / "server.db"))
    yield opened
    opened.close()


def build_app(store: Any, admin_token: str | None) -> Any:
    """``create_app(store, Settings(admin_token=...))``: the real server app, guarded."""
    from botwire.server import Settings, create_app

    return create_app(store, Settings(access_log=True, admin_token=admin_token))


@pytest.fixture
async def client(store: SQLiteStore, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the guarded app in process."""
    transport = httpx.ASGITransport(app=build_app(store, admin_token))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        yield c
