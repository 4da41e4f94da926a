"""``streamable_http_app``: the tools over MCP's streamable HTTP, in process, stateless.

What ``/mcp`` on ``botwire serve`` will mount; here an SDK client reaches the app
through an ASGI transport (no port), on the installed mcp major.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from botwire.mcp import MCP_MAJOR, create_server, streamable_http_app
from tests.mcp.conftest import Tools

pytestmark = pytest.mark.timeout(60)

BASE = "http://127.0.0.1:8000"  # DNS-rebinding protection accepts a loopback Host only


@asynccontextmanager
async def http_client(app: Any, url: str) -> AsyncIterator[Any]:
    if MCP_MAJOR >= 2:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url=BASE) as hc:
            async with Client(streamable_http_client(url, http_client=hc)) as client:
                yield client
    else:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as hc:
            async with streamable_http_client(url, http_client=hc) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    yield session


async def test_tools_over_streamable_http(url: str, namespace: str) -> None:
    server = create_server(url, namespace=namespace)
    app = streamable_http_app(server, path="/mcp")
    try:
        async with app.router.lifespan_context(app):
            async with http_client(app, BASE + "/mcp") as client:
                tools = Tools(client)
                await tools.memory_set(key="k", value='{"a": 1}')
                assert (await tools.memory_get(key="k"))["value"] == '{"a": 1}'
                refused = await tools.error("memory_get", key="k", namespace="other")
                assert "namespace 'other' is not allowed here" in refused
            async with http_client(app, BASE + "/mcp") as client:  # stateless: a new client
                assert (await Tools(client).memory_get(key="k"))["found"] is True
            # DNS-rebinding protection stays on: a page on another host name is refused
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as hc:
                answer = await hc.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert answer.status_code == 421
    finally:
        await server.botwire_namespaces.aclose()
