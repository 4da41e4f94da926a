"""What BotWire 0.2.x code imported still works, or says what replaces it."""

from __future__ import annotations

import sys

import pytest

import botwire


def test_botwire_chat_history_is_the_langchain_class_with_a_warning() -> None:
    pytest.importorskip("langchain_core")
    from botwire.langchain import BotWireChatMessageHistory

    with pytest.warns(DeprecationWarning, match="botwire.langchain.BotWireChatMessageHistory"):
        from botwire import BotWireChatHistory
    assert BotWireChatHistory is BotWireChatMessageHistory


def test_without_langchain_the_error_names_the_new_home(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("botwire.langchain")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "langchain_core", None)  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning):
        with pytest.raises(botwire.MissingDependencyError) as caught:
            botwire.BotWireChatHistory  # noqa: B018
    message = str(caught.value)
    assert "botwire.langchain.BotWireChatMessageHistory" in message
    assert 'pip install "botwire[langchain]"' in message


@pytest.mark.parametrize("name", ["Channel", "register"])
def test_removed_names_say_so(name: str) -> None:
    with pytest.raises(ImportError, match=f"botwire.{name} is gone: .*docs/migrating.md"):
        exec(f"from botwire import {name}")
    assert not hasattr(botwire, "no_such_name")


def test_the_migration_page_runs_and_prints_what_it_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("langchain_core")
    import re
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "migrating.md").read_text("utf-8")
    snippets = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    assert len(snippets) == 2
    for _ in range(2):  # safe to run again on the same store
        for code in snippets:
            exec(compile(code, "docs/migrating.md", "exec"), {"__name__": "__docs__"})
        printed = capsys.readouterr().out
        for expected in re.findall(r"print\(.*\)  # (.*)", page):
            assert expected in printed
