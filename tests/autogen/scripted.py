"""Scripted AutoGen models and child processes for the adapter's tests (no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, LLMMessage, ModelFamily, ModelInfo, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient

from botwire import AsyncMemory, Memory
from botwire.autogen import BotWireMemory

ROOT = Path(__file__).resolve().parents[2]

TOOL_MODEL: ModelInfo = {
    "vision": False,
    "function_calling": True,
    "json_output": False,
    "family": ModelFamily.UNKNOWN,
    "structured_output": False,
}
"""The replay client's default says no function calling; agents with tools need this."""


def tool_call(name: str, **arguments: Any) -> CreateResult:
    """A scripted model reply that calls one tool."""
    return CreateResult(
        finish_reason="function_calls",
        cached=False,
        content=[FunctionCall(id=f"call-{name}", name=name, arguments=json.dumps(arguments))],
        usage=RequestUsage(prompt_tokens=0, completion_tokens=0),
    )


def scripted(*replies: str | CreateResult) -> ReplayChatCompletionClient:
    """A model that answers with ``replies`` in order and records every input."""
    return ReplayChatCompletionClient(list(replies), model_info=TOOL_MODEL)


def model_inputs(client: ReplayChatCompletionClient) -> list[list[LLMMessage]]:
    """The messages the model received, one list per model call."""
    return [list(call["messages"]) for call in client.create_calls]


def text_of(messages: list[LLMMessage]) -> str:
    """All message contents of one model call, as text."""
    return "\n".join(str(m.content) for m in messages)


def open_memory(kind: str, namespace: str, url: str) -> Any:
    """The BotWire object ``memory_tools`` and ``save_state`` accept, by kind."""
    if kind == "async":
        return AsyncMemory(namespace, url)
    if kind == "sync":
        return Memory(namespace, url)
    if kind == "botwire":
        return BotWireMemory(namespace, url)
    raise ValueError(kind)


async def close_memory(memory: Any) -> None:
    """Close what :func:`open_memory` opened."""
    if isinstance(memory, Memory):
        memory.close()
    else:
        await memory.close()


def writers_team(
    writer: Sequence[str], critic: Sequence[str], max_messages: int
) -> tuple[RoundRobinGroupChat, ReplayChatCompletionClient, ReplayChatCompletionClient]:
    """A two-agent round-robin team, a writer then a critic, with scripted replies."""
    writer_client, critic_client = scripted(*writer), scripted(*critic)
    team = RoundRobinGroupChat(
        [
            AssistantAgent("writer", model_client=writer_client),
            AssistantAgent("critic", model_client=critic_client),
        ],
        termination_condition=MaxMessageTermination(max_messages),
    )
    return team, writer_client, critic_client


def run_child(*args: str) -> Any:
    """Run ``tests.autogen.child`` in a new Python process; return its JSON answer."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.autogen.child", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise AssertionError(f"child {args} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
