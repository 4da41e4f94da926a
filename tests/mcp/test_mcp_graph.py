"""The server-memory compatible knowledge-graph tools and the JSONL import."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from botwire import AsyncMemory
from botwire.mcp import GRAPH_TOOLS, READ_TOOLS, import_jsonl
from tests.mcp.conftest import Opener

pytestmark = pytest.mark.timeout(60)

ADA = {"name": "Ada", "entityType": "person", "observations": ["writes programs"]}
BABBAGE = {"name": "Babbage", "entityType": "person", "observations": []}
ENGINE = {"name": "Engine", "entityType": "machine", "observations": ["analytical"]}
WORKS_ON = {"from": "Ada", "to": "Engine", "relationType": "works on"}
KNOWS = {"from": "Ada", "to": "Babbage", "relationType": "knows"}


async def test_tool_names_and_annotations_match_server_memory(open_tools: Opener) -> None:
    async with open_tools(tools="graph") as tools:
        listed = {
            t.name: t.model_dump(by_alias=True) for t in (await tools.client.list_tools()).tools
        }
    assert set(listed) == set(GRAPH_TOOLS)
    hints = {n: t["annotations"] for n, t in listed.items()}
    for name in ("read_graph", "search_nodes", "open_nodes"):
        assert hints[name]["readOnlyHint"] is True and hints[name]["idempotentHint"] is True
    for name in ("delete_entities", "delete_observations", "delete_relations"):
        assert hints[name]["destructiveHint"] is True and hints[name]["idempotentHint"] is True
    for name in ("create_entities", "create_relations", "add_observations"):
        assert hints[name]["readOnlyHint"] is False and hints[name]["destructiveHint"] is False
    relation = listed["create_relations"]["inputSchema"]
    assert "from" in json.dumps(relation) and "source" not in json.dumps(relation)
    async with open_tools(tools="kv,graph", read_only=True) as tools:
        names = {t.name for t in (await tools.client.list_tools()).tools}
    assert names == set(READ_TOOLS) | {"read_graph", "search_nodes", "open_nodes"}


async def test_graph_round_trip(open_tools: Opener) -> None:
    async with open_tools(tools="graph") as tools:
        assert await tools.read_graph() == {"entities": [], "relations": []}
        created = await tools.create_entities(entities=[ADA, BABBAGE, ENGINE, ADA])
        assert created == {"entities": [ADA, BABBAGE, ENGINE]}
        again = await tools.create_entities(entities=[{**ADA, "observations": ["other"]}])
        assert again == {"entities": []}  # an existing name is skipped
        made = await tools.create_relations(relations=[WORKS_ON, KNOWS, WORKS_ON])
        assert made == {"relations": [WORKS_ON, KNOWS]}
        assert await tools.create_relations(relations=[WORKS_ON]) == {"relations": []}
        missing = await tools.error(
            "create_relations", relations=[{"from": "Ada", "to": "Nobody", "relationType": "x"}]
        )
        assert "Entity with name Nobody not found" in missing

        added = await tools.add_observations(
            observations=[
                {"entityName": "Ada", "contents": ["writes programs", "first programmer"]}
            ]
        )
        assert added == {
            "results": [{"entityName": "Ada", "addedObservations": ["first programmer"]}]
        }
        assert "Entity with name Nobody not found" in await tools.error(
            "add_observations", observations=[{"entityName": "Nobody", "contents": ["x"]}]
        )

        graph = await tools.read_graph()
        ada = {**ADA, "observations": ["writes programs", "first programmer"]}
        assert graph == {"entities": [ada, BABBAGE, ENGINE], "relations": [WORKS_ON, KNOWS]}

        assert await tools.search_nodes(query="PROGRAMMER") == {
            "entities": [ada],
            "relations": [WORKS_ON, KNOWS],
        }
        assert await tools.search_nodes(query="machine") == {
            "entities": [ENGINE],
            "relations": [WORKS_ON],
        }
        assert await tools.open_nodes(names=["Babbage", "Nobody"]) == {
            "entities": [BABBAGE],
            "relations": [KNOWS],
        }

        removed = await tools.delete_observations(
            deletions=[{"entityName": "Ada", "observations": ["writes programs"]}]
        )
        assert removed == {"success": True, "message": "Observations deleted successfully"}
        partial = await tools.delete_observations(
            deletions=[
                {"entityName": "Ada", "observations": ["never said"]},
                {"entityName": "Nobody", "observations": ["x"]},
            ]
        )
        assert partial["message"] == "Deleted 0 of 2 observations. Entities not found: Nobody"

        gone = await tools.delete_relations(relations=[KNOWS, KNOWS])
        assert gone["message"] == "Deleted 1 of 2 relations. The rest matched nothing."
        assert (await tools.delete_relations(relations=[]))["success"] is True

        deleted = await tools.delete_entities(entityNames=["Engine", "Nobody"])
        assert deleted["message"] == "Deleted 1 of 2 entities. Not found: Nobody"
        final = await tools.read_graph()
        assert final == {
            "entities": [{**ADA, "observations": ["first programmer"]}, BABBAGE],
            "relations": [],  # the relation to the deleted entity went with it
        }
        resource = await tools.client.read_resource("memory://knowledge-graph")
        assert json.loads(resource.contents[0].text) == final  # server-memory's resource too
        assert (await tools.delete_entities(entityNames=["Ada"]))["message"] == (
            "Entities deleted successfully"
        )


async def test_graph_lives_in_the_default_namespace_as_keys(
    open_tools: Opener, url: str, namespace: str
) -> None:
    async with open_tools(tools="kv,graph") as tools:
        await tools.create_entities(entities=[ADA, ENGINE])
        await tools.create_relations(relations=[WORKS_ON])
        keys = (await tools.memory_list_keys(prefix="graph:"))["keys"]
    assert keys == [
        "graph:entity:Ada",
        "graph:entity:Engine",
        'graph:relation:["Ada","works on","Engine"]',
    ]


async def test_concurrent_observations_are_not_lost(open_tools: Opener) -> None:
    async with open_tools(tools="graph") as one, open_tools(tools="graph") as two:
        await one.create_entities(entities=[BABBAGE])

        async def add(tools: object, who: str) -> None:
            for i in range(15):
                await tools.add_observations(  # type: ignore[attr-defined]
                    observations=[{"entityName": "Babbage", "contents": [f"{who}{i}"]}]
                )

        await asyncio.gather(add(one, "a"), add(two, "b"))
        [entity] = (await one.open_nodes(names=["Babbage"]))["entities"]
    assert sorted(entity["observations"]) == sorted(
        [f"a{i}" for i in range(15)] + [f"b{i}" for i in range(15)]
    )


MEMORY_JSONL = "\n".join(
    json.dumps(line)
    for line in [
        {"type": "entity", **ADA},
        {"type": "entity", **ENGINE},
        {"type": "relation", **WORKS_ON},
        {"type": "entity", **BABBAGE},
    ]
)


async def test_import_jsonl(tmp_path: Path, url: str, namespace: str, open_tools: Opener) -> None:
    memory = AsyncMemory(namespace, url)
    try:
        counts = await import_jsonl(memory, MEMORY_JSONL.splitlines())
        assert counts == {"entities": 3, "observations": 0, "relations": 1}
        more = [json.dumps({"type": "entity", **ADA, "observations": ["new", "writes programs"]})]
        assert await import_jsonl(memory, more + MEMORY_JSONL.splitlines()) == {
            "entities": 0,
            "observations": 1,
            "relations": 0,
        }
        with pytest.raises(ValueError, match="line 2 is not a server-memory record"):
            await import_jsonl(memory, ["", '{"type": "entity", "name": "x"}'])
    finally:
        await memory.aclose()
    async with open_tools(tools="graph") as tools:
        graph = await tools.read_graph()
    assert graph["entities"][0]["observations"] == ["writes programs", "new"]
    assert graph["relations"] == [WORKS_ON]
