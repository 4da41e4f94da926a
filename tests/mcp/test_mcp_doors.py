"""The tools over every door: embedded SQLite, PostgreSQL, and a server over HTTP.

``backend_url`` (tests/conftest.py) gives each; the graph's compare-and-set must
hold on all of them, with two MCP servers (two stores) editing one entity.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from botwire.mcp import create_server
from tests.mcp.conftest import Tools, connect
from tests.mcp.test_mcp_tools import VALUES

pytestmark = pytest.mark.timeout(120)


@asynccontextmanager
async def served(url: str, namespace: str, **options: Any) -> AsyncIterator[Tools]:
    server = create_server(url, namespace=namespace, **options)
    try:
        async with connect(server) as client:
            yield Tools(client)
    finally:
        await server.botwire_namespaces.aclose()


async def test_kv_tools(backend_url: str, namespace: str) -> None:
    async with served(backend_url, namespace) as tools:
        for i, value in enumerate(VALUES):
            await tools.memory_set(key=f"v{i}", value=value)
        for i, value in enumerate(VALUES):
            got = (await tools.memory_get(key=f"v{i}"))["value"]
            assert got == value and type(got) is type(value), (value, got)
        first = await tools.memory_list_keys(prefix="v1", limit=3)
        rest = await tools.memory_list_keys(prefix="v1", cursor=first["next_cursor"])
        assert first["keys"] + rest["keys"] == sorted(
            k for k in map("v{}".format, range(21)) if k.startswith("v1")
        )
        assert (await tools.memory_append(key="log", items=[1, "2"]))["length"] == 2
        assert (await tools.memory_get_list(key="log", last=1))["items"] == ["2"]
        assert "version conflict" in await tools.error(
            "memory_set", key="v0", value=1, if_version=0
        )


async def test_two_servers_edit_one_entity(backend_url: str, namespace: str) -> None:
    async with (
        served(backend_url, namespace, tools="graph") as one,
        served(backend_url, namespace, tools="graph") as two,
    ):
        await one.create_entities(entities=[{"name": "E", "entityType": "t", "observations": []}])

        async def add(tools: Tools, who: str) -> None:
            for i in range(10):
                await tools.add_observations(
                    observations=[{"entityName": "E", "contents": [f"{who}{i}"]}]
                )

        await asyncio.gather(add(one, "a"), add(two, "b"))
        [entity] = (await one.read_graph())["entities"]
    assert sorted(entity["observations"]) == sorted(
        [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(10)]
    )
