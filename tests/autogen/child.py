"""The "other process" of the adapter's tests: ``python -m tests.autogen.child …``.

Each scenario builds fresh AutoGen objects over the BotWire URL it is given, so
anything it finds was made durable by an earlier process. It prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import BaseChatMessage
from autogen_core.models import SystemMessage

from botwire import AsyncMemory
from botwire.autogen import BotWireMemory, load_state, memory_tools, save_state
from tests.autogen.scripted import (
    close_memory,
    model_inputs,
    open_memory,
    scripted,
    text_of,
    tool_call,
    writers_team,
)

FACT = "The user's favourite colour is blue."
TURNS = [
    "What is my favourite colour?",
    "Which colour did I say?",
    "Tell me a joke.",
    "Remind me: what is my favourite colour?",
]


async def recall(kind: str, namespace: str, url: str, key: str) -> dict[str, Any]:
    """A new agent whose model calls ``recall(key)``; report what the tool returned."""
    memory = open_memory(kind, namespace, url)
    agent = AssistantAgent(
        "assistant", model_client=scripted(tool_call("recall", key=key)), tools=memory_tools(memory)
    )
    result = await agent.run(task="What is my favourite colour?")
    await close_memory(memory)
    last = result.messages[-1]
    assert isinstance(last, BaseChatMessage)
    return {"answer": last.to_model_text(), "types": _types(result.messages)}


async def memory_turns(namespace: str, url: str) -> dict[str, Any]:
    """An agent with BotWire memory talks for several turns; report each model input."""
    memory = BotWireMemory(namespace, url)
    client = scripted(*(f"answer {i}" for i in range(len(TURNS))))
    agent = AssistantAgent("assistant", model_client=client, memory=[memory])
    for task in TURNS:
        await agent.run(task=task)
    await memory.close()
    inputs = model_inputs(client)
    return {
        "fact_counts": [text_of(m).count(FACT) for m in inputs],
        "memory_blocks": [
            sum(1 for x in m if isinstance(x, SystemMessage) and "Relevant memories" in x.content)
            for m in inputs
        ],
    }


async def team_continue(namespace: str, url: str, key: str) -> dict[str, Any]:
    """Rebuild the team, load its state, let it continue, save it again."""
    team, writer, critic = writers_team(["draft 2"], ["too long"], max_messages=2)
    memory = AsyncMemory(namespace, url)
    loaded = await load_state(memory, key, team)
    result = await team.run()  # no new task: carry on where the saved team stopped
    saved = await save_state(memory, key, team)
    await memory.aclose()
    return {
        "loaded": loaded,
        "saved": saved,
        "speakers": [m.source for m in result.messages],
        "critic_input": text_of(model_inputs(critic)[0]),
        "writer_input": text_of(model_inputs(writer)[0]),
    }


def _types(messages: Any) -> list[str]:
    return [type(m).__name__ for m in messages]


SCENARIOS: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
    "recall": recall,
    "memory-turns": memory_turns,
    "team-continue": team_continue,
}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print(json.dumps(asyncio.run(SCENARIOS[name](*args))))
