"""The public surface of botwire.langchain."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("langchain_core")

import botwire.langchain


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert botwire.langchain.__all__ == sorted(botwire.langchain.__all__)
    for name in botwire.langchain.__all__:
        assert getattr(botwire.langchain, name) is not None
        obj = getattr(botwire.langchain, name)
        if isinstance(obj, type):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"
    assert botwire.langchain.BotWireChatHistory is botwire.langchain.BotWireChatMessageHistory
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = botwire.langchain.Nope  # type: ignore[attr-defined]


def test_chat_history_users_do_not_import_langgraph() -> None:
    code = (
        "import sys, botwire.langchain as b; b.BotWireChatMessageHistory;"
        "assert 'langgraph' not in sys.modules; b.BotWireStore;"
        "assert 'langgraph' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
