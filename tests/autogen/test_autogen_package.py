"""The botwire.autogen package: its public names and its missing-framework error."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("autogen_core")

import botwire.autogen  # noqa: E402

PUBLIC = {
    "AnyMemory",
    "BotWireMemory",
    "BotWireMemoryConfig",
    "Stateful",
    "load_state",
    "memory_tools",
    "save_state",
}


def test_all_is_sorted_and_complete() -> None:
    assert botwire.autogen.__all__ == sorted(botwire.autogen.__all__)
    assert set(botwire.autogen.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(botwire.autogen, name).__doc__, f"{name} has no docstring"


def test_without_autogen_the_import_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['autogen_core'] = None\n"
        "try:\n    import botwire.autogen\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.startswith("MissingDependencyError")
    assert 'pip install "botwire[autogen]"' in out
