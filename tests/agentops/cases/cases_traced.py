"""``traced(Memory)``: one AgentOps span per operation, metadata only."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import agentops
import pytest
from opentelemetry.trace import StatusCode

import botwire
from botwire import Memory
from botwire.agentops import traced

from .conftest import Spans

SECRET = "s3cr3t-value-9f1c"

# Every public operation, as (span op name, call on a traced memory). Each runs on
# a memory holding "a" (a string), "n" (a number) and "l" (a list).
OPERATIONS: list[tuple[str, Callable[[Any], Any]]] = [
    ("get", lambda m: m.get("a")),
    ("get_item", lambda m: m.get_item("a")),
    ("set", lambda m: m.set("a", SECRET)),
    ("delete", lambda m: m.delete("a")),
    ("contains", lambda m: "a" in m),
    ("list_keys", lambda m: m.list_keys(prefix="")),
    ("keys", lambda m: m.keys()),
    ("append", lambda m: m.append("l", SECRET)),
    ("get_list", lambda m: m.get_list("l", last=1)),
    ("update", lambda m: m.update("n", lambda n: n + 1)),
    ("get_many", lambda m: m.get_many(["a", "n"])),
    ("set_many", lambda m: m.set_many({"b": SECRET, "c": [SECRET]})),
    ("delete_many", lambda m: m.delete_many(["a", "missing"])),
    ("batch", lambda m: m.batch([botwire.GetOp("a"), botwire.DeleteOp("n")])),
]


def _fill(memory: Memory) -> None:
    memory.set("a", SECRET)
    memory.set("n", 41)
    memory.append("l", SECRET, {"secret": SECRET})


@pytest.mark.parametrize(("op", "call"), OPERATIONS, ids=[op for op, _ in OPERATIONS])
def test_every_operation_opens_one_agentops_span(
    plain: Memory, spans: Spans, op: str, call: Callable[[Any], Any]
) -> None:
    _fill(plain)
    memory = traced(plain)
    spans.clear()

    call(memory)

    [span] = spans.all()
    assert span.name == f"botwire.{op}.tool"
    attrs = dict(span.attributes or {})
    assert attrs["agentops.span.kind"] == "tool"
    assert attrs["operation.name"] == f"botwire.{op}"
    assert attrs["botwire.namespace"] == "prefs"
    assert attrs["botwire.store"] == "sqlite"
    assert span.status.status_code is StatusCode.UNSET


def test_the_traced_memory_is_the_same_memory(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)

    assert isinstance(memory, Memory)
    assert memory.namespace == plain.namespace
    memory.set("user-42:style", "concise")
    assert plain.get("user-42:style") == "concise"  # one store, seen from both
    plain.set("user-42:language", "fr")
    assert memory.get_many(["user-42:style", "user-42:language"]) == {
        "user-42:style": "concise",
        "user-42:language": "fr",
    }
    with memory as same:
        assert same is memory


def test_the_traced_methods_keep_their_signatures(plain: Memory) -> None:
    memory = traced(plain)
    for name in ("get", "set", "append", "update", "list_keys", "get_many", "batch"):
        assert inspect.signature(getattr(memory, name)) == inspect.signature(getattr(plain, name))
        assert getattr(memory, name).__doc__ == getattr(plain, name).__doc__


def test_same_results_and_exceptions_as_untraced(plain: Memory, spans: Spans, db_url: str) -> None:
    memory = traced(plain)
    with Memory("prefs-twin", db_url) as twin:
        for target in (memory, twin):
            _fill(target)
        for op, call in OPERATIONS:
            got, want = call(memory), call(twin)
            if op == "get_item":
                got, want = (got.value, got.version), (want.value, want.version)
            if op == "batch":
                got, want = len(got), len(want)
            assert got == want, op
        for target in (memory, twin):
            target.set("n", 41)
        for bad in (
            lambda m: m.set("", 1),
            lambda m: m.set("k", {1, 2}),
            lambda m: m.append("n", 1),
            lambda m: m.set("n", 0, if_version=99),
            lambda m: m.get_many("not-a-list"),
        ):
            with pytest.raises(botwire.BotWireError) as traced_error:
                bad(memory)
            with pytest.raises(botwire.BotWireError) as plain_error:
                bad(twin)
            assert type(traced_error.value) is type(plain_error.value)
            assert str(traced_error.value) == str(plain_error.value).replace("prefs-twin", "prefs")


def test_spans_nest_inside_an_agentops_trace(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)

    with agentops.start_trace("support-chat") as trace_context:
        memory.set("user-42:style", "concise")
        memory.get("user-42:style")

    root = spans.one("support-chat.session")
    assert trace_context.span is not None
    children = spans.botwire()
    assert [s.name for s in children] == ["botwire.set.tool", "botwire.get.tool"]
    for child in children:
        assert child.parent is not None
        assert child.parent.span_id == root.context.span_id
        assert child.context.trace_id == root.context.trace_id


def test_get_records_hit_size_and_version(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)
    memory.set("style", "concise")
    memory.set("style", "detailed")
    spans.clear()

    assert memory.get("style") == "detailed"
    assert memory.get("nothing", "fallback") == "fallback"

    hit, miss = spans.botwire()
    assert dict(hit.attributes or {}) | {} == {
        "agentops.span.kind": "tool",
        "operation.name": "botwire.get",
        "botwire.namespace": "prefs",
        "botwire.store": "sqlite",
        "botwire.key": "style",
        "botwire.hit": True,
        "botwire.bytes": len('"detailed"'),
        "botwire.version": 2,
    }
    miss_attrs = dict(miss.attributes or {})
    assert miss_attrs["botwire.hit"] is False
    assert miss_attrs["botwire.key"] == "nothing"
    assert "botwire.bytes" not in miss_attrs and "botwire.version" not in miss_attrs


def test_writes_record_size_version_and_counts(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)

    memory.set("style", "concise", ttl=60)
    memory.set("style", "concise!", if_version=1)
    memory.append("history", "hi", "there")
    memory.set_many({"x": 1, "y": [1, 2]})
    memory.delete_many(["x", "y", "zz"])
    memory.delete("style")
    memory.delete("style")

    first, second = spans.named("botwire.set.tool")
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["botwire.version"] == 1
    assert first.attributes["botwire.bytes"] == len('"concise"')
    assert first.attributes["botwire.ttl"] == 60.0
    assert second.attributes["botwire.version"] == 2
    assert second.attributes["botwire.if_version"] == 1
    append = spans.attrs("botwire.append.tool")
    assert append["botwire.count"] == 2 and append["botwire.length"] == 2
    assert append["botwire.bytes"] == len('"hi"') + len('"there"')
    set_many = spans.attrs("botwire.set_many.tool")
    assert set_many["botwire.count"] == 2 and list(set_many["botwire.keys"]) == ["x", "y"]
    assert set_many["botwire.bytes"] == len("1") + len("[1,2]")
    delete_many = spans.attrs("botwire.delete_many.tool")
    assert delete_many["botwire.count"] == 2  # deleted, of three asked
    assert list(delete_many["botwire.keys"]) == ["x", "y", "zz"]
    existed, gone = spans.named("botwire.delete.tool")
    assert existed.attributes is not None and gone.attributes is not None
    assert existed.attributes["botwire.hit"] is True and gone.attributes["botwire.hit"] is False


def test_reads_record_counts(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)
    plain.set_many({"user-1:a": 1, "user-1:b": 2, "user-2:a": 3})
    plain.append("log", 1, 2, 3)

    assert memory.list_keys(prefix="user-1:", limit=5) == ["user-1:a", "user-1:b"]
    assert memory.get_many(["user-1:a", "user-2:a", "nope"]) == {"user-1:a": 1, "user-2:a": 3}
    assert memory.get_list("log", last=2) == [2, 3]
    assert "user-1:a" in memory and "nope" not in memory

    listing = spans.attrs("botwire.list_keys.tool")
    assert listing["botwire.count"] == 2
    assert listing["botwire.prefix"] == "user-1:" and listing["botwire.limit"] == 5
    many = spans.attrs("botwire.get_many.tool")
    assert many["botwire.count"] == 2  # found, of three asked
    assert list(many["botwire.keys"]) == ["user-1:a", "user-2:a", "nope"]
    assert list(many["botwire.ops"]) == ["get"]
    tail = spans.attrs("botwire.get_list.tool")
    assert tail["botwire.count"] == 2 and tail["botwire.hit"] is True
    present, absent = spans.named("botwire.contains.tool")
    assert present.attributes is not None and absent.attributes is not None
    assert present.attributes["botwire.hit"] is True and absent.attributes["botwire.hit"] is False


def test_an_error_is_recorded_and_reraised_unchanged(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)
    memory.set("style", "concise")
    spans.clear()

    with pytest.raises(botwire.ConflictError) as caught:
        memory.set("style", "detailed", if_version=7)

    assert caught.value.key == "style" and caught.value.current_version == 1
    span = spans.one("botwire.set.tool")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is not None
    assert span.status.description.startswith("ConflictError: ")
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "ConflictError"
    assert attrs["botwire.error.code"] == "version_conflict"
    assert attrs["botwire.key"] == "style"
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"].endswith("ConflictError")


def test_a_validation_error_is_recorded(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)

    with pytest.raises(botwire.NotAListError):
        memory.set("style", "concise")
        memory.append("style", "more")
    with pytest.raises(botwire.ValidationError):
        memory.get("")

    append = spans.one("botwire.append.tool")
    assert append.status.status_code is StatusCode.ERROR
    assert dict(append.attributes or {})["botwire.error.code"] == "not_a_list"
    bad_key = spans.one("botwire.get.tool")
    assert bad_key.status.status_code is StatusCode.ERROR
    assert dict(bad_key.attributes or {})["error.type"] == "ValidationError"


def _everything_recorded(spans: Spans) -> str:
    parts = []
    for span in spans.all():
        parts.append(span.name)
        parts.append(json.dumps(dict(span.attributes or {}), default=str))
        parts.append(str(span.status.description))
        for event in span.events:
            parts.append(json.dumps(dict(event.attributes or {}), default=str))
    return "\n".join(parts)


def test_no_stored_value_is_recorded_by_default(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)
    _fill(memory)
    for _, call in OPERATIONS:
        call(memory)
    memory.set("a", SECRET)
    for failing in (
        lambda: memory.set("a", SECRET, if_version=99),
        lambda: memory.append("a", SECRET),
        lambda: memory.set("big", SECRET * 100_000),
        lambda: memory.update("a", lambda old: old + 1),
    ):
        with pytest.raises((botwire.BotWireError, TypeError)):
            failing()

    recorded = _everything_recorded(spans)
    assert len(spans.botwire()) >= len(OPERATIONS) + 4
    assert SECRET not in recorded
    assert "s3cr3t" not in recorded


def test_record_values_opts_in(plain: Memory, spans: Spans) -> None:
    memory = traced(plain, record_values=True)

    memory.set("style", {"tone": "concise"})
    memory.get("style")
    memory.append("log", "a", 1)
    memory.set_many({"x": "y"})

    assert json.loads(spans.attrs("botwire.set.tool")["botwire.value"]) == {"tone": "concise"}
    assert json.loads(spans.attrs("botwire.get.tool")["botwire.value"]) == {"tone": "concise"}
    assert json.loads(spans.attrs("botwire.append.tool")["botwire.value"]) == ["a", 1]
    assert json.loads(spans.attrs("botwire.set_many.tool")["botwire.value"]) == {"x": "y"}


def test_update_counts_the_conflicts_it_retried(plain: Memory, spans: Spans) -> None:
    memory = traced(plain)
    plain.set("visits", 1)
    interfered = []

    def bump(n: int) -> int:
        if not interfered:  # another writer gets in between the read and the write
            interfered.append(plain.set("visits", 10))
        return n + 1

    assert memory.update("visits", bump) == 11

    span = spans.one("botwire.update.tool")
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["botwire.conflicts"] == 1
    assert attrs["botwire.version"] == 3
    assert attrs["botwire.key"] == "visits"


def test_one_span_per_call_and_other_memories_nest(
    plain: Memory, spans: Spans, db_url: str
) -> None:
    memory = traced(plain)
    with Memory("counters", db_url) as other_plain:
        other = traced(other_plain)

        memory.keys()  # calls list_keys inside: still one span
        memory.update("total", lambda n: n + other.get("step", 1), default=0)

    assert [s.name for s in spans.all()] == [
        "botwire.keys.tool",
        "botwire.get.tool",
        "botwire.update.tool",
    ]
    update = spans.one("botwire.update.tool")
    inner = spans.one("botwire.get.tool")
    assert inner.parent is not None and inner.parent.span_id == update.context.span_id
    assert dict(inner.attributes or {})["botwire.namespace"] == "counters"


def test_a_client_built_over_the_traced_store_is_traced_too(plain: Memory, spans: Spans) -> None:
    """What the LangChain and AutoGen adapters do with a sync memory's store."""
    import asyncio

    memory = traced(plain)
    twin = botwire.AsyncMemory("prefs", store=botwire.ThreadedAsyncStore(memory.store))

    async def use() -> Any:
        await twin.set("style", "concise")
        return await twin.get("style")

    with agentops.start_trace("adapter"):
        assert asyncio.run(use()) == "concise"

    root = spans.one("adapter.session")
    write, read = spans.botwire()
    assert (write.name, read.name) == ("botwire.set.tool", "botwire.get.tool")
    assert dict(read.attributes or {})["botwire.hit"] is True
    assert read.parent is not None and read.parent.span_id == root.context.span_id


def test_subclass_overrides_still_run(db_url: str, spans: Spans) -> None:
    class Shouting(Memory):
        def get(self, key: str, default: Any = None) -> Any:
            value = super().get(key, default)
            return value.upper() if isinstance(value, str) else value

    with Shouting("prefs", db_url) as plain:
        memory = traced(plain)
        memory.set("style", "concise")

        assert isinstance(memory, Shouting)
        assert memory.get("style") == "CONCISE"
    assert spans.attrs("botwire.get.tool")["botwire.hit"] is True


def test_tracing_again_replaces_the_settings(plain: Memory, spans: Spans) -> None:
    loud = traced(plain, record_values=True)
    quiet = traced(loud)

    assert type(quiet) is type(loud)
    assert quiet.store.inner is plain.store  # not wrapped twice
    quiet.set("style", SECRET)
    loud.get("style")

    assert "botwire.value" not in spans.attrs("botwire.set.tool")
    assert spans.attrs("botwire.get.tool")["botwire.value"] == json.dumps(SECRET)
