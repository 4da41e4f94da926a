"""BotWireChatMessageHistory with real LangChain chains, fake models and processes."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import textwrap
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    messages_to_dict,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

import botwire
from botwire.langchain import BotWireChatHistory, BotWireChatMessageHistory, session_key

# RunnableWithMessageHistory warns on construction (deprecated in langchain-core 1.x
# in favour of LangGraph persistence) but is what existing chat-history users run.
RWMH_DEPRECATED = pytest.mark.filterwarnings(
    "ignore:RunnableWithMessageHistory is deprecated"
    ":langchain_core._api.deprecation.LangChainDeprecationWarning"
)

ALL_KINDS: list[BaseMessage] = [
    SystemMessage("You are terse.", id="s-1"),
    HumanMessage("Hi, I'm Ada", name="ada", id="h-1"),
    AIMessage(
        "",
        tool_calls=[{"name": "lookup", "args": {"q": "Ada", "n": [1, 2]}, "id": "call-1"}],
        usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
        additional_kwargs={"refusal": None, "extra": {"nested": True}},
        response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
        id="a-1",
    ),
    ToolMessage("found", tool_call_id="call-1", artifact={"rows": [1, 2]}, name="lookup"),
    FunctionMessage("legacy", name="fn"),
    AIMessageChunk("partial", id="c-1"),
    HumanMessage([{"type": "text", "text": "multi-part"}, {"type": "text", "text": "é ✓"}]),
]


def history(memory: Any, session_id: str = "s", **kw: Any) -> BotWireChatMessageHistory:
    return BotWireChatMessageHistory(session_id, memory=memory, **kw)


def test_every_message_type_and_field_round_trips(memory: botwire.Memory) -> None:
    h = history(memory)
    h.add_messages(ALL_KINDS)
    assert h.messages == ALL_KINDS
    assert [type(m) for m in history(memory).messages] == [type(m) for m in ALL_KINDS]
    assert h.messages[2].tool_calls[0]["args"] == {"q": "Ada", "n": [1, 2]}
    assert h.messages[3].artifact == {"rows": [1, 2]}


def test_a_turn_is_one_append_of_dict_items(memory: botwire.Memory) -> None:
    h = history(memory, "turns")
    h.add_messages([HumanMessage("a"), AIMessage("b")])
    h.add_user_message("c")  # routed through add_messages
    stored = memory.get_list("turns")
    assert stored == messages_to_dict([HumanMessage("a"), AIMessage("b"), HumanMessage("c")])
    assert memory.get_item("turns").version == 2  # two writes for two turns


def test_window_returns_the_newest_messages_in_order(memory: botwire.Memory) -> None:
    h = history(memory, "long")
    for i in range(30):
        h.add_messages([HumanMessage(f"q{i}"), AIMessage(f"a{i}")])
    assert [m.content for m in history(memory, "long", window=5).messages] == [
        "a27",
        "q28",
        "a28",
        "q29",
        "a29",
    ]
    assert [m.content for m in h.get_messages(last=3)] == ["a28", "q29", "a29"]
    assert len(h.messages) == 60
    assert len(history(memory, "long", window=1000).messages) == 60


async def test_async_window_and_clear(amemory: botwire.AsyncMemory) -> None:
    h = history(amemory, "w", window=2)
    await h.aadd_messages([HumanMessage("1"), AIMessage("2"), HumanMessage("3")])
    assert [m.content for m in await h.aget_messages()] == ["2", "3"]
    await h.aclear()
    assert await h.aget_messages() == []


def test_missing_and_cleared_sessions_are_empty(memory: botwire.Memory) -> None:
    h = history(memory, "never")
    assert h.messages == []
    h.add_messages([])  # nothing to write, no empty list created
    assert "never" not in memory
    h.add_user_message("x")
    h.clear()
    assert h.messages == []
    h.clear()  # clearing twice is fine


@pytest.mark.parametrize(
    "session_id",
    ["user-42", "", "a/b?c#d", "ünïcödé 会话", "line\nbreak\t", "x" * 2000, "~tilde", "\x00"],
)
def test_any_string_is_a_session_id(memory: botwire.Memory, session_id: str) -> None:
    history(memory, session_id).add_user_message(f"for {session_id!r}")
    history(memory, "other").add_user_message("other")
    assert [m.content for m in history(memory, session_id).messages] == [f"for {session_id!r}"]


def test_session_keys_are_readable_when_possible_and_never_collide() -> None:
    assert session_key("user-42") == "user-42"  # the original SDK's key
    hashed = session_key("~sha256:" + "0" * 64)
    assert hashed != "~sha256:" + "0" * 64 and hashed.startswith("~sha256:")
    ids = ["", "~", "~~", "a\n", "a\r", "x" * 600, "x" * 601]
    assert len({session_key(i) for i in ids}) == len(ids)


def test_bad_arguments_say_what_to_fix(memory: botwire.Memory) -> None:
    with pytest.raises(botwire.ValidationError, match="session_id must be a string"):
        BotWireChatMessageHistory(42, memory=memory)  # type: ignore[arg-type]
    with pytest.raises(botwire.ValidationError, match="window must be a positive"):
        history(memory, window=0)
    with pytest.raises(botwire.ValidationError, match="takes a botwire.Memory"):
        BotWireChatMessageHistory("s", memory={})  # type: ignore[arg-type]
    with pytest.raises(botwire.ValidationError, match="invalid namespace"):
        BotWireChatMessageHistory("s", namespace="has space")
    with pytest.raises(botwire.ValidationError, match="BaseMessage"):
        history(memory).add_messages(["plain string"])  # type: ignore[list-item]
    with pytest.raises(botwire.ValidationError, match="use add_message"):
        history(memory).add_messages(HumanMessage("x"))  # type: ignore[arg-type]


def test_a_non_history_value_is_reported(memory: botwire.Memory) -> None:
    memory.set("taken", {"not": "a history"})
    with pytest.raises(botwire.NotAListError, match="not a chat history"):
        _ = history(memory, "taken").messages
    with pytest.raises(botwire.NotAListError):
        history(memory, "taken").add_user_message("x")


def test_sessions_written_by_the_original_sdk_are_read_and_upgraded(
    memory: botwire.Memory,
) -> None:
    # The original SDK stored json.dumps(messages_to_dict(...)) as a *string* value.
    old = [HumanMessage("old question"), AIMessage("old answer")]
    memory.set("user-42", json.dumps(messages_to_dict(old)))
    h = BotWireChatHistory("user-42", memory=memory)
    assert h.messages == old
    assert history(memory, "user-42", window=1).messages == old[-1:]
    h.add_user_message("new question")
    assert [m.content for m in h.messages] == ["old question", "old answer", "new question"]
    assert isinstance(memory.get("user-42"), list)  # now a real list: appends are O(1)


def test_the_default_store_and_namespace(tmp_path: Any) -> None:
    h = BotWireChatMessageHistory("default-place")  # BOTWIRE_HOME points at a temp dir
    try:
        h.add_user_message("hello")
        assert h.namespace == "langchain-sessions"
        with botwire.Memory("langchain-sessions") as memory:
            assert len(memory.get_list("default-place")) == 1
    finally:
        h.close()


def test_the_alias_is_the_class() -> None:
    assert BotWireChatHistory is BotWireChatMessageHistory
    assert issubclass(BotWireChatMessageHistory, BaseChatMessageHistory)


async def test_either_client_serves_both_sync_and_async_calls(
    memory: botwire.Memory, amemory: botwire.AsyncMemory, url: str
) -> None:
    on_sync = history(memory, "both")
    # url= is needed (and used) only when the AsyncMemory is natively async (HTTP, PG).
    on_async = history(amemory, "both", url=url)
    await on_sync.aadd_messages([HumanMessage("async call on a Memory")])
    on_async.add_messages([AIMessage("sync call on an AsyncMemory")])
    expected = ["async call on a Memory", "sync call on an AsyncMemory"]
    assert [m.content for m in on_async.messages] == expected
    assert [m.content for m in await on_sync.aget_messages()] == expected
    assert on_sync.namespace == on_async.namespace == memory.namespace
    on_async.close()


# -- async is native, not the base class's thread wrapper ------------------------------


async def test_async_methods_use_async_memory_not_the_sync_path(url: str, namespace: str) -> None:
    class AsyncOnlyStore:
        """Forwards to a threaded store but is opaque, so no sync twin can be derived."""

        def __init__(self) -> None:
            self._inner = botwire.ThreadedAsyncStore(botwire.open_store(url))
            self.kind = "http"

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    store = AsyncOnlyStore()
    amem = botwire.AsyncMemory(namespace, store=store)  # type: ignore[arg-type]
    h = history(amem, "native")
    await h.aadd_messages([HumanMessage("q"), AIMessage("a")])
    assert [m.content for m in await h.aget_messages()] == ["q", "a"]
    # The sync path cannot work here; the async one above never touched it.
    with pytest.raises(botwire.ValidationError, match="need url="):
        _ = h.messages
    # Given url=, the sync twin opens the same store.
    with_url = history(amem, "native", url=url)
    assert [m.content for m in with_url.messages] == ["q", "a"]
    with_url.close()
    await h.aclear()
    store._inner.sync.close()


# -- RunnableWithMessageHistory --------------------------------------------------------


def chat_chain(memory: Any, seen: list[list[str]], replies: list[str]) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{input}")]
    )

    def record(value: Any) -> Any:
        seen.append([m.content for m in value.to_messages()])
        return value

    model = GenericFakeChatModel(messages=iter(replies))
    return RunnableWithMessageHistory(
        prompt | RunnableLambda(record) | model,
        lambda session_id: BotWireChatMessageHistory(session_id, memory=memory),
        input_messages_key="input",
        history_messages_key="history",
    )


READER = textwrap.dedent(
    """
    import json, sys
    import botwire
    from botwire.langchain import BotWireChatMessageHistory
    memory = botwire.Memory(sys.argv[2], sys.argv[1])
    history = BotWireChatMessageHistory(sys.argv[3], memory=memory)
    print(json.dumps([[m.type, m.content] for m in history.messages]))
    """
)


def read_in_fresh_process(url: str, namespace: str, session_id: str) -> list[list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", READER, url, namespace, session_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: list[list[str]] = json.loads(out.stdout)
    return result


@RWMH_DEPRECATED
def test_runnable_with_message_history_remembers_across_calls_and_processes(
    memory: botwire.Memory, url: str, namespace: str
) -> None:
    seen: list[list[str]] = []
    chain = chat_chain(memory, seen, ["Hi Ada", "You are Ada"])
    cfg = {"configurable": {"session_id": "chat/1"}}
    assert chain.invoke({"input": "I'm Ada"}, config=cfg).content == "Hi Ada"
    assert chain.invoke({"input": "Who am I?"}, config=cfg).content == "You are Ada"
    assert seen[1] == ["Be brief.", "I'm Ada", "Hi Ada", "Who am I?"]
    assert read_in_fresh_process(url, namespace, "chat/1") == [
        ["human", "I'm Ada"],
        ["ai", "Hi Ada"],
        ["human", "Who am I?"],
        ["ai", "You are Ada"],
    ]
    assert memory.get_item("chat/1").version == 2  # one write per turn


@RWMH_DEPRECATED
async def test_runnable_with_message_history_ainvoke(
    amemory: botwire.AsyncMemory, url: str, namespace: str
) -> None:
    seen: list[list[str]] = []
    chain = chat_chain(amemory, seen, ["Hello Bo", "Bo"])
    cfg = {"configurable": {"session_id": "async-chat"}}
    await chain.ainvoke({"input": "I'm Bo"}, config=cfg)
    await chain.ainvoke({"input": "Name?"}, config=cfg)
    assert seen[1] == ["Be brief.", "I'm Bo", "Hello Bo", "Name?"]
    assert [c for _, c in read_in_fresh_process(url, namespace, "async-chat")] == [
        "I'm Bo",
        "Hello Bo",
        "Name?",
        "Bo",
    ]


@RWMH_DEPRECATED
def test_a_new_process_continues_the_conversation(
    memory: botwire.Memory, url: str, namespace: str
) -> None:
    chain = chat_chain(memory, [], ["Noted"])
    chain.invoke({"input": "My cat is Tom"}, config={"configurable": {"session_id": "cat"}})
    script = textwrap.dedent(
        """
        import json, sys, warnings
        warnings.simplefilter("ignore")
        import botwire
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
        from langchain_core.runnables.history import RunnableWithMessageHistory
        from botwire.langchain import BotWireChatMessageHistory
        memory = botwire.Memory(sys.argv[2], sys.argv[1])
        seen = []
        def capture(value):
            seen.append([m.content for m in value.to_messages()])
            return value
        prompt = ChatPromptTemplate.from_messages(
            [MessagesPlaceholder("history"), ("human", "{input}")])
        chain = RunnableWithMessageHistory(
            prompt | capture | GenericFakeChatModel(messages=iter(["Tom"])),
            lambda sid: BotWireChatMessageHistory(sid, memory=memory),
            input_messages_key="input", history_messages_key="history")
        chain.invoke({"input": "Cat's name?"}, config={"configurable": {"session_id": "cat"}})
        print(json.dumps(seen[0]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, url, namespace],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout) == ["My cat is Tom", "Noted", "Cat's name?"]
    assert [m.content for m in history(memory, "cat").messages] == [
        "My cat is Tom",
        "Noted",
        "Cat's name?",
        "Tom",
    ]


