"""memory_tools: remember/recall/forget/list_memories called by scripted models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext.models.replay")

from autogen_agentchat.agents import AssistantAgent  # noqa: E402
from autogen_agentchat.messages import (  # noqa: E402
    ToolCallExecutionEvent,
    ToolCallSummaryMessage,
)
from autogen_core import CancellationToken  # noqa: E402
from autogen_core.tools import BaseTool  # noqa: E402

from botwire import AsyncMemory, Memory, ValidationError  # noqa: E402
from botwire.autogen import BotWireMemory, memory_tools  # noqa: E402
from tests.autogen.scripted import (  # noqa: E402
    close_memory,
    model_inputs,
    open_memory,
    run_child,
    scripted,
    text_of,
    tool_call,
)

KINDS = ["async", "sync", "botwire"]


@pytest.fixture
async def amemory(namespace: str, url: str) -> AsyncIterator[AsyncMemory]:
    memory = AsyncMemory(namespace, url)
    yield memory
    await memory.aclose()


def function_tools(tools: Sequence[object]) -> list[BaseTool[Any, Any]]:
    """memory_tools is typed as AssistantAgent's tools list; its items are BaseTools."""
    assert all(isinstance(t, BaseTool) for t in tools)
    return [t for t in tools if isinstance(t, BaseTool)]


async def call(tools: Sequence[object], name: str, **args: object) -> str:
    [tool] = [t for t in function_tools(tools) if t.name == name]
    result = await tool.run_json(args, CancellationToken())
    return tool.return_value_as_string(result)


@pytest.mark.parametrize("kind", KINDS)
async def test_remembered_in_one_process_recalled_in_another(
    kind: str, namespace: str, url: str
) -> None:
    memory = open_memory(kind, namespace, url)
    agent = AssistantAgent(
        "assistant",
        model_client=scripted(tool_call("remember", key="user:favourite_colour", value="blue")),
        tools=memory_tools(memory),
    )
    result = await agent.run(task="Remember that my favourite colour is blue.")
    await close_memory(memory)
    assert isinstance(result.messages[-1], ToolCallSummaryMessage)
    assert result.messages[-1].content == 'Remembered "user:favourite_colour".'

    report = run_child("recall", kind, namespace, url, "user:favourite_colour")

    assert report["answer"] == "blue"
    assert report["types"][-1] == "ToolCallSummaryMessage"


@pytest.mark.parametrize("kind", KINDS)
async def test_missing_key_is_a_readable_answer(kind: str, namespace: str, url: str) -> None:
    memory = open_memory(kind, namespace, url)
    tools = memory_tools(memory)
    assert await call(tools, "recall", key="nope") == (
        'Nothing is remembered under "nope". Use list_memories to see the keys.'
    )
    assert await call(tools, "forget", key="nope") == (
        'Nothing was remembered under "nope"; nothing to forget.'
    )
    await close_memory(memory)


@pytest.mark.parametrize("kind", KINDS)
async def test_remember_forget_and_list(kind: str, namespace: str, url: str) -> None:
    memory = open_memory(kind, namespace, url)
    tools = memory_tools(memory)
    assert await call(tools, "list_memories") == "No memories are saved."
    assert await call(tools, "remember", key="pet", value="a cat named Tom") == 'Remembered "pet".'
    assert await call(tools, "remember", key="pet", value="a dog") == (
        'Remembered "pet" (replaced the old fact).'
    )
    await call(tools, "remember", key="home", value="Paris\n  (since 2020)")
    await call(tools, "remember", key="work", value="x" * 500)

    listing = await call(tools, "list_memories")
    assert listing.splitlines()[:2] == ["home: Paris (since 2020)", "pet: a dog"]
    assert listing.splitlines()[2] == "work: " + "x" * 199 + "…"
    assert await call(tools, "recall", key="work") == "x" * 500
    assert await call(tools, "list_memories", prefix="p") == "pet: a dog"
    assert await call(tools, "list_memories", prefix="zz") == (
        'No memories with keys starting "zz" are saved.'
    )

    assert await call(tools, "forget", key="pet") == 'Forgot "pet".'
    assert 'Nothing is remembered under "pet"' in await call(tools, "recall", key="pet")
    await close_memory(memory)


def test_tools_have_typed_described_parameters(amemory: AsyncMemory) -> None:
    tools = memory_tools(amemory)
    schemas = {t.name: t.schema for t in function_tools(tools)}
    assert list(schemas) == ["remember", "recall", "forget", "list_memories"]
    for schema in schemas.values():
        assert schema["description"]
        for prop in schema["parameters"]["properties"].values():
            assert prop["description"] and prop["type"] == "string"
    remember = schemas["remember"]["parameters"]
    assert remember["required"] == ["key", "value"]
    assert schemas["list_memories"]["parameters"].get("required", []) == []


def test_read_only_gives_only_reading_tools(amemory: AsyncMemory) -> None:
    names = [t.name for t in function_tools(memory_tools(amemory, read_only=True))]
    assert names == ["recall", "list_memories"]


async def test_prefix_keeps_the_models_keys_apart(namespace: str, url: str) -> None:
    memory = AsyncMemory(namespace, url)
    await memory.set("config", "mine")
    tools = memory_tools(memory, prefix="agent/")
    await call(tools, "remember", key="config", value="the model's")
    assert await memory.get("config") == "mine"
    assert await memory.get("agent/config") == "the model's"
    assert await call(tools, "list_memories") == "config: the model's"
    await memory.aclose()


async def test_non_text_values_are_shown_as_json(namespace: str, url: str) -> None:
    memory = Memory(namespace, url)
    memory.set("prefs", {"units": "metric"})
    tools = memory_tools(memory)
    assert await call(tools, "recall", key="prefs") == '{"units": "metric"}'
    memory.close()


async def test_facts_on_a_botwire_memory_come_back_through_update_context(
    namespace: str, url: str
) -> None:
    memory = BotWireMemory(namespace, url)
    client = scripted(
        tool_call("remember", key="pet", value="The user's pet is a cat named Tom."), "A cat."
    )
    agent = AssistantAgent(
        "assistant", model_client=client, memory=[memory], tools=memory_tools(memory)
    )
    await agent.run(task="Remember my pet: a cat named Tom.")
    await agent.run(task="What pet do I have?")
    assert (
        "pet is a cat named Tom" in text_of(model_inputs(client)[-1]).split("Relevant memories")[-1]
    )
    [found] = (await memory.query("pet")).results
    assert found.content == "The user's pet is a cat named Tom."
    await memory.close()


async def test_a_bad_key_is_reported_to_the_model_as_an_error(namespace: str, url: str) -> None:
    memory = AsyncMemory(namespace, url)
    agent = AssistantAgent(
        "assistant",
        model_client=scripted(tool_call("remember", key="", value="x")),
        tools=memory_tools(memory),
    )
    result = await agent.run(task="remember nothing")
    [event] = [m for m in result.messages if isinstance(m, ToolCallExecutionEvent)]
    assert event.content[0].is_error
    assert "key" in event.content[0].content
    assert await memory.list_keys() == []
    await memory.aclose()


@pytest.mark.parametrize(
    ("memory", "kwargs", "message"),
    [
        ("not a memory", {}, "must be a botwire.Memory"),
        (None, {"prefix": 1}, "prefix must be a string"),
    ],
)
def test_memory_tools_validates(
    memory: object, kwargs: dict[str, object], message: str, amemory: AsyncMemory
) -> None:
    target = amemory if memory is None else memory
    with pytest.raises(ValidationError, match=message):
        memory_tools(target, **kwargs)  # type: ignore[arg-type]
