"""``/mcp`` in process: the server app's lifespan starts it; each request's own scope decides.

No port, no subprocess: the SDK's streamable-HTTP client reaches the server app
through an ASGI transport. Covers what the real-process test does not: the
caller's scope reaches ``Namespaces.memory`` through the SDK's tasks (a context
variable), a ``create_app(authorize=...)`` hook decides every store call, an
open server, and an app whose lifespan was not run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from botwire import PermissionDeniedError, SQLiteStore  # noqa: E402
from botwire.mcp import MCP_MAJOR  # noqa: E402
from botwire.server import Settings, create_app  # noqa: E402
from botwire.server import _mcp as served  # noqa: E402
from botwire.server._app import Server  # noqa: E402
from tests.mcp.conftest import Tools  # noqa: E402

pytestmark = pytest.mark.timeout(60)

BASE = "http://127.0.0.1:8080"


@asynccontextmanager
async def running(app: Server) -> AsyncIterator[Server]:
    """The app with its lifespan entered (what uvicorn does at startup)."""
    async with AsyncExitStack() as stack:
        for lifespan in app.lifespans:
            await stack.enter_async_context(lifespan())
        yield app
    await app.aclose()


@asynccontextmanager
async def client(app: Any) -> AsyncIterator[Tools]:
    if MCP_MAJOR >= 2:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url=BASE) as hc:
            async with Client(streamable_http_client(BASE + "/mcp", http_client=hc)) as c:
                yield Tools(c)
    else:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as hc:
            async with streamable_http_client(BASE + "/mcp", http_client=hc) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    yield Tools(session)


def settings(**values: Any) -> Settings:
    return Settings(access_log=False, **values)


async def test_open_server_reaches_any_namespace_but_reserved_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str]] = []
    check_for = served._check_for

    def recording(call: Any) -> Any:
        check = check_for(call)

        def recorded(namespace: str, access: Any) -> None:
            asked.append((namespace, access))
            check(namespace, access)

        return recorded

    monkeypatch.setattr(served, "_check_for", recording)
    store = SQLiteStore(str(tmp_path / "open.db"))
    try:
        async with running(create_app(store, settings())) as app, client(app) as tools:
            await tools.memory_set(key="k", value=[1, {"a": None}], namespace="anything")
            got = await tools.memory_get(key="k", namespace="anything")
            assert got["value"] == [1, {"a": None}]
            await tools.memory_set(key="d", value="default namespace")
            refused = await tools.error("memory_get", key="x", namespace="_botwire.tokens")
            assert "reserved" in refused, refused
        # the request's check was asked inside the SDK's own tasks
        assert ("anything", "write") in asked and ("mcp", "write") in asked
        assert store.get("mcp", "d") is not None
    finally:
        store.close()


async def test_an_authorize_hook_decides_every_tool_call(tmp_path: Path) -> None:
    async def authorize(request: Any, namespace: str, access: str) -> None:
        if namespace == "secret" or (namespace == "shelf" and access == "write"):
            raise PermissionDeniedError(f"the hook says no to {access} on {namespace}")

    store = SQLiteStore(str(tmp_path / "hook.db"))
    try:
        store.set("shelf", "book", '"kept"')
        app = create_app(store, settings(), authorize=authorize)
        async with running(app), client(app) as tools:
            assert (await tools.memory_get(key="book", namespace="shelf"))["value"] == "kept"
            refused = await tools.error("memory_set", key="book", value=1, namespace="shelf")
            assert "the hook says no to write on shelf" in refused, refused
            refused = await tools.error("memory_list_keys", namespace="secret")
            assert "the hook says no to read on secret" in refused, refused
    finally:
        store.close()


async def test_without_its_lifespan_mcp_answers_503_with_a_sentence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(str(tmp_path / "cold.db"))
    try:
        app = create_app(store, settings())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as hc:
            answer = await hc.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert answer.status_code == 503
        # A 503's detail stays generic for clients (docs/security.md); the sentence
        # that says what to fix goes to the server's log.
        assert "unavailable" in answer.json()["detail"]
        assert "lifespan" in caplog.text
        await app.aclose()
    finally:
        store.close()


def test_no_mcp_setting_leaves_the_route_out(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "off.db"))
    try:
        app = create_app(store, settings(mcp=False))
        assert not app.lifespans
        assert all(r.template != "/mcp" for r in app.table.routes)
    finally:
        store.close()


def test_allowed_hosts_are_the_servers_own_names() -> None:
    assert served.allowed_hosts("127.0.0.1") == [
        "127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]",
    ]  # fmt: skip
    assert served.allowed_hosts("memory.internal") == ["memory.internal:*", "memory.internal"]
    assert served.allowed_hosts("0.0.0.0") is None  # names unknown: tokens protect it


async def test_a_write_only_caller_learns_nothing_stored_through_the_tools(
    tmp_path: Path,
) -> None:
    async def authorize(request: Any, namespace: str, access: str) -> None:
        if namespace == "dropbox" and access == "read":
            raise PermissionDeniedError("the hook says no to read on dropbox")

    store = SQLiteStore(str(tmp_path / "drop.db"))
    try:
        store.set("dropbox", "there", '"kept"')
        app = create_app(store, settings(), authorize=authorize)
        async with running(app), client(app) as tools:
            for key in ("never", "there"):  # alike whether or not the key existed
                gone = await tools.memory_delete(key=key, namespace="dropbox")
                assert gone["deleted"] is True, gone
            await tools.memory_set(key="k", value=1, namespace="dropbox")
            refused = await tools.error(
                "memory_set", key="k", value=2, if_version=1, namespace="dropbox"
            )
            assert "the hook says no to read on dropbox" in refused, refused
            gone = await tools.memory_delete(key="never", namespace="open")
            assert gone["deleted"] is False  # a caller that may read is told
        assert store.get("dropbox", "there") is None and store.get("dropbox", "k") is not None
    finally:
        store.close()


def test_the_settings_know_the_tool_sets_botwire_mcp_has() -> None:
    from botwire.mcp._server import TOOL_SETS
    from botwire.server._settings import MCP_TOOL_SETS

    assert MCP_TOOL_SETS == TOOL_SETS
    with pytest.raises(Exception, match="kv, graph"):
        settings(mcp_tools="kv,vector")


async def test_mcp_tools_graph_serves_the_knowledge_graph_in_the_mcp_namespace(
    tmp_path: Path,
) -> None:
    from botwire.mcp._graph import entity_key

    store = SQLiteStore(str(tmp_path / "graph.db"))
    try:
        app = create_app(store, settings(mcp_tools="kv,graph"))
        async with running(app), client(app) as tools:
            made = await tools.create_entities(
                entities=[{"name": "Ada", "entityType": "person", "observations": ["math"]}]
            )
            assert made, made
            await tools.add_observations(observations=[{"entityName": "Ada", "contents": ["code"]}])
            graph = await tools.read_graph()
            assert graph["entities"][0]["observations"] == ["math", "code"], graph
            await tools.memory_set(key="note", value="kv tools too")
        assert store.get("mcp", "note") is not None
        assert store.get("mcp", entity_key("Ada")) is not None
    finally:
        store.close()
