"""Real crews, scripted LLM, two processes: what a user sees across kickoffs.

One child process runs the *first* kickoffs (an agent that calls ``remember``,
a crew whose ``BotWireCrewMemory`` saves its task result) and reads and writes a
``BotWireStorage`` the parent wrote to; the tests then run the *second* kickoffs
here, in another process, against the same BotWire file.
The child also runs with a file snapshot around it, to check that nothing is
written outside the configured locations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("crewai")

from crewai import Agent, Crew, Task
from crewai.memory.types import MemoryRecord

from botwire.crewai import BotWireCrewMemory, BotWireStorage, memory_tools
from tests.crewai._env import ENV, run_python
from tests.crewai._support import ScriptedLLM, answer_with_observation, tool_call

FIRST_RUN = """
import json
from crewai import Agent, Crew, Task
from botwire.crewai import BotWireCrewMemory, memory_tools
from tests.crewai._support import ScriptedLLM, tool_call

# 1. An agent with the memory tools stores a fact under a key.
llm = ScriptedLLM(model="scripted", replies=[
    tool_call("remember", json.dumps({"key": "user:favourite_colour", "value": "teal"})),
    "Thought: saved.\\nFinal Answer: Saved the favourite colour.",
])
agent = Agent(role="Assistant", goal="Help the user", backstory="Keeps notes.", llm=llm,
              tools=memory_tools("facts"))
task = Task(description="The user says their favourite colour is teal. Remember it.",
            expected_output="confirmation", agent=agent)
print(Crew(agents=[agent], tasks=[task]).kickoff().raw)

# 2. A crew with BotWire memory finishes a task; the crew saves the result itself.
llm = ScriptedLLM(model="scripted", replies=[
    "Thought: I found it.\\nFinal Answer: The launch code name is Bluebird.",
])
agent = Agent(role="Researcher", goal="Find facts", backstory="Thorough.", llm=llm)
task = Task(description="Find the code name of the spring product launch.",
            expected_output="the code name", agent=agent)
crew = Crew(agents=[agent], tasks=[task], memory=BotWireCrewMemory("crew-memory"))
print(crew.kickoff().raw)

# 3. CrewAI's own Memory on BotWireStorage: read what the parent saved, save more.
from crewai.memory.types import MemoryRecord
from botwire.crewai import BotWireStorage
storage = BotWireStorage("shared-storage")
print("parent saw:", [r.content for r, _ in storage.search([1.0, 0.0], limit=5)])
storage.save([MemoryRecord(id=f"child-{i}", content=f"child record {i}", scope="/team/child",
                           embedding=[0.0, 1.0]) for i in range(3)])
"""


def snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Directories of a user machine, after a first process ran its kickoffs."""
    root = tmp_path_factory.mktemp("world")
    dirs = {name: root / name for name in ("home", "cwd", "botwire-home", "crewai-storage")}
    for path in dirs.values():
        path.mkdir()
    saved = dict(os.environ)
    os.environ.update(
        ENV,
        HOME=str(dirs["home"]),
        BOTWIRE_HOME=str(dirs["botwire-home"]),
        CREWAI_STORAGE_DIR=str(dirs["crewai-storage"]),
    )
    try:
        parent = BotWireStorage("shared-storage")
        parent.save(
            [MemoryRecord(id="p", content="parent record", scope="/team", embedding=[1, 0])]
        )
        parent.close()
        before = snapshot(root)
        output = run_python(FIRST_RUN, cwd=dirs["cwd"])
        created = snapshot(root) - before
    finally:
        os.environ.clear()
        os.environ.update(saved)
    yield {"output": output, "created": created, **dirs}


@pytest.fixture
def in_world(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run this test as the second process on the same machine (same BotWire file)."""
    monkeypatch.setenv("BOTWIRE_HOME", str(world["botwire-home"]))
    return world


def test_first_run_finished(world: dict[str, Any]) -> None:
    assert "Saved the favourite colour." in world["output"]
    assert "The launch code name is Bluebird." in world["output"]


def test_agent_recalls_a_fact_remembered_by_another_process(in_world: dict[str, Any]) -> None:
    llm = ScriptedLLM(
        model="scripted",
        replies=[tool_call("recall", '{"key": "user:favourite_colour"}'), answer_with_observation],
    )
    agent = Agent(
        role="Assistant",
        goal="Help",
        backstory="Keeps notes.",
        llm=llm,
        tools=memory_tools("facts"),
    )
    task = Task(description="What is my favourite colour?", expected_output="a colour", agent=agent)
    result = Crew(agents=[agent], tasks=[task]).kickoff()
    assert result.raw.strip() == "teal"
    assert "recall" in llm.prompts[0] and "list_memories" in llm.prompts[0]


def test_crew_memory_brings_an_earlier_run_into_the_task_prompt(in_world: dict[str, Any]) -> None:
    memory = BotWireCrewMemory("crew-memory")
    llm = ScriptedLLM(model="scripted", replies=["Thought: known.\nFinal Answer: Bluebird"])
    agent = Agent(role="Researcher", goal="Find facts", backstory="Thorough.", llm=llm)
    task = Task(
        description="Remind me: what is the code name of the spring launch?",
        expected_output="the code name",
        agent=agent,
    )
    Crew(agents=[agent], tasks=[task], memory=memory).kickoff()
    prompt = llm.prompts[0]
    assert "Relevant memories:" in prompt
    assert "Result: The launch code name is Bluebird." in prompt
    # ... and this run's own result was saved for the next one.
    assert any("Remind me" in r.content for r in memory.list_records())


def test_crew_agents_use_crewai_memory_tools_on_it(crewai_sandbox: Path) -> None:
    """CrewAI's own "Save to memory"/"Search memory" tools work on BotWireCrewMemory."""
    memory = BotWireCrewMemory("crew-tools", save_task_results=False)
    llm = ScriptedLLM(
        model="scripted",
        replies=[
            tool_call("save_to_memory", '{"contents": ["The staging server is ares-2"]}'),
            tool_call("search_memory", '{"queries": ["staging server"]}'),
            answer_with_observation,
        ],
    )
    agent = Agent(role="Ops", goal="Keep track", backstory="Careful.", llm=llm)
    task = Task(description="Note the staging server.", expected_output="ok", agent=agent)
    result = Crew(agents=[agent], tasks=[task], memory=memory).kickoff()
    assert [r.content for r in memory.list_records()] == ["The staging server is ares-2"]
    assert "The staging server is ares-2" in result.raw


def test_two_processes_share_one_storage(in_world: dict[str, Any]) -> None:
    assert "parent saw: ['parent record']" in in_world["output"]
    storage = BotWireStorage("shared-storage")
    assert storage.list_scopes("/team") == ["/team/child"]
    assert [r.id for r, _ in storage.search([0.0, 1.0], min_score=0.5)] == [
        "child-0",
        "child-1",
        "child-2",
    ]
    assert storage.count() == 4


def test_no_file_written_outside_configured_locations(world: dict[str, Any]) -> None:
    created = world["created"]
    crewai_key = world["home"] / ".local/share/crewai/credentials"
    allowed = (world["botwire-home"], world["crewai-storage"], crewai_key)
    outside = [p for p in created if not any(p.is_relative_to(a) for a in allowed)]
    assert outside == []
    assert (world["botwire-home"] / "memory.db").is_file()
    assert not (world["crewai-storage"] / "memory").exists()  # no LanceDB folder
    assert not any(world["cwd"].iterdir())
