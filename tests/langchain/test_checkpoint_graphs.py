"""BotWireSaver under real graphs: an interrupted ``StateGraph`` resumed in another
process, and ``create_agent`` with BotWireStore and BotWireSaver, sync and async.

Run as a script, this module is the "other process"::

    python -m tests.langchain.test_checkpoint_graphs URL NAMESPACE THREAD start|resume sync|async
    python -m tests.langchain.test_checkpoint_graphs URL NAMESPACE THREAD history
"""

from __future__ import annotations

import asyncio
import json
import operator
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("langchain")

from langchain.agents import create_agent
from langchain.tools import ToolRuntime
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    RemoveMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

import botwire
from botwire.langchain import BotWireSaver, BotWireStore

ROOT = Path(__file__).resolve().parents[2]


class Review(TypedDict):
    topic: str
    approved: str
    log: Annotated[list[str], operator.add]


def draft(state: Review) -> dict[str, Any]:
    return {"log": [f"draft:{state['topic']}"]}


def review(state: Review) -> dict[str, Any]:
    answer = interrupt({"question": "publish?", "draft": state["log"][-1]})
    return {"approved": answer, "log": [f"review:{answer}"]}


def publish(state: Review) -> dict[str, Any]:
    return {"log": ["published" if state["approved"] == "yes" else "dropped"]}


def review_graph(saver: BotWireSaver) -> Any:
    builder = StateGraph(Review)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_node("publish", publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_edge("review", "publish")
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=saver)


def summary(graph: Any, config: Any, result: dict[str, Any]) -> dict[str, Any]:
    state = graph.get_state(config)
    return {
        "log": result.get("log"),
        "interrupts": [i.value for i in result.get("__interrupt__", [])],
        "next": list(state.next),
    }


async def asummary(graph: Any, config: Any, result: dict[str, Any]) -> dict[str, Any]:
    state = await graph.aget_state(config)
    history = [s async for s in graph.aget_state_history(config)]
    return {
        "log": result.get("log"),
        "interrupts": [i.value for i in result.get("__interrupt__", [])],
        "next": list(state.next),
        "history": len(history),
    }


def other_process(url: str, namespace: str, thread: str, step: str, mode: str) -> dict[str, Any]:
    config = {"configurable": {"thread_id": thread}}
    payload = {"topic": "saver", "approved": "", "log": []} if step == "start" else None
    command = Command(resume="yes") if step == "resume" else payload
    if mode == "sync":
        with botwire.Memory(namespace, url) as memory:
            graph = review_graph(BotWireSaver(memory))
            return summary(graph, config, graph.invoke(command, config))

    async def run() -> dict[str, Any]:
        async with botwire.AsyncMemory(namespace, url) as memory:
            graph = review_graph(BotWireSaver(memory))
            return await asummary(graph, config, await graph.ainvoke(command, config))

    return asyncio.run(run())


