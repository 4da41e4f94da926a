"""The framework-neutral memory tools (``botwire.tools``) and ``AsyncMemory.from_sync``."""

from __future__ import annotations

from pathlib import Path

import pytest

import botwire
from botwire.tools import (
    SEARCH_MEMORIES,
    TOOLS,
    MemoryTools,
    ToolInputError,
    rank,
    terms,
)


@pytest.fixture
def memory(tmp_path: Path) -> botwire.Memory:
    return botwire.Memory("tools", f"sqlite:///{tmp_path / 'm.db'}")


def test_specs_are_json_schemas() -> None:
    assert [t.name for t in TOOLS] == ["remember", "recall", "forget", "list_memories"]
    assert TOOLS[0].input_schema()["required"] == ["key", "value"]
    search = SEARCH_MEMORIES.input_schema()
    assert search["properties"]["limit"] == {
        "type": "integer",
        "description": "At most this many results (1-50).",
        "default": 5,
    }
    assert search["required"] == ["query"]


async def test_sync_and_async_give_the_same_answers(memory: botwire.Memory) -> None:
    sync = MemoryTools(memory, prefix="agent/")
    twin = MemoryTools(botwire.AsyncMemory.from_sync(memory), prefix="agent/")
    calls = [
        ("remember", {"key": "pet", "value": "a cat named Tom"}),
        ("remember", {"key": "pet", "value": "a dog"}),
        ("recall", {"key": "pet"}),
        ("list_memories", {}),
        ("search_memories", {"query": "which dog?"}),
        ("forget", {"key": "pet"}),
        ("forget", {"key": "pet"}),
        ("recall", {"key": "pet"}),
    ]
    answers = [sync.run(name, args) for name, args in calls]
    memory.delete("agent/pet")
    assert [await twin.arun(name, args) for name, args in calls] == answers
    assert answers[:5] == [
        'Remembered "pet".',
        'Remembered "pet" (replaced the old fact).',
        "a dog",
        "pet: a dog",
        "pet: a dog",
    ]
    assert memory.list_keys() == []


def test_search_ranks_by_shared_words(memory: botwire.Memory) -> None:
    tools = MemoryTools(memory)
    memory.set_many(
        {
            "user:colour": "Favourite colour is teal",
            "user:food": "Likes green curry",
            "office": {"city": "Porto", "floor": 3},
        }
    )
    assert tools.run("search_memories", {"query": "favourite colours"}) == (
        "user:colour: Favourite colour is teal"
    )
    assert tools.run("search_memories", {"query": "Porto office"}).startswith("office: {")
    assert tools.run("search_memories", {"query": "quantum"}).startswith("No memories match")
    assert tools.run("search_memories", {"query": "the"}).startswith("Give search_memories")
    with pytest.raises(ToolInputError, match="limit must be from 1 to 50"):
        tools.run("search_memories", {"query": "x", "limit": 0})


def test_model_mistakes_become_answers_outages_do_not(memory: botwire.Memory) -> None:
    tools = MemoryTools(memory)
    with pytest.raises(ToolInputError, match="^Error: key must not be empty"):
        tools.run("recall", {"key": ""})
    with pytest.raises(ToolInputError, match="^Error: value must be text"):
        tools.run("remember", {"key": "k", "value": 3})
    memory.close()

    class Down:
        kind = "http"

        def get(self, *args: object) -> None:
            raise botwire.UnavailableError("could not reach http://memory:8080")

    with pytest.raises(botwire.UnavailableError):
        MemoryTools(botwire.Memory("x", store=Down())).run("recall", {"key": "k"})  # type: ignore[arg-type]
    with pytest.raises(botwire.ValidationError, match="prefix must be a string"):
        MemoryTools(memory, prefix=1)  # type: ignore[arg-type]


def test_the_ranker() -> None:
    assert terms("What are my favourite_colours? 7 a") == {"favourite", "colour", "7"}
    items = [("tea in the morning", 1.0, "tea"), ("coffee at noon", 2.0, "coffee")]
    assert rank("morning tea", items, 5) == ["tea"]
    assert rank("hello", items, 1) == ["coffee"]  # no search words: newest first


async def test_from_sync_shares_the_store_and_leaves_it_open(memory: botwire.Memory) -> None:
    amemory = botwire.AsyncMemory.from_sync(memory)
    assert amemory.namespace == memory.namespace
    await amemory.set("k", "v")
    assert memory.get("k") == "v"
    await amemory.aclose()
    assert memory.get("k") == "v"
    with pytest.raises(botwire.ValidationError, match="takes a botwire.Memory"):
        botwire.AsyncMemory.from_sync(amemory)  # type: ignore[arg-type]
    memory.close()


def test_public_modules_export_what_they_document() -> None:
    """``botwire.tools`` and ``botwire.tokens`` (what adapters build on): sorted,
    complete and documented, like ``botwire`` itself."""
    import botwire.tokens
    import botwire.tools

    for module in (botwire.tools, botwire.tokens):
        assert module.__doc__
        assert sorted(module.__all__) == sorted(set(module.__all__))
        public = {n for n in vars(module) if not n.startswith("_")} - {"annotations"}
        assert public == set(module.__all__), module.__name__
        for name in module.__all__:
            assert getattr(module, name) is not None, name
