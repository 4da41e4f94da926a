"""BotWireStore: LangGraph's store contract, checked against InMemoryStore, and used by
``create_agent`` and ``StateGraph`` across runs."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("langchain")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain.agents import create_agent
from langchain.tools import ToolRuntime
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore
from typing_extensions import TypedDict

import botwire
from botwire.langchain import BotWireStore
from botwire.langchain._store import item_key


@pytest.fixture
def store(memory: botwire.Memory) -> BotWireStore:
    return BotWireStore(memory=memory)


def snapshot(result: Any) -> Any:
    """Compare what LangGraph users read (timestamps differ between stores)."""
    if result is None:
        return None
    if isinstance(result, list):
        if result and isinstance(result[0], tuple):
            return result
        return sorted((i.namespace, i.key, repr(i.value)) for i in result)
    return (result.namespace, result.key, result.value)


# -- the same operations give the same answers as LangGraph's InMemoryStore -----------

SCRIPT: list[Any] = [
    PutOp(("docs",), "a", {"kind": "report", "score": 5, "meta": {"lang": "en"}}),
    PutOp(("docs", "2024"), "b", {"kind": "memo", "score": 2.5, "tags": ["x", "y"]}),
    PutOp(("docs", "2024", "q1"), "c", {"kind": "report", "score": 9}),
    PutOp(("users", "u/1"), "prefs", {"style": "concise"}),
    PutOp(("users", "u|2"), "prefs", {"style": "long"}),
    PutOp(("users", "u%3"), "ключ 1", {"style": None}),
    PutOp(("docs",), "a", {"kind": "report", "score": 6, "meta": {"lang": "fr"}}),
    GetOp(("docs",), "a"),
    GetOp(("docs",), "missing"),
    GetOp(("users", "u/1"), "prefs"),
    GetOp(("users", "u|2"), "prefs"),
    GetOp(("users", "u%3"), "ключ 1"),
    GetOp(("users",), "prefs"),
    SearchOp(("docs",)),
    SearchOp(("docs", "2024")),
    SearchOp(("doc",)),
    SearchOp((), limit=100),
    SearchOp(("docs",), filter={"kind": "report"}),
    SearchOp(("docs",), filter={"score": {"$gt": 5}}),
    SearchOp(("docs",), filter={"score": {"$gte": 2.5, "$lt": 9}}),
    SearchOp(("docs",), filter={"score": {"$ne": 9}, "kind": {"$eq": "report"}}),
    SearchOp(("docs",), filter={"meta": {"lang": "fr"}}),
    SearchOp(("docs",), filter={"tags": ["x", "y"]}),
    SearchOp(("users",), filter={"style": None}),
    SearchOp(("docs",), query="ignored without embeddings"),
    ListNamespacesOp(),
    ListNamespacesOp(max_depth=1),
    ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("docs",)),)),
    ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("2024",)),)),
    ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("*", "2024")),)),
    ListNamespacesOp(limit=2, offset=1),
    PutOp(("docs", "2024"), "b", None),
    GetOp(("docs", "2024"), "b"),
    SearchOp(("docs", "2024")),
    ListNamespacesOp(),
]


def run_reference(reference: InMemoryStore, op: Any) -> Any:
    result = reference.batch([op])[0]
    # InMemoryStore's get/search of an unknown namespace leaves an empty namespace
    # behind that list_namespaces then reports; a durable store has no such ghosts.
    for ns in [ns for ns, items in reference._data.items() if not items]:
        del reference._data[ns]
    return result


def test_every_operation_matches_in_memory_store(store: BotWireStore) -> None:
    reference = InMemoryStore()
    for op in SCRIPT:
        assert snapshot(store.batch([op])[0]) == snapshot(run_reference(reference, op)), op


async def test_abatch_matches_batch(store: BotWireStore, amemory: botwire.AsyncMemory) -> None:
    reference = InMemoryStore()
    astore = BotWireStore(memory=amemory)
    for op in SCRIPT:
        (result,) = await astore.abatch([op])
        assert snapshot(result) == snapshot(run_reference(reference, op)), op
    # One batch runs its operations in order: a get sees the put before it.
    results = await astore.abatch([PutOp(("b",), "k", {"v": 1}), GetOp(("b",), "k")])
    assert results[1].value == {"v": 1}
    # The async store wrote to the very namespace the sync one reads.
    assert store.get(("docs",), "a").value["score"] == 6


LABEL = st.text(alphabet="ab/|%.é\n ", min_size=1, max_size=4).filter(lambda s: "." not in s)
NAMESPACE = st.lists(LABEL, min_size=1, max_size=3).map(tuple)
KEY = st.text(alphabet="k/|%é\t", min_size=0, max_size=3)
VALUE = st.fixed_dictionaries({"n": st.integers(0, 3)})
OPS = st.lists(
    st.one_of(
        st.builds(lambda ns, k, v: PutOp(ns, k, v), NAMESPACE, KEY, st.none() | VALUE),
        st.builds(lambda ns, k: GetOp(ns, k), NAMESPACE, KEY),
        st.builds(
            lambda ns, f: SearchOp(ns, f, limit=100),
            st.lists(LABEL, max_size=2).map(tuple),
            st.none() | st.just({"n": {"$gte": 2}}),
        ),
        st.builds(lambda d: ListNamespacesOp(max_depth=d), st.none() | st.integers(1, 2)),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_any_labels_and_keys_behave_like_in_memory_store(url: str, ops: list[Any]) -> None:
    import uuid

    with botwire.Memory(f"h-{uuid.uuid4().hex[:10]}", url) as memory:
        store, reference = BotWireStore(memory=memory), InMemoryStore()
        for op in ops:
            if isinstance(op, PutOp) and op.namespace[0] == "langgraph":
                continue
            assert snapshot(store.batch([op])[0]) == snapshot(run_reference(reference, op)), op


def test_item_keys_keep_namespaces_apart() -> None:
    pairs = [
        (("a", "b"), "k"),
        (("a/b",), "k"),
        (("a",), "b/|k"),
        (("a|b",), "k"),
        (("a", "b|k"), ""),
        (("a%2Fb",), "k"),
        (("a\nb",), "k"),
    ]
    keys = [item_key(ns, k) for ns, k in pairs]
    assert len(set(keys)) == len(keys)
    assert item_key(("users", "u/1"), "prefs") == "users/u%2F1/|prefs"


# -- search: prefix + filter + recency, query ignored ----------------------------------


def test_search_returns_the_newest_first_and_pages(store: BotWireStore) -> None:
    for key in ["old", "mid", "new"]:
        store.put(("notes",), key, {"text": key})
        time.sleep(0.01)
    store.put(("notes",), "old", {"text": "old, edited"})  # an update makes it newest
    keys = [i.key for i in store.search(("notes",))]
    assert keys == ["old", "new", "mid"]
    assert [i.key for i in store.search(("notes",), limit=1, offset=1)] == ["new"]
    found = store.search(("notes",), query="anything")
    assert [i.key for i in found] == keys and {i.score for i in found} == {None}
    first = store.get(("notes",), "old")
    assert first.created_at < first.updated_at  # an update keeps the creation time


def test_dotted_filter_keys_reach_nested_fields(store: BotWireStore) -> None:
    # LangGraph's SQLite and PostgreSQL stores read "a.b" as a path; a key that
    # itself contains a dot still matches as it is
    store.put(("docs",), "ada", {"user": {"level": 3, "name": "Ada"}, "v.2": True})
    store.put(("docs",), "bob", {"user": {"level": 1}, "v": {"2": False}})

    def keys(**filter: Any) -> list[str]:
        return sorted(i.key for i in store.search(("docs",), filter=filter))

    assert keys(**{"user.level": 3}) == ["ada"]
    assert keys(**{"user.level": {"$gte": 1}}) == ["ada", "bob"]
    assert keys(**{"user.name": "Ada", "user.level": {"$lt": 5}}) == ["ada"]
    assert keys(**{"user.level.deeper": 3}) == []
    assert keys(**{"v.2": True}) == ["ada"]
    assert keys(**{"v.2": False}) == ["bob"]


def test_store_survives_a_new_store_object(memory: botwire.Memory, url: str) -> None:
    BotWireStore(memory=memory).put(("users", "42"), "profile", {"name": "Ada"})
    with botwire.Memory(memory.namespace, url) as other:
        again = BotWireStore(memory=other)
        assert again.get(("users", "42"), "profile").value == {"name": "Ada"}
        again.delete(("users", "42"), "profile")
    assert BotWireStore(memory=memory).get(("users", "42"), "profile") is None


# -- TTL -------------------------------------------------------------------------------


def test_ttl_in_minutes_expires_and_reads_refresh_it(store: BotWireStore) -> None:
    ttl = 1.0 / 60  # one second
    store.put(("s",), "short", {"v": 1}, ttl=ttl)
    store.put(("s",), "keep", {"v": 2})
    time.sleep(0.6)
    assert store.get(("s",), "short") is not None  # refreshes: another second from now
    time.sleep(0.6)
    assert store.get(("s",), "short", refresh_ttl=False) is not None  # alive thanks to refresh
    time.sleep(0.6)
    assert store.get(("s",), "short") is None
    assert [i.key for i in store.search(("s",))] == ["keep"]


def test_default_ttl_from_the_ttl_config(memory: botwire.Memory) -> None:
    store = BotWireStore(memory=memory, ttl={"default_ttl": 1.0 / 60, "refresh_on_read": False})
    store.put(("s",), "k", {"v": 1})
    item = memory.get_item(item_key(("s",), "k"))
    assert item is not None and item.expires_at is not None
    assert 0 < item.expires_at - time.time() <= 1.0
    with pytest.raises(botwire.ValidationError, match="positive number of minutes"):
        BotWireStore(memory=memory, ttl={"default_ttl": -1})


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        PutOp(("a.b",), "k", {"v": 1}),
        PutOp(("langgraph",), "k", {"v": 1}),
        PutOp(("ok",), "k", ["not", "a", "dict"]),  # type: ignore[arg-type]
        GetOp(("",), "k"),
    ],
)
async def test_a_bad_operation_fails_the_whole_batch_before_any_write(
    store: BotWireStore, bad: Any
) -> None:
    """Like the SQL stores: a batch is checked whole, so nothing before the bad op lands."""
    good = PutOp(("ok",), "first", {"v": 1})
    with pytest.raises((InvalidNamespaceError, botwire.ValidationError)):
        store.batch([good, bad])
    with pytest.raises((InvalidNamespaceError, botwire.ValidationError)):
        await store.abatch([good, bad])
    assert store.get(("ok",), "first") is None


def test_bad_input_says_what_to_fix(store: BotWireStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("langgraph",), "k", {"v": 1})])
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("",), "k")])
    with pytest.raises(botwire.ValidationError, match="must be a dict"):
        store.batch([PutOp(("a",), "k", ["not", "a", "dict"])])  # type: ignore[arg-type]
    with pytest.raises(botwire.ValidationError, match="too long"):
        store.put(("a",), "k" * 600, {"v": 1})
    with pytest.raises(botwire.ValidationError, match="not JSON-serializable"):
        store.put(("a",), "k", {"v": {1, 2}})
    with pytest.raises(botwire.ValidationError, match="unsupported filter operator"):
        store.put(("a",), "k", {"v": 1}) or store.search(("a",), filter={"v": {"$in": [1]}})


def test_values_the_store_did_not_write_are_skipped(
    store: BotWireStore, memory: botwire.Memory
) -> None:
    memory.set("a/|x", "not an item document")
    memory.set("unrelated", 1)
    store.put(("a",), "y", {"v": 1})
    assert [i.key for i in store.search(("a",))] == ["y"]
    assert store.list_namespaces() == [("a",)]


# -- LangGraph and LangChain agents ----------------------------------------------------


class ToolCallingFakeModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@tool
def save_fact(key: str, fact: str, runtime: ToolRuntime) -> str:
    """Save a fact about the user to long-term memory."""
    assert runtime.store is not None
    runtime.store.put(("facts", "user-1"), key, {"fact": fact})
    return f"Saved {key}."


@tool
def load_fact(key: str, runtime: ToolRuntime) -> str:
    """Read a fact about the user from long-term memory."""
    assert runtime.store is not None
    item = runtime.store.get(("facts", "user-1"), key)
    return "unknown" if item is None else item.value["fact"]


@tool
async def aload_fact(key: str, runtime: ToolRuntime) -> str:
    """Read a fact about the user from long-term memory (async)."""
    assert runtime.store is not None
    found = await runtime.store.asearch(("facts",), filter={"fact": "Ada"})
    return ",".join(i.key for i in found) or "none"


def test_create_agent_remembers_across_runs_and_store_objects(url: str, namespace: str) -> None:
    first = ToolCallingFakeModel(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[
                        {"name": "save_fact", "args": {"key": "name", "fact": "Ada"}, "id": "1"}
                    ],
                ),
                AIMessage("Saved your name."),
            ]
        )
    )
    with botwire.Memory(namespace, url) as memory:
        agent = create_agent(
            first,
            [save_fact, load_fact],
            store=BotWireStore(memory=memory),
            checkpointer=InMemorySaver(),
        )
        agent.invoke(
            {"messages": [{"role": "user", "content": "I'm Ada"}]},
            {"configurable": {"thread_id": "t1"}},
        )

    # A later run: new connection, new store object, new agent, new thread.
    second = ToolCallingFakeModel(
        messages=iter(
            [
                AIMessage(
                    "", tool_calls=[{"name": "load_fact", "args": {"key": "name"}, "id": "2"}]
                ),
                AIMessage("You are Ada."),
            ]
        )
    )
    with botwire.Memory(namespace, url) as memory:
        agent = create_agent(second, [save_fact, load_fact], store=BotWireStore(memory=memory))
        result = agent.invoke({"messages": [{"role": "user", "content": "Who am I?"}]})
    tool_output = [m.content for m in result["messages"] if isinstance(m, ToolMessage)]
    assert tool_output == ["Ada"]
    assert result["messages"][-1].content == "You are Ada."


async def test_create_agent_async_reads_through_abatch(
    amemory: botwire.AsyncMemory,
) -> None:
    await BotWireStore(memory=amemory).aput(("facts", "user-1"), "name", {"fact": "Ada"})
    model = ToolCallingFakeModel(
        messages=iter(
            [
                AIMessage("", tool_calls=[{"name": "aload_fact", "args": {"key": "x"}, "id": "3"}]),
                AIMessage("done"),
            ]
        )
    )
    agent = create_agent(model, [aload_fact], store=BotWireStore(memory=amemory))
    result = await agent.ainvoke({"messages": [{"role": "user", "content": "?"}]})
    assert [m.content for m in result["messages"] if isinstance(m, ToolMessage)] == ["name"]


class Visits(TypedDict):
    user: str
    visits: int


def count_visit(state: Visits, runtime: Runtime[None]) -> dict[str, int]:
    assert runtime.store is not None
    item = runtime.store.get(("visits",), state["user"])
    visits = (item.value["n"] if item else 0) + 1
    runtime.store.put(("visits",), state["user"], {"n": visits})
    return {"visits": visits}


def test_state_graph_compile_with_store(memory: botwire.Memory, url: str) -> None:
    builder = StateGraph(Visits)
    builder.add_node("count_visit", count_visit)
    builder.add_edge(START, "count_visit")
    for expected in (1, 2, 3):
        with botwire.Memory(memory.namespace, url) as fresh:  # a new run each time
            graph = builder.compile(store=BotWireStore(memory=fresh))
            assert graph.invoke({"user": "ada", "visits": 0})["visits"] == expected
    assert isinstance(BotWireStore(memory=memory), BaseStore)