# -- concurrency -----------------------------------------------------------------------


def _writer(url: str, namespace: str, worker: int, turns: int, barrier: Any) -> None:
    """One of several processes adding turns to the same session."""
    with botwire.Memory(namespace, url) as memory:
        history = BotWireChatMessageHistory("shared", memory=memory)
        barrier.wait(timeout=60)
        for turn in range(turns):
            history.add_messages(
                [HumanMessage(f"{worker}:{turn}:q"), AIMessage(f"{worker}:{turn}:a")]
            )


def test_eight_processes_adding_to_one_session_lose_nothing(
    memory: botwire.Memory, url: str, namespace: str
) -> None:
    # A fork server imports LangChain once, so the processes start at once.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload(["botwire.langchain", __name__])
    workers, turns = 8, 25
    barrier = ctx.Barrier(workers)  # the race starts when every process is ready
    procs = [
        ctx.Process(target=_writer, args=(url, namespace, w, turns, barrier))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0] * workers
    contents = [m.content for m in history(memory, "shared").messages]
    assert len(contents) == workers * turns * 2
    expected = {f"{w}:{t}:{s}" for w in range(workers) for t in range(turns) for s in "qa"}
    assert set(contents) == expected
    # Each turn is atomic (its question is directly followed by its answer) and each
    # writer's turns keep their order.
    for q, a in zip(contents[::2], contents[1::2], strict=True):
        assert (q[:-1], q[-1], a[-1]) == (a[:-1], "q", "a")
    for w in range(workers):
        mine = [int(c.split(":")[1]) for c in contents[::2] if c.startswith(f"{w}:")]
        assert mine == list(range(turns))
