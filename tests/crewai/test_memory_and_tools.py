"""``BotWireCrewMemory`` and the memory tools, used directly (no crew)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("crewai")

from crewai import Agent, Crew, Task
from crewai.memory.types import MemoryRecord
from crewai.tools import BaseTool
from pydantic import BaseModel

import botwire
import botwire.crewai
from botwire.crewai import BotWireCrewMemory, BotWireMemoryTools, BotWireStorage, memory_tools
from tests.crewai._env import run_python
from tests.crewai._support import ScriptedLLM


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bw.db'}"


@pytest.fixture
def memory(url: str) -> BotWireCrewMemory:
    return BotWireCrewMemory("crew-test", url=url)


def contents(matches: list[Any]) -> list[str]:
    return [m.record.content for m in matches]


class TestBotWireCrewMemory:
    def test_recall_finds_memories_sharing_words(self, memory: BotWireCrewMemory) -> None:
        memory.remember("The client prefers reports in French")
        memory.remember("Invoices are sent on Fridays")
        memory.remember("The office cat is called Miso")
        assert contents(memory.recall("Which language should the client's report use?")) == [
            "The client prefers reports in French"
        ]
        assert contents(memory.recall("when do we send invoices")) == [
            "Invoices are sent on Fridays"
        ]
        assert memory.recall("quantum chromodynamics") == []

    def test_importance_and_recency_break_ties(self, memory: BotWireCrewMemory) -> None:
        memory.remember("Deploy window is Monday", importance=0.1)
        memory.remember("Deploy window is Thursday", importance=0.9)
        assert contents(memory.recall("deploy window"))[0] == "Deploy window is Thursday"
        old = MemoryRecord(
            content="Standup is at 9",
            importance=0.5,
            created_at=datetime.utcnow() - timedelta(days=120),
        )
        memory.storage_backend.save([old])
        memory.remember("Standup is at 10", importance=0.5)
        assert contents(memory.recall("standup"))[0] == "Standup is at 10"

    def test_scopes_categories_and_privacy(self, url: str) -> None:
        memory = BotWireCrewMemory("crew-test", url=url, root_scope="/crew/research")
        record = memory.remember("Budget is 10k", scope="finance", categories=["money"])
        assert record is not None and record.scope == "/crew/research/finance"
        memory.remember("Budget owner is Ana", categories=["people"])
        memory.remember("Budget secret code 42", source="alice", private=True)
        assert len(memory.recall("budget")) == 2
        assert contents(memory.recall("budget", scope="finance")) == ["Budget is 10k"]
        assert contents(memory.recall("budget", categories=["people"])) == ["Budget owner is Ana"]
        assert "Budget secret code 42" in contents(memory.recall("budget", source="alice"))
        assert len(memory.recall("budget", include_private=True)) == 3
        other_crew = BotWireCrewMemory("crew-test", url=url, root_scope="/crew/other")
        assert other_crew.recall("budget") == []
        assert memory.list_scopes("/") == ["/crew/research/finance"]

    def test_list_forget_update_reset(self, memory: BotWireCrewMemory) -> None:
        first = memory.remember("alpha fact", categories=["a"])
        memory.remember_many(["beta fact", "gamma fact"], categories=["b"])
        newest_two = {"beta fact", "gamma fact"}  # saved together: same time, any order
        assert set(contents(memory.recall("fact", limit=2))) == newest_two
        listed = [r.content for r in memory.list_records()]
        assert set(listed[:2]) == newest_two and listed[2] == "alpha fact"
        assert memory.list_categories() == {"a": 1, "b": 2}
        assert first is not None
        updated = memory.update(first.id, content="alpha changed", importance=1.0)
        assert memory.storage_backend.get_record(first.id).content == "alpha changed"
        assert updated.importance == 1.0
        assert memory.forget(categories=["b"]) == 2
        assert memory.info().record_count == 1
        memory.reset()
        assert memory.list_records() == []

    def test_read_only_stores_nothing(self, url: str) -> None:
        memory = BotWireCrewMemory("crew-test", url=url, read_only=True)
        assert memory.remember("x") is None
        assert memory.remember_many(["y"]) == []
        assert memory.list_records() == []

    def test_task_results_are_what_a_crew_saves(self, url: str) -> None:
        memory = BotWireCrewMemory("crew-test", url=url)
        crew_output = (
            "Task: Find the launch name\nAgent: Researcher\nExpected result: a name\n"
            "Result: Thought: I know it.\nFinal Answer: Bluebird"
        )
        assert memory.extract_memories(crew_output) == [
            "Task: Find the launch name\nResult: Bluebird"
        ]
        assert memory.extract_memories("Task: t\nResult: r") == ["Task: t\nResult: r"]
        assert memory.extract_memories("   ") == []
        quiet = BotWireCrewMemory("crew-test", url=url, save_task_results=False)
        assert quiet.extract_memories("Task: t\nResult: r") == []

    def test_bad_input_says_what_to_fix(self, memory: BotWireCrewMemory, url: str) -> None:
        with pytest.raises(botwire.ValidationError, match="non-empty text"):
            memory.remember("  ")
        with pytest.raises(botwire.ValidationError, match="importance must be from 0 to 1"):
            memory.remember("x", importance=2)
        with pytest.raises(botwire.ValidationError, match="list of texts"):
            memory.remember_many("one string")  # type: ignore[arg-type]
        with pytest.raises(botwire.ValidationError, match="positive integer"):
            memory.recall("x", limit=0)
        with pytest.raises(botwire.ValidationError, match="pass a BotWireStorage"):
            BotWireCrewMemory("crew-test", storage="lancedb")
        with pytest.raises(ValueError, match="Record not found"):
            memory.update("missing", content="x")

    def test_crew_accepts_it_and_no_lancedb_folder_is_made(
        self, memory: BotWireCrewMemory, url: str, crewai_sandbox: Path
    ) -> None:
        agent = Agent(role="R", goal="g", backstory="b", llm=ScriptedLLM(model="s"))
        task = Task(description="d", expected_output="o", agent=agent)
        crew = Crew(agents=[agent], tasks=[task], memory=memory)
        assert crew.memory is memory
        assert crew.copy().memory is memory  # kickoff_for_each copies the crew
        shared = BotWireCrewMemory(storage=BotWireStorage("other-ns", url))
        assert shared.namespace == "other-ns"
        assert not any(p.name == "memory" for p in crewai_sandbox.rglob("*") if p.is_dir())

    async def test_async_methods_share_the_records(self, memory: BotWireCrewMemory) -> None:
        await memory.aremember("Async saves land in BotWire", categories=["async"])
        assert contents(await memory.arecall("async saves")) == ["Async saves land in BotWire"]
        assert await memory.aremember_many(["second async fact"]) != []

    def test_serialises_with_its_storage_named(self, memory: BotWireCrewMemory) -> None:
        """Crew checkpoints dump the memory as JSON; the storage object must not break it."""
        dumped = json.loads(memory.model_dump_json())
        assert dumped["storage"] == "botwire:crew-test"
        assert dumped["namespace"] == "crew-test"
        assert memory.model_dump()["storage"] is memory.storage_backend


def test_public_names() -> None:
    assert botwire.crewai.__all__ == sorted(botwire.crewai.__all__)
    for name in botwire.crewai.__all__:
        obj = getattr(botwire.crewai, name)
        assert name.isupper() or (obj.__doc__ or "").strip(), f"{name} has no docstring"


class TestMemoryTools:
    def test_tools_have_names_schemas_and_descriptions(self, url: str) -> None:
        tools = memory_tools("facts", url)
        assert [t.name for t in tools] == ["remember", "recall", "forget", "list_memories"]
        for tool in tools:
            assert isinstance(tool, BaseTool) and len(tool.description) > 20
            assert issubclass(tool.args_schema, BaseModel)
        schema = tools[0].args_schema.model_json_schema()
        assert schema["required"] == ["key", "value"]
        assert all(p.get("description") for p in schema["properties"].values())

    def test_remember_recall_forget_list(self, url: str) -> None:
        remember, recall, forget, list_memories = memory_tools("facts", url)
        assert remember.run(key="user:colour", value="teal") == 'Remembered "user:colour".'
        assert "replaced" in remember.run(key="user:colour", value="blue")
        assert recall.run(key="user:colour") == "blue"
        assert list_memories.run() == "user:colour: blue"
        assert list_memories.run(prefix="zzz") == 'No memories with keys starting "zzz" are saved.'
        assert forget.run(key="user:colour") == 'Forgot "user:colour".'
        assert forget.run(key="user:colour") == (
            'Nothing was remembered under "user:colour"; nothing to forget.'
        )
        assert botwire.Memory("facts", url).get("user:colour") is None

    def test_missing_and_invalid_keys_are_readable_results(self, url: str) -> None:
        remember, recall, forget, _ = memory_tools("facts", url)
        assert recall.run(key="nope").startswith('Nothing is remembered under "nope"')
        assert recall.run(key="") == "Error: key must not be empty"
        assert remember.run(key="bad\x00key", value="v").startswith("Error: key ")
        with pytest.raises(ValueError, match="validation failed"):
            recall.run()  # missing argument: CrewAI reports it to the agent

    def test_values_set_by_code_and_prefixes(self, url: str) -> None:
        kv = botwire.Memory("facts", url)
        kv.set("user-1:prefs", {"units": "metric"})
        remember, recall, _, list_memories = BotWireMemoryTools(kv, prefix="user-1:").tools()
        assert recall.run(key="prefs") == '{"units": "metric"}'
        remember.run(key="city", value="Porto")
        assert kv.get("user-1:city") == "Porto"
        assert list_memories.run() == 'city: Porto\nprefs: {"units": "metric"}'
        assert memory_tools(kv)[1].run(key="user-1:city") == "Porto"

    def test_bad_arguments_say_what_to_fix(self) -> None:
        with pytest.raises(botwire.ValidationError, match="needs a botwire.Memory"):
            BotWireMemoryTools("facts")  # type: ignore[arg-type]
        with pytest.raises(botwire.ValidationError, match="namespace name or a botwire.Memory"):
            memory_tools(42)  # type: ignore[arg-type]
        with pytest.raises(botwire.ValidationError, match="invalid namespace"):
            memory_tools("bad namespace")
        with pytest.raises(botwire.ValidationError, match="not a Memory"):
            memory_tools(botwire.Memory("facts"), "sqlite:///other.db")

    def test_original_sdk_import_path(self, url: str, crewai_sandbox: Path) -> None:
        from botwire.memory import memory_tools as old_memory_tools

        remember, recall, *_ = old_memory_tools("facts", url)
        remember.run(key="k", value="v")
        assert recall.run(key="k") == "v"
        code = (
            "import sys, botwire\n"
            "assert 'crewai' not in sys.modules and 'botwire.memory' not in sys.modules\n"
            "import botwire.memory\n"
            "assert 'crewai' not in sys.modules\n"
            "print('light')"
        )
        assert run_python(code, cwd=crewai_sandbox / "cwd").strip() == "light"
        assert "botwire.memory" in sys.modules
