"""The original BotWire client (PyPI ``botwire`` 0.2.1) works unchanged on our server.

It is installed, with httpx and langchain-core, into a throwaway venv (pip reads
the local wheel in ``BOTWIRE_COMPAT_WHEEL`` if set, else downloads it from PyPI)
and driven through ``BOTWIRE_URL`` in a subprocess. That client sends keys
unencoded, stores non-string values as JSON text inside a string, and decodes
strings that start with ``[`` or ``{`` on read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botwire import Memory
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

ORIGINAL = "botwire==0.2.1"
LOCAL_WHEEL = Path("/tmp/bw021/botwire-0.2.1-py3-none-any.whl")


@pytest.fixture(scope="module")
def original_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Python of a fresh venv holding the original client (not our package)."""
    venv = tmp_path_factory.mktemp("original-client") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    wheel = os.environ.get("BOTWIRE_COMPAT_WHEEL") or (
        str(LOCAL_WHEEL) if LOCAL_WHEEL.exists() else ORIGINAL
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--disable-pip-version-check",
            wheel,
            "httpx",
            "langchain-core",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    yield python


def run_original(python: str, url: str, code: str) -> Any:
    """Run ``code`` with the original client against ``url``; return what it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWIRE_")}
    env["BOTWIRE_URL"] = url  # the original client reads it at import time
    result = subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_really_is_the_original_client(original_python: str, server: ServerProcess) -> None:
    assert (
        run_original(
            original_python,
            server.url,
            "import botwire, json; print(json.dumps([botwire.__version__, botwire.__file__]))",
        )[0]
        == "0.2.1"
    )


def test_memory_set_get_delete_keys(original_python: str, server: ServerProcess) -> None:
    out = run_original(
        original_python,
        server.url,
        """
        import json
        from botwire import Memory
        mem = Memory("compat-ns")
        keys = ["user-42:style", "a/b", "é-ключ-🔑", "plain"]
        mem.set("user-42:style", "concise")
        mem.set("a/b", {"nested": [1, 2]})
        mem.set("é-ключ-🔑", [1, "two"])
        mem.set("plain", 42)
        got = {k: mem.get(k) for k in keys}
        listed = mem.keys()
        deleted = [mem.delete("plain"), mem.delete("plain")]
        print(json.dumps({"got": got, "keys": listed, "deleted": deleted,
                          "missing": mem.get("plain", default="dflt"),
                          "contains": "a/b" in mem}))
    """,
    )
    assert out["got"] == {
        "user-42:style": "concise",
        "a/b": {"nested": [1, 2]},
        "é-ключ-🔑": [1, "two"],
        "plain": "42",  # the original client sends json.dumps(42) and reads back a string
    }
    assert out["keys"] == sorted(["user-42:style", "a/b", "é-ключ-🔑", "plain"])
    assert out["deleted"] == [True, False]
    assert out["missing"] == "dflt"
    assert out["contains"] is True
    with Memory("compat-ns", url=server.url) as ours:  # what it wrote, we read
        assert ours.get("user-42:style") == "concise"
        assert ours.get("a/b") == '{"nested": [1, 2]}'
        ours.set("from-us", "hello")
    assert (
        run_original(
            original_python,
            server.url,
            """
        import json
        from botwire import Memory
        print(json.dumps(Memory("compat-ns").get("from-us")))
    """,
        )
        == "hello"
    )


def test_chat_history(original_python: str, server: ServerProcess) -> None:
    out = run_original(
        original_python,
        server.url,
        """
        import json
        from botwire import BotWireChatHistory
        from langchain_core.messages import AIMessage, HumanMessage
        history = BotWireChatHistory(session_id="user-42")
        history.add_message(HumanMessage(content="What is the capital of France?"))
        history.add_message(AIMessage(content="Paris."))
        again = BotWireChatHistory(session_id="user-42")
        before = [(type(m).__name__, m.content) for m in again.messages]
        again.clear()
        print(json.dumps({"before": before, "after": len(again.messages)}))
    """,
    )
    assert out["before"] == [
        ["HumanMessage", "What is the capital of France?"],
        ["AIMessage", "Paris."],
    ]
    assert out["after"] == 0
