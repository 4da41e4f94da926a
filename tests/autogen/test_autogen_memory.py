"""BotWireMemory: AutoGen's Memory interface over BotWire, with real AssistantAgents."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext.models.replay")

from autogen_agentchat.agents import AssistantAgent  # noqa: E402
from autogen_agentchat.messages import MemoryQueryEvent  # noqa: E402
from autogen_core import Image  # noqa: E402
from autogen_core.memory import ListMemory, Memory, MemoryContent, MemoryMimeType  # noqa: E402
from autogen_core.model_context import BufferedChatCompletionContext  # noqa: E402
from autogen_core.models import SystemMessage, UserMessage  # noqa: E402

from botwire import AsyncMemory, ValidationError  # noqa: E402
from botwire.autogen import BotWireMemory  # noqa: E402
from tests.autogen.child import FACT, TURNS  # noqa: E402
from tests.autogen.scripted import model_inputs, run_child, scripted, text_of  # noqa: E402


def text(content: str, **metadata: object) -> MemoryContent:
    return MemoryContent(
        content=content, mime_type=MemoryMimeType.TEXT, metadata=dict(metadata) or None
    )


async def contents(
    memory: BotWireMemory, query: str | MemoryContent, limit: int | None = None
) -> list[object]:
    found = await (memory.query(query) if limit is None else memory.query(query, limit=limit))
    return [m.content for m in found.results]


@pytest.fixture
async def memory(namespace: str, url: str) -> AsyncIterator[BotWireMemory]:
    mem = BotWireMemory(namespace, url)
    yield mem
    await mem.close()


def test_is_an_autogen_memory(memory: BotWireMemory) -> None:
    assert isinstance(memory, Memory)


async def test_memories_survive_a_new_instance(namespace: str, url: str) -> None:
    first = BotWireMemory(namespace, url)
    await first.add(text("The user's favourite colour is blue.", source="chat"))
    await first.close()

    second = BotWireMemory(namespace, url)
    [found] = (await second.query("favourite colour")).results
    await second.close()
    assert found.content == "The user's favourite colour is blue."
    assert found.mime_type == MemoryMimeType.TEXT
    assert found.metadata == {"source": "chat"}


async def test_query_ranks_keyword_matches_then_recency(memory: BotWireMemory) -> None:
    await memory.add(text("User likes green tea"))
    await memory.add(text("The office is in Paris"))
    await memory.add(text("User likes black tea in the morning"))
    await memory.add(text("User likes coffee"))

    # most shared words first; among equal scores the newest first
    assert await contents(memory, "What tea does the user like in the morning?") == [
        "User likes black tea in the morning",
        "User likes green tea",
        "User likes coffee",
    ]
    assert await contents(memory, "Where is the office?") == ["The office is in Paris"]
    assert await contents(memory, "tea", limit=1) == ["User likes black tea in the morning"]


async def test_query_without_search_words_returns_newest(memory: BotWireMemory) -> None:
    for i in range(7):
        await memory.add(text(f"fact number {i}"))
    assert await contents(memory, "hi") == [f"fact number {i}" for i in (6, 5, 4, 3, 2)]
    assert await contents(memory, "", limit=2) == ["fact number 6", "fact number 5"]


async def test_query_with_no_match_is_empty(memory: BotWireMemory) -> None:
    await memory.add(text("User likes tea"))
    assert await contents(memory, "quantum physics") == []


async def test_plurals_and_case_match(memory: BotWireMemory) -> None:
    await memory.add(text("Favourite COLOUR: blue"))
    assert await contents(memory, "my favourite colours") == ["Favourite COLOUR: blue"]


async def test_query_accepts_memory_content(memory: BotWireMemory) -> None:
    await memory.add(text("Deploys happen on Fridays"))
    assert await contents(memory, text("when are deploys?")) == ["Deploys happen on Fridays"]


async def test_every_content_kind_round_trips(memory: BotWireMemory) -> None:
    image = Image.from_base64(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    items = [
        MemoryContent(content={"units": "metric", "n": [1, 2]}, mime_type=MemoryMimeType.JSON),
        MemoryContent(content=b"\xff\x00raw", mime_type=MemoryMimeType.BINARY),
        MemoryContent(content=image, mime_type=MemoryMimeType.IMAGE),
        MemoryContent(content="# Notes", mime_type="text/x-custom", metadata={"k": [1]}),
    ]
    for item in items:
        await memory.add(item)
    got = list(reversed((await memory.query("")).results))
    assert [g.content for g in got[:2]] == [{"units": "metric", "n": [1, 2]}, b"\xff\x00raw"]
    assert isinstance(got[2].content, Image) and got[2].content.to_base64() == image.to_base64()
    assert [g.mime_type for g in got] == [
        MemoryMimeType.JSON,
        MemoryMimeType.BINARY,
        MemoryMimeType.IMAGE,
        "text/x-custom",
    ]
    assert got[3].metadata == {"k": [1]}
    assert await contents(memory, "which units?") == [{"units": "metric", "n": [1, 2]}]


async def test_clear_removes_only_this_memorys_entries(namespace: str, url: str) -> None:
    plain = AsyncMemory(namespace, url)
    await plain.set("user-42:style", "concise")
    notes = BotWireMemory(namespace, url, prefix="notes/")
    facts = BotWireMemory(namespace, url, prefix="facts/")
    await notes.add(text("note about tea"))
    await facts.add(text("fact about tea"))

    await notes.clear()

    assert await contents(notes, "tea") == []
    assert await contents(facts, "tea") == ["fact about tea"]
    assert await plain.get("user-42:style") == "concise"
    for m in (notes, facts):
        await m.close()
    await plain.aclose()


async def test_values_that_are_not_entries_are_skipped(namespace: str, url: str) -> None:
    plain = AsyncMemory(namespace, url)
    await plain.set("memory/hand-written", "tea but not an entry")
    mem = BotWireMemory(namespace, url)
    await mem.add(text("an entry about tea"))
    assert await contents(mem, "tea") == ["an entry about tea"]
    await mem.close()
    await plain.aclose()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"limit": 0}, "limit must be a positive integer"), ({"top_k": 3}, "unknown query")],
)
async def test_query_rejects_bad_arguments(
    memory: BotWireMemory, kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        await memory.query("tea", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": "5"}, "limit must be a positive integer"),
        ({"prefix": 3}, "prefix must be a string"),
        ({"name": ""}, "name must be a non-empty string"),
    ],
)
def test_constructor_validates(
    namespace: str, url: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        BotWireMemory(namespace, url, **kwargs)  # type: ignore[arg-type]


def test_invalid_namespace_says_what_to_fix(url: str) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        BotWireMemory("has space", url)


async def test_add_rejects_a_plain_string(memory: BotWireMemory) -> None:
    with pytest.raises(ValidationError, match="MemoryContent"):
        await memory.add("just text")  # type: ignore[arg-type]


async def test_agent_sees_relevant_memory_once_per_call(memory: BotWireMemory) -> None:
    await memory.add(text(FACT))
    await memory.add(text("The user works night shifts."))
    client = scripted(*(f"answer {i}" for i in range(len(TURNS))))
    agent = AssistantAgent("assistant", model_client=client, memory=[memory])

    for task in TURNS:
        result = await agent.run(task=task)

    inputs = model_inputs(client)
    assert [text_of(m).count(FACT) for m in inputs] == [1, 1, 0, 1]
    assert "night shifts" not in "".join(text_of(m) for m in inputs)
    last = inputs[-1]
    assert isinstance(last[-1], SystemMessage) and FACT in last[-1].content
    assert isinstance(last[-2], UserMessage) and last[-2].content == TURNS[-1]
    assert isinstance(result.messages[1], MemoryQueryEvent)
    assert [m.content for m in result.messages[1].content] == [FACT]
    # the agent's saved history holds one memory block, not one per turn
    state = await agent.save_state()
    blocks = [
        m for m in state["llm_context"]["messages"] if "Relevant memories" in str(m["content"])
    ]
    assert len(blocks) == 1


async def test_autogens_list_memory_piles_up_where_botwire_does_not(
    memory: BotWireMemory,
) -> None:
    """The contrast docs/autogen.md draws, checked against AutoGen itself."""
    reference = ListMemory()
    for mem in (reference, memory):
        await mem.add(text(FACT))
    counts = {}
    for name, mem in (("ListMemory", reference), ("BotWireMemory", memory)):
        client = scripted("a", "b", "c")
        agent = AssistantAgent("assistant", model_client=client, memory=[mem])
        for task in TURNS[:2] + TURNS[3:]:
            await agent.run(task=task)
        counts[name] = [text_of(m).count(FACT) for m in model_inputs(client)]
    assert counts == {"ListMemory": [1, 2, 3], "BotWireMemory": [1, 1, 1]}


async def test_block_replacement_works_with_a_buffered_context(memory: BotWireMemory) -> None:
    await memory.add(text(FACT))
    client = scripted("a", "b", "c")
    agent = AssistantAgent(
        "assistant",
        model_client=client,
        memory=[memory],
        model_context=BufferedChatCompletionContext(buffer_size=4),
    )
    for task in TURNS[:2] + TURNS[3:]:
        await agent.run(task=task)
    assert [text_of(m).count(FACT) for m in model_inputs(client)] == [1, 1, 1]


async def test_two_memories_keep_their_own_blocks(namespace: str, url: str) -> None:
    facts = BotWireMemory(namespace, url, prefix="facts/", name="facts")
    rules = BotWireMemory(namespace, url, prefix="rules/", name="rules")
    await facts.add(text("The user's favourite colour is blue."))
    await rules.add(text("Never reveal the favourite colour to strangers."))
    client = scripted("a", "b")
    agent = AssistantAgent("assistant", model_client=client, memory=[facts, rules])
    await agent.run(task="favourite colour?")
    await agent.run(task="favourite colour again?")
    last = text_of(model_inputs(client)[-1])
    assert last.count("Relevant memories (facts)") == 1
    assert last.count("Relevant memories (rules)") == 1
    await facts.close()
    await rules.close()


async def test_memory_from_an_earlier_process_is_in_the_model_input_once(
    namespace: str, url: str
) -> None:
    memory = BotWireMemory(namespace, url)
    await memory.add(text(FACT))
    await memory.close()

    report = run_child("memory-turns", namespace, url)

    assert report["fact_counts"] == [1, 1, 0, 1]
    assert max(report["memory_blocks"]) == 1


async def test_agent_component_round_trips_with_its_memory(namespace: str, url: str) -> None:
    memory = BotWireMemory(
        namespace, url, api_key="secret-token", prefix="p/", limit=3, name="prefs"
    )
    await memory.add(text(FACT))
    agent = AssistantAgent("assistant", model_client=scripted("ok"), memory=[memory])

    config = agent.dump_component()
    dumped = config.model_dump_json()
    assert "secret-token" not in dumped
    [memory_config] = config.config["memory"]
    assert memory_config["provider"] == "botwire.autogen.BotWireMemory"
    assert memory_config["config"] == {
        "namespace": namespace,
        "url": url,
        "prefix": "p/",
        "limit": 3,
        "name": "prefs",
        "timeout": 10.0,
    }

    restored = AssistantAgent.load_component(config)
    await restored.run(task="What is my favourite colour?")
    [restored_memory] = restored._memory or []  # no public getter in autogen 0.7
    assert isinstance(restored_memory, BotWireMemory)
    assert restored_memory.prefix == "p/" and restored_memory.limit == 3
    client = restored._model_client
    assert FACT in text_of(model_inputs(client)[0])  # type: ignore[arg-type]
    await memory.close()
    await restored_memory.close()


def test_memory_component_round_trips_alone(namespace: str, url: str) -> None:
    memory = BotWireMemory(namespace, url, limit=2)
    loaded = BotWireMemory.load_component(memory.dump_component())
    assert isinstance(loaded, BotWireMemory)
    assert (loaded.namespace, loaded.url, loaded.limit) == (namespace, url, 2)
