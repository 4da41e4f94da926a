"""``botwire mcp`` as hosts run it: a subprocess speaking MCP over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from botwire import Memory
from tests.mcp.conftest import Tools, botwire_command, connect_stdio
from tests.mcp.test_mcp_tools import VALUES

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


@pytest.fixture
def env(tmp_path: Path, url: str) -> dict[str, str]:
    """What a host config's ``env`` block passes (hosts pass little else)."""
    return {"BOTWIRE_URL": url, "BOTWIRE_HOME": str(tmp_path / "home")}


async def test_values_of_every_json_type_round_trip(env: dict[str, str], url: str) -> None:
    async with connect_stdio(["mcp", "--namespace", "stdio"], env) as client:
        tools = Tools(client)
        names = {t.name for t in (await client.list_tools()).tools}
        assert "memory_set" in names and "create_entities" not in names
        for i, value in enumerate(VALUES):
            await tools.memory_set(key=f"v{i}", value=value)
        for i, value in enumerate(VALUES):
            got = (await tools.memory_get(key=f"v{i}"))["value"]
            assert got == value and type(got) is type(value), (value, got)
        refused = await tools.error("memory_get", key="k", namespace="elsewhere")
        assert "namespace 'elsewhere' is not allowed here" in refused
    with Memory("stdio", url) as memory:  # the CLI's --namespace and BOTWIRE_URL were used
        assert memory.get("v0") == "plain"


async def test_two_servers_on_one_store_lose_no_observation(env: dict[str, str]) -> None:
    args = ["mcp", "--tools", "graph"]
    async with connect_stdio(args, env) as first, connect_stdio(args, env) as second:
        one, two = Tools(first), Tools(second)
        await one.create_entities(
            entities=[{"name": "Shared", "entityType": "note", "observations": []}]
        )

        async def add(tools: Tools, who: str) -> None:
            for i in range(12):
                await tools.add_observations(
                    observations=[{"entityName": "Shared", "contents": [f"{who}-{i}"]}]
                )

        await asyncio.gather(add(one, "one"), add(two, "two"))
        [entity] = (await two.open_nodes(names=["Shared"]))["entities"]
    expected = {f"{who}-{i}" for who in ("one", "two") for i in range(12)}
    assert set(entity["observations"]) == expected and len(entity["observations"]) == 24


def _rpc(id: int | None, method: str, params: dict[str, Any] | None = None) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if id is not None:
        message["id"] = id
    if params is not None:
        message["params"] = params
    return json.dumps(message) + "\n"


def test_stdout_carries_only_protocol_and_eof_ends_the_server(env: dict[str, str]) -> None:
    requests = (
        _rpc(
            1,
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        )
        + _rpc(None, "notifications/initialized")
        + _rpc(2, "tools/call", {"name": "memory_set", "arguments": {"key": "k", "value": 1}})
        + _rpc(3, "tools/call", {"name": "memory_get", "arguments": {"key": "\t"}})
    )
    with subprocess.Popen(
        [botwire_command(), "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env, "PATH": os.environ["PATH"]},
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(requests)
        process.stdin.flush()
        lines = [process.stdout.readline() for _ in range(3)]
        process.stdin.close()  # the host closing the pipe ends the server cleanly
        status = process.wait(timeout=30)
        assert status == 0, process.stderr.read() if process.stderr else ""
        assert process.stdout.read() == ""
    answers = sorted((json.loads(line) for line in lines), key=lambda a: a["id"])
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert answers[1]["result"]["structuredContent"]["version"] == 1
    assert answers[2]["result"]["isError"] is True
    assert "control character" in answers[2]["result"]["content"][0]["text"]
