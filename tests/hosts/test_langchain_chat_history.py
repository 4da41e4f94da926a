"""langchain-core's chat-history tests, run against ``BotWireChatMessageHistory``.

Source: https://github.com/langchain-ai/langchain,
libs/core/tests/unit_tests/chat_history/test_chat_history.py, the version with the
``InMemoryChatMessageHistory`` serialization regression tests (langchain issue
34925), as stored in the search index we vendored from, which names no commit;
requirements.lock installs langchain-core 1.8.3.
Copyright (c) LangChain, Inc. MIT License; the licence text is in
tests/hosts/THIRD_PARTY_LICENSES.txt.

Changes from the original:

* fixture swapped: the chat histories the tests defined (``SampleChatHistory`` with
  only ``add_message``, ``BulkAddHistory`` with only ``add_messages``, both over a
  Python list, and ``InMemoryChatMessageHistory``) are ``new_history()``, a
  ``BotWireChatMessageHistory`` on a fresh session of the embedded file or of a
  server; reading the list ``store`` became reading ``chat_history.messages``.
* the two serialization tests round-trip through the store instead of
  ``model_dump_json``/``model_validate_json``: the message is read back by a second
  ``BotWireChatMessageHistory`` on the same session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.messages.tool import ToolCall

from botwire.langchain import BotWireChatMessageHistory

HistoryFactory = Callable[..., BotWireChatMessageHistory]


@pytest.fixture
def new_history(host_url: str, host_namespace: str) -> Iterator[HistoryFactory]:
    """Opens histories; ``new_history(session_id)`` reopens that session."""
    opened: list[BotWireChatMessageHistory] = []

    def make(session_id: str | None = None) -> BotWireChatMessageHistory:
        session = session_id or f"session-{uuid.uuid4().hex[:8]}"
        opened.append(BotWireChatMessageHistory(session, namespace=host_namespace, url=host_url))
        return opened[-1]

    yield make
    for history in opened:
        history.close()


async def _aclose(*histories: BotWireChatMessageHistory) -> None:
    for history in histories:
        await history.aclose()


def test_add_message_implementation_only(new_history: HistoryFactory) -> None:
    """Test implementation of add_message only."""
    # was: a SampleChatHistory defining only add_message, over the list ``store``
    chat_history = new_history()
    chat_history.add_message(HumanMessage(content="Hello"))
    assert len(chat_history.messages) == 1
    assert chat_history.messages[0] == HumanMessage(content="Hello")
    chat_history.add_message(HumanMessage(content="World"))
    assert len(chat_history.messages) == 2
    assert chat_history.messages[1] == HumanMessage(content="World")

    chat_history.add_messages(
        [
            HumanMessage(content="Hello"),
            HumanMessage(content="World"),
        ]
    )
    assert len(chat_history.messages) == 4
    assert chat_history.messages[2] == HumanMessage(content="Hello")
    assert chat_history.messages[3] == HumanMessage(content="World")


def test_bulk_message_implementation_only(new_history: HistoryFactory) -> None:
    """Test that SampleChatHistory works as expected."""
    # was: a BulkAddHistory defining only add_messages, over the list ``store``
    chat_history = new_history()
    chat_history.add_message(HumanMessage(content="Hello"))
    assert len(chat_history.messages) == 1
    assert chat_history.messages[0] == HumanMessage(content="Hello")
    chat_history.add_message(HumanMessage(content="World"))
    assert len(chat_history.messages) == 2
    assert chat_history.messages[1] == HumanMessage(content="World")

    chat_history.add_messages(
        [
            HumanMessage(content="Hello"),
            HumanMessage(content="World"),
        ]
    )
    assert len(chat_history.messages) == 4
    assert chat_history.messages[2] == HumanMessage(content="Hello")
    assert chat_history.messages[3] == HumanMessage(content="World")


async def test_async_interface(new_history: HistoryFactory) -> None:
    """Test async interface for BaseChatMessageHistory."""
    chat_history = new_history()  # was: BulkAddHistory(), over a Python list
    await chat_history.aadd_messages(
        [
            HumanMessage(content="Hello"),
            HumanMessage(content="World"),
        ]
    )
    assert await chat_history.aget_messages() == [
        HumanMessage(content="Hello"),
        HumanMessage(content="World"),
    ]
    await chat_history.aadd_messages([HumanMessage(content="!")])
    assert await chat_history.aget_messages() == [
        HumanMessage(content="Hello"),
        HumanMessage(content="World"),
        HumanMessage(content="!"),
    ]
    await chat_history.aclear()
    assert await chat_history.aget_messages() == []
    await _aclose(chat_history)


def test_inmemory_chat_history_serialization_preserves_tool_calls(
    new_history: HistoryFactory,
) -> None:
    """Test that AIMessage.tool_calls is preserved during serialization.

    This is a regression test for:
    https://github.com/langchain-ai/langchain/issues/34925
    """
    tool_call = ToolCall(name="test_tool", args={"arg1": "value1"}, id="call_123")
    ai_message = AIMessage(content="Using a tool", tool_calls=[tool_call])

    chat_history = new_history()  # was: InMemoryChatMessageHistory()
    chat_history.add_message(ai_message)

    # Serialize and deserialize (was: model_dump_json / model_validate_json)
    restored = new_history(chat_history.session_id)

    # Verify the message is restored correctly
    assert len(restored.messages) == 1
    restored_msg = restored.messages[0]
    assert isinstance(restored_msg, AIMessage)
    assert restored_msg.content == "Using a tool"

    # The key assertion: tool_calls should be preserved
    assert len(restored_msg.tool_calls) == 1
    assert restored_msg.tool_calls[0]["name"] == "test_tool"
    assert restored_msg.tool_calls[0]["args"] == {"arg1": "value1"}
    assert restored_msg.tool_calls[0]["id"] == "call_123"


def test_inmemory_chat_history_serialization_preserves_response_metadata(
    new_history: HistoryFactory,
) -> None:
    """Test that AIMessage.response_metadata is preserved during serialization."""
    ai_message = AIMessage(
        content="Hello",
        response_metadata={"model": "gpt-4", "finish_reason": "stop"},
    )

    chat_history = new_history()  # was: InMemoryChatMessageHistory()
    chat_history.add_message(ai_message)

    restored = new_history(chat_history.session_id)  # was: a JSON round trip

    restored_msg = restored.messages[0]
    assert isinstance(restored_msg, AIMessage)
    assert restored_msg.response_metadata == {"model": "gpt-4", "finish_reason": "stop"}