def in_another_process(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.langchain.test_checkpoint_graphs", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_interrupt_is_resumed_by_another_process(url: str, namespace: str, mode: str) -> None:
    started = in_another_process(url, namespace, "t-1", "start", mode)
    assert started["interrupts"] == [{"question": "publish?", "draft": "draft:saver"}]
    assert started["next"] == ["review"]

    resumed = in_another_process(url, namespace, "t-1", "resume", mode)
    assert resumed["log"] == ["draft:saver", "review:yes", "published"]
    assert resumed["next"] == []

    # And a third reader, here, sees the whole history of both processes.
    with botwire.Memory(namespace, url) as memory:
        graph = review_graph(BotWireSaver(memory))
        config = {"configurable": {"thread_id": "t-1"}}
        history = list(graph.get_state_history(config))
        assert [s.metadata["step"] for s in history] == [3, 2, 1, 0, -1]
        assert history[0].values["log"] == ["draft:saver", "review:yes", "published"]
        assert [tuple(s.next) for s in history] == [
            (),
            ("publish",),
            ("review",),
            ("draft",),
            ("__start__",),
        ]
        # Time travel: the checkpoint before the review is still complete.
        before_review = history[2]
        assert before_review.values["log"] == ["draft:saver"]
        assert before_review.tasks[0].name == "review"
        if mode == "async":
            assert resumed["history"] == 5


class ToolCallingFakeModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@tool
def remember(fact: str, runtime: ToolRuntime) -> str:
    """Save a fact about the user to long-term memory."""
    assert runtime.store is not None
    runtime.store.put(("facts",), "user", {"fact": fact})
    return "saved"


@tool
async def arecall(runtime: ToolRuntime) -> str:
    """Read the user's fact from long-term memory (async)."""
    assert runtime.store is not None
    item = await runtime.store.aget(("facts",), "user")
    return "unknown" if item is None else str(item.value["fact"])


def scripted(*replies: AIMessage) -> ToolCallingFakeModel:
    return ToolCallingFakeModel(messages=iter(replies))


def test_create_agent_with_botwire_store_and_saver(url: str, namespace: str) -> None:
    config = {"configurable": {"thread_id": "chat-1"}}
    with (
        botwire.Memory(f"{namespace}-store", url) as store_memory,
        botwire.Memory(f"{namespace}-threads", url) as thread_memory,
    ):
        agent = create_agent(
            scripted(
                AIMessage(
                    "", tool_calls=[{"name": "remember", "args": {"fact": "Ada"}, "id": "1"}]
                ),
                AIMessage("Noted, Ada."),
            ),
            [remember],
            store=BotWireStore(memory=store_memory),
            checkpointer=BotWireSaver(thread_memory),
        )
        agent.invoke({"messages": [HumanMessage("I'm Ada")]}, config)

    # A new process would do the same: new clients, new agent, same thread.
    with (
        botwire.Memory(f"{namespace}-store", url) as store_memory,
        botwire.Memory(f"{namespace}-threads", url) as thread_memory,
    ):
        agent = create_agent(
            scripted(AIMessage("You told me: Ada.")),
            [remember],
            store=BotWireStore(memory=store_memory),
            checkpointer=BotWireSaver(thread_memory),
        )
        result = agent.invoke({"messages": [HumanMessage("Who am I?")]}, config)
        contents = [m.content for m in result["messages"]]
        assert contents == ["I'm Ada", "", "saved", "Noted, Ada.", "Who am I?", "You told me: Ada."]
        assert BotWireStore(memory=store_memory).get(("facts",), "user").value == {"fact": "Ada"}


async def test_create_agent_async_with_botwire_store_and_saver(url: str, namespace: str) -> None:
    config = {"configurable": {"thread_id": "chat-2"}}
    async with (
        botwire.AsyncMemory(f"{namespace}-store", url) as store_memory,
        botwire.AsyncMemory(f"{namespace}-threads", url) as thread_memory,
    ):
        await BotWireStore(memory=store_memory).aput(("facts",), "user", {"fact": "Grace"})
        saver = BotWireSaver(thread_memory)
        agent = create_agent(
            scripted(
                AIMessage("", tool_calls=[{"name": "arecall", "args": {}, "id": "1"}]),
                AIMessage("You are Grace."),
            ),
            [arecall],
            store=BotWireStore(memory=store_memory),
            checkpointer=saver,
        )
        result = await agent.ainvoke({"messages": [HumanMessage("Who am I?")]}, config)
        assert [m.content for m in result["messages"] if isinstance(m, ToolMessage)] == ["Grace"]
        state = await agent.aget_state(config)
        assert [m.content for m in state.values["messages"]][-1] == "You are Grace."
        history = [s async for s in agent.aget_state_history(config)]
        assert len(history) >= 4
        await saver.adelete_thread("chat-2")
        assert await saver.aget_tuple(config) is None


def concat(state: list[int] | None, writes: list[list[int]]) -> list[int]:
    out = list(state or [])
    for write in writes:
        out.extend(write)
    return out


class Growing(TypedDict):
    items: Annotated[list[int], DeltaChannel(concat, snapshot_frequency=3)]


def grow(state: Growing) -> dict[str, Any]:
    return {"items": [len(state["items"])]}


def test_a_delta_channel_graph_reloads_and_is_never_trimmed(memory: botwire.Memory) -> None:
    builder = StateGraph(Growing)
    builder.add_node("grow", grow)
    builder.add_edge(START, "grow")
    config = {"configurable": {"thread_id": "delta"}}
    expected = InMemorySaver()
    for i in range(7):
        graph = builder.compile(checkpointer=BotWireSaver(memory, max_checkpoints_per_thread=2))
        got = graph.invoke({"items": [100 + i]}, config)
        want = builder.compile(checkpointer=expected).invoke({"items": [100 + i]}, config)
        assert got == want
    reloaded = builder.compile(checkpointer=BotWireSaver(memory)).get_state(config)
    assert reloaded.values == want
    assert len(list(BotWireSaver(memory).list(config))) == 21  # its history is its state
    with pytest.raises(NotImplementedError, match="DeltaChannel"):
        BotWireSaver(memory).prune(["delta"])


def test_the_durable_threads_docs_run_twice_on_one_store() -> None:
    import re

    page = (ROOT / "docs" / "langchain.md").read_text(encoding="utf-8")
    section = page[page.index("## Durable threads") :]
    snippets = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(snippets) >= 3
    for _ in range(2):  # the same embedded store both times (BOTWIRE_HOME)
        for code in snippets:
            exec(compile(code, "docs/langchain.md", "exec"), {"__name__": "__docs__"})


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def answer(state: Chat) -> dict[str, Any]:
    n = len(state["messages"])
    return {"messages": [AIMessage(f"{n} so far; you said {state['messages'][-1].content}")]}


def chat_graph(saver: Any) -> Any:
    builder = StateGraph(Chat)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    return builder.compile(checkpointer=saver)


def turns(count: int) -> list[Any]:
    """Each turn's input: a new message; at turn 10 an old message replaced by id, at
    turn 20 one removed (``add_messages`` builds a new list each time)."""
    out: list[Any] = []
    for turn in range(count):
        if turn == 10:
            out.append([HumanMessage("question 3, edited", id="h3")])
        elif turn == 20:
            out.append([RemoveMessage(id="h5"), HumanMessage(f"question {turn}", id=f"h{turn}")])
        else:
            out.append([HumanMessage(f"question {turn}", id=f"h{turn}")])
    return out


def rows(history: list[Any]) -> list[list[list[str]]]:
    """Checkpoints' messages as ``[type, content]`` (AI messages' ids are random)."""
    return [
        [[m.type, str(m.content)] for m in state.values.get("messages", [])] for state in history
    ]


def chat_history(url: str, namespace: str, thread: str) -> list[list[list[str]]]:
    """What the other process reads: the thread's whole history, with a default saver."""
    config = {"configurable": {"thread_id": thread}}
    with botwire.Memory(namespace, url) as memory:
        return rows(list(chat_graph(BotWireSaver(memory)).get_state_history(config)))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_long_chat_under_assume_immutable_round_trips_exactly(
    url: str, namespace: str, mode: str
) -> None:
    config = {"configurable": {"thread_id": "chat"}}
    inputs = turns(30)
    reference = chat_graph(InMemorySaver())
    want = [reference.invoke({"messages": i}, config)["messages"] for i in inputs]
    if mode == "sync":
        with botwire.Memory(namespace, url) as memory:
            graph = chat_graph(BotWireSaver(memory, assume_immutable=True))
            got = [graph.invoke({"messages": i}, config)["messages"] for i in inputs]
            history = rows(list(graph.get_state_history(config)))
    else:
        async with botwire.AsyncMemory(namespace, url) as amemory:
            graph = chat_graph(BotWireSaver(amemory, assume_immutable=True))
            got = [(await graph.ainvoke({"messages": i}, config))["messages"] for i in inputs]
            history = rows([s async for s in graph.aget_state_history(config)])
    for mine, theirs in zip(got, want, strict=True):
        assert [(m.type, m.content, m.id if m.type == "human" else None) for m in mine] == [
            (m.type, m.content, m.id if m.type == "human" else None) for m in theirs
        ]
    assert [m.content for m in got[-1]][:8] == [
        "question 0",
        "1 so far; you said question 0",
        "question 1",
        "3 so far; you said question 1",
        "question 2",
        "5 so far; you said question 2",
        "question 3, edited",
        "7 so far; you said question 3",
    ]
    assert "question 5" not in [m.content for m in got[-1]]
    assert history == rows(list(reference.get_state_history(config)))
    assert len(history) == 30 * 3
    # A new saver on the same store, and another process, read the same history.
    with botwire.Memory(namespace, url) as memory:
        fresh = chat_graph(BotWireSaver(memory))
        assert rows(list(fresh.get_state_history(config))) == history
    assert in_another_process(url, namespace, "chat", "history") == history


if __name__ == "__main__":
    if sys.argv[4:5] == ["history"]:
        print(json.dumps(chat_history(*sys.argv[1:4])))
    else:
        print(json.dumps(other_process(*sys.argv[1:6])))
