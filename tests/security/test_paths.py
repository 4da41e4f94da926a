"""Hostile request targets: the namespace authorized is the namespace stored.

Each target is sent as raw bytes (``raw_path``, as uvicorn hands it over), on an
open server and on a token server. A recording store notes every namespace a
write or read reaches; an ``authorize`` hook (open server) or a ``team-a-*``
token (token server) notes what was checked. Whatever the spelling, the two
agree, and ``_botwire.*`` is never reached.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from botwire import SQLiteStore  # noqa: E402
from botwire._tokens import TOKENS_NAMESPACE, new_token  # noqa: E402
from botwire.server import Settings, create_app  # noqa: E402

ADMIN = "an-admin-token-long-enough"

HOSTILE = [
    b"/%6Demory/x/memory/_botwire.tokens/0123456789ab",
    b"/%6Demory/team-b/k",
    b"/memory/team-a-1/memory/_botwire.tokens/0123456789ab",
    b"/memory/_botwire.tokens/0123456789ab",
    b"/memory/_botwire%2Etokens/0123456789ab",
    b"/memory/%5Fbotwire.tokens/0123456789ab",
    b"/memory/team-a-1%2F..%2F_botwire.tokens/k",
    b"/memory/team-a-1/..%2F_botwire.tokens%2Fk",
    b"/memory/../_botwire.tokens/k",
    b"/memory/team-a-1/../../_botwire.tokens/k",
    b"/memory//_botwire.tokens/k",
    b"//memory/team-b/k",
    b"/memory/team-a-1//k",
    b"/memory/team%2Db/k",
    b"/memory%2Fteam-b/k",
    b"http://evil/memory/team-b/k",
    b"http://evil/memory/_botwire.tokens/0123456789ab",
    b"https://evil//memory/team-a-1/k",
    b"/memory/team-a-1/k?x=/memory/_botwire.tokens/k",
    b"/namespaces/%5Fbotwire.tokens",
    b"/memory/%ff/k",
]


class Recording:
    """A store that notes every namespace an operation reaches."""

    def __init__(self, inner: SQLiteStore) -> None:
        self.inner = inner
        self.kind = "sqlite"
        self.reached: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], str):
                self.reached.append(args[0])
            return attr(*args, **kwargs)

        return call


async def send_raw(app: Any, method: str, raw: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    path, _, query = raw.partition(b"?")
    body = json.dumps({"value": "forged", "append": ["forged"]}).encode()
    body = b'{"value": "forged"}' if method == "PUT" else body
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.decode("latin-1"),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8080),
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


@pytest.mark.parametrize("raw", HOSTILE, ids=lambda r: r.decode("latin-1"))
async def test_open_server_stores_where_it_authorized(tmp_path: Path, raw: bytes) -> None:
    inner = SQLiteStore(tmp_path / "open.db")
    store = Recording(inner)
    checked: list[str] = []

    async def authorize(request: Any, namespace: str, access: str) -> None:
        checked.append(namespace)

    app = create_app(store, Settings(access_log=False), authorize=authorize)  # type: ignore[arg-type]
    try:
        for method in ("PUT", "GET", "DELETE", "POST"):
            store.reached.clear()
            checked.clear()
            status = await send_raw(app, method, raw, [])
            assert set(store.reached) <= set(checked), (method, status)
            assert not any(ns.startswith("_botwire.") for ns in store.reached)
            assert set(checked) <= {"team-a-1", "team-b", "x", ".."}, checked
        assert inner.list_keys(TOKENS_NAMESPACE).keys == []
        assert inner.namespaces() == [] or set(inner.namespaces()) <= {"team-a-1", "team-b", ".."}
        assert "ry" not in inner.namespaces()
    finally:
        await app.aclose()
        inner.close()


@pytest.mark.parametrize("raw", HOSTILE, ids=lambda r: r.decode("latin-1"))
async def test_token_server_stores_only_where_the_token_reaches(tmp_path: Path, raw: bytes) -> None:
    inner = SQLiteStore(tmp_path / "tokens.db")
    made = new_token(namespaces=["team-a-*"], read=True, write=True)
    inner.set(TOKENS_NAMESPACE, made.record.id, made.record.to_json())
    store = Recording(inner)
    app = create_app(store, Settings(access_log=False, admin_token=ADMIN))  # type: ignore[arg-type]
    try:
        for method in ("PUT", "GET", "DELETE", "POST"):
            store.reached.clear()
            status = await send_raw(
                app, method, raw, [(b"authorization", f"Bearer {made.token}".encode())]
            )
            data = [ns for ns in store.reached if ns != TOKENS_NAMESPACE]
            assert all(ns.startswith("team-a-") for ns in data), (method, status, data)
        assert inner.list_keys(TOKENS_NAMESPACE).keys == [made.record.id]
        assert "team-b" not in inner.namespaces()
    finally:
        await app.aclose()
        inner.close()
