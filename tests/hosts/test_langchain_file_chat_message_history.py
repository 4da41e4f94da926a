"""langchain-core's ``FileChatMessageHistory`` tests, run against ``BotWireChatMessageHistory``.

Source: https://github.com/langchain-ai/langchain,
libs/core/tests/unit_tests/chat_history/test_file_chat_message_history.py at commit
379b996c7a8b772481543f26dd9e33c7e3ea102e (the version stored in the search index
we vendored from; requirements.lock installs langchain-core 1.8.3).
Copyright (c) LangChain, Inc. MIT License; the licence text is in
tests/hosts/THIRD_PARTY_LICENSES.txt.

Changes from the original:

* fixture swapped: ``file_chat_message_history`` (a ``FileChatMessageHistory`` in a
  temporary folder) is a ``BotWireChatMessageHistory`` on a fresh session of the
  embedded file or of a server; the "second session" reopens the same session id
  (was: the same file path).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from botwire.langchain import BotWireChatMessageHistory


@pytest.fixture
def file_chat_message_history(
    host_url: str, host_namespace: str
) -> Iterator[BotWireChatMessageHistory]:
    """A history on a fresh session (was: a FileChatMessageHistory in a temp folder)."""
    history = BotWireChatMessageHistory(
        f"session-{uuid.uuid4().hex[:8]}", namespace=host_namespace, url=host_url
    )
    yield history
    history.close()


def test_add_messages(file_chat_message_history: BotWireChatMessageHistory) -> None:
    file_chat_message_history.add_user_message("Hello!")
    file_chat_message_history.add_ai_message("Hi there!")

    messages = file_chat_message_history.messages
    assert len(messages) == 2
    assert isinstance(messages[0], HumanMessage)
    assert isinstance(messages[1], AIMessage)
    assert messages[0].content == "Hello!"
    assert messages[1].content == "Hi there!"


def test_clear_messages(file_chat_message_history: BotWireChatMessageHistory) -> None:
    file_chat_message_history.add_user_message("Hello!")
    file_chat_message_history.add_ai_message("Hi there!")

    file_chat_message_history.clear()
    messages = file_chat_message_history.messages
    assert len(messages) == 0


def test_multiple_sessions(
    file_chat_message_history: BotWireChatMessageHistory, host_url: str
) -> None:
    # First session
    file_chat_message_history.add_user_message("Hello, AI!")
    file_chat_message_history.add_ai_message("Hello, how can I help you?")
    file_chat_message_history.add_user_message("Tell me a joke.")
    file_chat_message_history.add_ai_message(
        "Why did the chicken cross the road? To get to the other side!"
    )

    # Ensure the messages are added correctly in the first session
    messages = file_chat_message_history.messages
    assert len(messages) == 4
    assert messages[0].content == "Hello, AI!"
    assert messages[1].content == "Hello, how can I help you?"
    assert messages[2].content == "Tell me a joke."
    expected_content = "Why did the chicken cross the road? To get to the other side!"
    assert messages[3].content == expected_content

    # Second session (reinitialize; was: FileChatMessageHistory on the same file)
    second_session_chat_message_history = BotWireChatMessageHistory(
        file_chat_message_history.session_id,
        namespace=file_chat_message_history.namespace,
        url=host_url,
    )

    # Ensure the history is maintained in the second session
    messages = second_session_chat_message_history.messages
    assert len(messages) == 4
    assert messages[0].content == "Hello, AI!"
    assert messages[1].content == "Hello, how can I help you?"
    assert messages[2].content == "Tell me a joke."
    expected_content = "Why did the chicken cross the road? To get to the other side!"
    assert messages[3].content == expected_content
    second_session_chat_message_history.close()
