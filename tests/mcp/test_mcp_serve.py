"""``/mcp`` on a real ``botwire serve`` process, reached with the SDK's own streamable-HTTP client.

The route goes through the server's one pipeline: the same bearer tokens (no
token: 401), the same access log and metrics label; a scoped token's namespaces
are the tools' namespaces, and any other is refused as a tool error carrying the
server's sentence. Runs on the installed mcp major.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


from botwire import Memory  # noqa: E402
from botwire.mcp import KV_TOOLS, MCP_MAJOR  # noqa: E402
from tests.mcp.conftest import ADMIN, Tools, token  # noqa: E402
from tests.servers import ServerProcess, start_server  # noqa: E402

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**53 - 1,
    3.25,
    "",
    "plain",
    '{"a": 1}',  # strings that look like JSON stay strings
    "[1, 2]",
    "null",
    "42",
    "héllo ✓",
    [],
    [1, "two", None, {"three": [3.0]}],
    {},
    {"nested": {"list": [True, None], "n": -1.5}, "s": "x"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = tmp_path_factory.mktemp("mcp-serve") / "served.db"
    with start_server(f"sqlite:///{db}", env={"BOTWIRE_ADMIN_TOKEN": ADMIN}) as running:
        yield running


@asynccontextmanager
async def mcp_client(url: str, bearer: str) -> AsyncIterator[Tools]:
    """The SDK's streamable-HTTP client of ``url``, sending ``Authorization: Bearer``."""
    headers = {"Authorization": f"Bearer {bearer}"}
    if MCP_MAJOR >= 2:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        async with httpx2.AsyncClient(headers=headers, timeout=30) as hc:
            async with Client(streamable_http_client(url, http_client=hc)) as client:
                yield Tools(client)
    else:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        async with httpx.AsyncClient(headers=headers, timeout=30) as hc:
            async with streamable_http_client(url, http_client=hc) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    yield Tools(session)


async def test_tools_over_mcp_with_a_scoped_token(server: ServerProcess) -> None:
    scoped = token(server.url, "-n", "team-a-*", "--read", "--write")
    async with mcp_client(server.url + "/mcp", scoped) as tools:
        listed = await tools.client.list_tools()
        assert set(KV_TOOLS) <= {t.name for t in listed.tools}
        for i, value in enumerate(VALUES):
            await tools.memory_set(key=f"v{i}", value=value, namespace="team-a-1")
        for i, value in enumerate(VALUES):
            got = await tools.memory_get(key=f"v{i}", namespace="team-a-1")
            assert got["found"] is True and got["value"] == value, (value, got)
            assert type(got["value"]) is type(value), (value, got)
        # another namespace, the default one, the reserved ones: tool errors, with the sentence
        refused = await tools.error("memory_get", key="v0", namespace="team-b")
        assert "may not read namespace 'team-b'" in refused, refused
        refused = await tools.error("memory_set", key="k", value=1)
        assert "may not write namespace 'mcp'" in refused, refused
        refused = await tools.error("memory_list_keys", namespace="_botwire.tokens")
        assert "_botwire." in refused and "reserved" in refused, refused

    # what the tools wrote is what every other door reads
    with Memory("team-a-1", server.url, api_key=scoped) as memory:
        assert memory.get("v9") == '{"a": 1}'
        assert memory.get("v15") == [1, "two", None, {"three": [3.0]}]

    # a read-only token: reads work, writes are tool errors
    reader = token(server.url, "-n", "team-a-1", "--read")
    async with mcp_client(server.url + "/mcp", reader) as tools:
        assert (await tools.memory_get(key="v8", namespace="team-a-1"))["value"] == "plain"
        refused = await tools.error("memory_delete", key="v8", namespace="team-a-1")
        assert "may not write namespace 'team-a-1'" in refused, refused


def test_mcp_needs_a_token_and_shares_the_pipeline(server: ServerProcess) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    accept = {"Accept": "application/json, text/event-stream"}
    answer = httpx.post(server.url + "/mcp", json=ping, headers=accept)
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    bad = {**accept, "Authorization": "Bearer bw_000000000000_" + "x" * 30}
    assert httpx.post(server.url + "/mcp", json=ping, headers=bad).status_code == 401
    admin = {**accept, "Authorization": f"Bearer {ADMIN}"}
    assert httpx.post(server.url + "/mcp", json=ping, headers=admin).status_code == 403

    scoped = {**accept, "Authorization": f"Bearer {token(server.url, '-n', 'x', '--read')}"}
    answer = httpx.post(server.url + "/mcp", json=ping, headers=scoped)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == 1
    # DNS-rebinding protection: a page served under another host name is refused
    rebound = httpx.post(
        server.url + "/mcp", json=ping, headers={**scoped, "Host": "evil.example:80"}
    )
    assert rebound.status_code == 421

    for _ in range(100):  # a line is written once its answer is sent: give it a moment
        log = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
        statuses = {line["status"] for line in log if line.get("route") == "/mcp"}
        if statuses >= {200, 401, 403, 421}:
            break
        time.sleep(0.05)
    assert statuses >= {200, 401, 403, 421}, statuses
    metrics = httpx.get(server.url + "/metrics", headers=scoped).text
    assert 'route="/mcp"' in metrics
