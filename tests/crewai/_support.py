"""Offline stand-ins for what a CrewAI user brings: an LLM and an embedder.

``ScriptedLLM`` is a real ``crewai.BaseLLM``: the crew drives it exactly like a
hosted model (ReAct text path) and it records every prompt it receives.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from crewai import BaseLLM
from pydantic import Field

Reply = str | Callable[[list[dict[str, Any]]], str]


def text_of(messages: Any) -> str:
    """All message contents of one LLM call, as one string."""
    if isinstance(messages, str):
        return messages
    return "\n".join(str(m.get("content", "")) for m in messages)


def last_observation(messages: list[dict[str, Any]]) -> str:
    """The result of the last tool call, as the crew showed it to the LLM."""
    text = text_of(messages)
    if "Observation:" not in text:
        return ""
    observation = text.rpartition("Observation:")[2]
    return observation.partition("\nAnalyze the tool result")[0].strip()


def answer_with_observation(messages: list[dict[str, Any]]) -> str:
    """A final answer that repeats the last tool result (so a test sees what the tool gave)."""
    return f"Thought: I have it.\nFinal Answer: {last_observation(messages)}"


class ScriptedLLM(BaseLLM):
    """Answers with ``replies`` in order; a callable reply sees the messages."""

    replies: list[Any] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
        **kwargs: Any,
    ) -> str:
        self.prompts.append(text_of(messages))
        if not self.replies:
            return "Thought: nothing left to do.\nFinal Answer: done"
        reply = self.replies.pop(0)
        return reply(messages) if callable(reply) else str(reply)


def tool_call(tool: str, arguments: str) -> str:
    """A ReAct reply that calls ``tool`` with JSON ``arguments``."""
    return f"Thought: I should use {tool}.\nAction: {tool}\nAction Input: {arguments}"


def hash_embed(texts: list[str]) -> list[list[float]]:
    """A deterministic bag-of-words embedder (64 dims): shared words, similar vectors."""
    vectors = []
    for text in texts:
        vector = [0.0] * 64
        for word in re.findall(r"\w+", text.lower()):
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        vectors.append(vector)
    return vectors
