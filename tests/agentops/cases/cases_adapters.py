"""A traced memory handed to another adapter: still works, and its calls are spans."""

from __future__ import annotations

import pytest

from botwire import Memory
from botwire.agentops import traced

from .conftest import Spans


def test_langchain_history_over_a_traced_memory(plain: Memory, spans: Spans) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.messages import AIMessage, HumanMessage

    from botwire.langchain import BotWireChatMessageHistory

    history = BotWireChatMessageHistory("s-1", memory=traced(plain))
    history.add_messages([HumanMessage("I'm Ada"), AIMessage("Hi Ada")])

    assert [m.content for m in history.messages] == ["I'm Ada", "Hi Ada"]
    names = {s.name for s in spans.botwire()}
    assert {"botwire.append.tool", "botwire.get_list.tool"} <= names
    assert all(dict(s.attributes or {})["botwire.namespace"] == "prefs" for s in spans.botwire())


async def test_langchain_async_history_over_a_traced_sync_memory(
    plain: Memory, spans: Spans
) -> None:
    """The adapter's async twin runs the traced memory's store in worker threads."""
    pytest.importorskip("langchain_core")
    from langchain_core.messages import HumanMessage

    from botwire.langchain import BotWireChatMessageHistory

    history = BotWireChatMessageHistory("s-2", memory=traced(plain))
    await history.aadd_messages([HumanMessage("async hello")])

    assert [m.content for m in await history.aget_messages()] == ["async hello"]
    assert {"botwire.append.tool", "botwire.get_list.tool"} <= {s.name for s in spans.botwire()}


async def test_autogen_tools_over_a_traced_memory(plain: Memory, spans: Spans) -> None:
    pytest.importorskip("autogen_core")
    from autogen_core import CancellationToken

    from botwire.autogen import memory_tools

    remember, recall, *_ = memory_tools(traced(plain))
    token = CancellationToken()
    await remember.run_json({"key": "units", "value": "metric"}, token)  # type: ignore[union-attr]
    answer = await recall.run_json({"key": "units"}, token)  # type: ignore[union-attr]

    assert answer == "metric"
    assert plain.get("units") == "metric"
    written = [s for s in spans.botwire() if s.name == "botwire.set.tool"]
    assert written and dict(written[0].attributes or {})["botwire.key"] == "units"
