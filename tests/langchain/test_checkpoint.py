"""BotWireSaver: LangGraph's checkpointer conformance suite on every door, through both
the async and the sync methods, plus what the suite does not check."""

from __future__ import annotations

import asyncio
import base64
import builtins
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langgraph")
pytest.importorskip("langgraph.checkpoint.conformance")

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.test_utils import (
    generate_checkpoint,
    generate_config,
    generate_metadata,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

import botwire
from botwire.langchain import BotWireSaver, _checkpoint
from botwire.langchain._checkpoint import DEFAULT_CACHE_BYTES, id_to_rid, rid_to_id

ERROR, INTERRUPT = "__error__", "__interrupt__"  # langgraph keeps these private


class SyncDriven(BotWireSaver):
    """Sends the suite's async calls to the sync methods, so the suite checks them too."""

    async def aget_tuple(self, config: Any) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(  # type: ignore[override]
        self, config: Any, *, filter: Any = None, before: Any = None, limit: Any = None
    ) -> AsyncIterator[CheckpointTuple]:
        found = await asyncio.to_thread(
            lambda: builtins.list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(self, *args: Any) -> Any:
        return await asyncio.to_thread(self.put, *args)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.to_thread(self.put_writes, *args, **kwargs)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(lambda: self.prune(thread_ids, strategy=strategy))


@pytest.mark.parametrize("immutable", [False, True], ids=["exact", "assume_immutable"])
@pytest.mark.parametrize("methods", ["async", "sync"])
async def test_conformance_suite_passes_in_full(url: str, methods: str, immutable: bool) -> None:
    from langgraph.checkpoint.conformance.report import ProgressCallbacks

    opened: list[Any] = []

    @checkpointer_test(name=f"BotWireSaver ({methods} methods, assume_immutable={immutable})")
    async def saver() -> AsyncIterator[BotWireSaver]:
        namespace = f"ck-{uuid.uuid4().hex[:12]}"
        if methods == "async":
            async with botwire.AsyncMemory(namespace, url) as amemory:
                yield BotWireSaver(amemory, assume_immutable=immutable)
        else:
            memory = botwire.Memory(namespace, url)
            opened.append(memory)
            yield SyncDriven(memory, assume_immutable=immutable)

    report = await validate(saver, progress=ProgressCallbacks.quiet())
    for memory in opened:
        memory.close()
    failures = [
        f"{name}: {failure}"
        for name, result in report.results.items()
        for failure in result.failures
    ]
    assert report.passed_all_base(), failures
    assert report.passed_all(), failures
    assert all(result.detected for result in report.results.values())
    assert sum(r.tests_passed for r in report.results.values()) >= 58 + 8 + 7 + 8


# -- what the suite does not check -----------------------------------------------------


@pytest.fixture
def saver(memory: botwire.Memory, request: pytest.FixtureRequest) -> BotWireSaver:
    """A saver on a fresh namespace (``assume_immutable`` when parametrised so)."""
    return BotWireSaver(memory, assume_immutable=getattr(request, "param", False))


BOTH_MODES = pytest.mark.parametrize(
    "saver", [False, True], ids=["exact", "assume_immutable"], indirect=True
)
"""Run a test with the default saver and with ``assume_immutable=True``."""
MODES = pytest.mark.parametrize("immutable", [False, True], ids=["exact", "assume_immutable"])


def put(
    saver: BotWireSaver,
    thread: str,
    values: dict[str, Any],
    parent: Any = None,
    keep: dict[str, Any] | None = None,
    **md: Any,
) -> Any:
    """Put a checkpoint with new ``values``; ``keep``: versions of unchanged channels."""
    config = generate_config(thread)
    if parent is not None:
        config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    versions = {ch: saver.get_next_version(None, None) for ch in values}
    checkpoint = generate_checkpoint(
        channel_values=values, channel_versions={**(keep or {}), **versions}
    )
    return saver.put(config, checkpoint, generate_metadata(**md), versions)


def versions_of(saver: BotWireSaver, config: Any) -> dict[str, Any]:
    tup = saver.get_tuple(config)
    assert tup is not None
    return dict(tup.checkpoint["channel_versions"])


def test_a_repeated_regular_write_does_not_replace_the_first(saver: BotWireSaver) -> None:
    stored = put(saver, "t", {"a": 1})
    saver.put_writes(stored, [("ch", "first"), ("other", 1)], "task-1")
    saver.put_writes(stored, [("ch", "second"), ("other", 2)], "task-1")
    saver.put_writes(stored, [(ERROR, "boom-1")], "task-1")
    saver.put_writes(stored, [(ERROR, "boom-2")], "task-1")  # special writes overwrite
    tup = saver.get_tuple(stored)
    assert tup is not None
    assert tup.pending_writes == [
        ("task-1", ERROR, "boom-2"),
        ("task-1", "ch", "first"),
        ("task-1", "other", 1),
    ]


async def test_a_repeated_regular_write_does_not_replace_the_first_async(
    amemory: botwire.AsyncMemory,
) -> None:
    saver = BotWireSaver(amemory)
    config = generate_config("t")
    stored = await saver.aput(config, generate_checkpoint(), generate_metadata(), {})
    await saver.aput_writes(stored, [("ch", "first")], "task-1")
    await saver.aput_writes(stored, [("ch", "second"), ("ch2", "x")], "task-1")
    await saver.aput_writes(stored, [(INTERRUPT, "why")], "task-0", "~path")
    tup = await saver.aget_tuple(stored)
    assert tup is not None
    assert tup.pending_writes == [
        ("task-1", "ch", "first"),
        ("task-1", "ch2", "x"),
        ("task-0", INTERRUPT, "why"),
    ]


def test_pending_writes_in_task_path_task_id_idx_order(saver: BotWireSaver) -> None:
    stored = put(saver, "t", {})
    saver.put_writes(stored, [("x", 1), ("y", 2)], "b", "0")
    saver.put_writes(stored, [("x", 3)], "a", "1")
    saver.put_writes(stored, [("x", 4)], "c", "0")
    tup = saver.get_tuple(stored)
    assert tup is not None and tup.pending_writes == [
        ("b", "x", 1),
        ("b", "y", 2),
        ("c", "x", 4),
        ("a", "x", 3),
    ]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_checkpoint_keys_sort_newest_first_and_decode(a: str, b: str) -> None:
    assert rid_to_id(id_to_rid(a)) == a
    if a != b:
        assert (id_to_rid(a) < id_to_rid(b)) == (a > b)


def test_list_is_newest_first_with_filter_before_and_limit(saver: BotWireSaver) -> None:
    configs = []
    parent = None
    for step in range(6):
        parent = put(saver, "t", {"n": step}, parent, step=step, kind="even" if step % 2 else "odd")
        configs.append(parent)
    put(saver, "other", {"n": 0})
    ids = [c["configurable"]["checkpoint_id"] for c in configs]
    listed = [t.checkpoint["id"] for t in saver.list(generate_config("t"))]
    assert listed == ids[::-1]
    assert [t.checkpoint["id"] for t in saver.list(generate_config("t"), limit=2)] == ids[:3:-1]
    assert [
        t.metadata["step"] for t in saver.list(generate_config("t"), filter={"kind": "even"})
    ] == [5, 3, 1]
    assert [t.checkpoint["id"] for t in saver.list(generate_config("t"), before=configs[3])] == [
        ids[2],
        ids[1],
        ids[0],
    ]
    everything = builtins.list(saver.list(None))
    assert len(everything) == 7
    assert [t.checkpoint["id"] for t in everything] == sorted(
        (t.checkpoint["id"] for t in everything), reverse=True
    )
    tup = saver.get_tuple(generate_config("t"))
    assert tup is not None and tup.checkpoint["channel_values"] == {"n": 5}
    assert tup.parent_config == configs[4]


def test_binary_serializer_output_is_stored_losslessly(saver: BotWireSaver) -> None:
    values = {
        "raw": bytes(range(256)),
        "messages": [HumanMessage("hi é \x00"), AIMessage("", tool_calls=[])],
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "id": uuid.UUID(int=7),
        "tags": {"a", "b"},
        "none": None,
        "big": 2**80,
        "pi": 3.14159,
        "nan": float("nan"),
        "long": "x" * 5000,
    }
    stored = put(saver, "t", values)
    tup = saver.get_tuple(stored)
    assert tup is not None
    loaded = tup.checkpoint["channel_values"]
    nan = loaded.pop("nan")
    assert nan != nan  # still NaN
    assert loaded == {k: v for k, v in values.items() if k != "nan"}


class CountingSerde(JsonPlusSerializer):
    def __init__(self) -> None:
        super().__init__()
        self.dumped = 0

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        self.dumped += 1
        return super().dumps_typed(obj)


def test_the_serializer_is_injectable(memory: botwire.Memory) -> None:
    serde = CountingSerde()
    saver = BotWireSaver(memory, serde=serde)
    values = {"a": [1, 2], "log": [None, b"x", "y", {"z": 1}]}  # a short list, a logged one
    stored = put(saver, "t", values)
    assert serde.dumped >= 7  # checkpoint, metadata, one value, four items
    tup = saver.get_tuple(stored)
    assert tup is not None and tup.checkpoint["channel_values"] == values


def test_next_versions_are_ordered_strings(saver: BotWireSaver) -> None:
    first = saver.get_next_version(None, None)
    second = saver.get_next_version(first, None)
    assert isinstance(first, str) and first < second
    assert second.startswith(f"{2:032}.")
    assert saver.get_next_version(5, None).startswith(f"{6:032}.")  # type: ignore[arg-type]


def test_channel_values_are_stored_once_per_version(saver: BotWireSaver) -> None:
    versions = {"big": saver.get_next_version(None, None)}
    parent = None
    for step in range(5):
        config = generate_config("t")
        if parent:
            config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
        new = {"step": saver.get_next_version(None, None)}
        checkpoint = generate_checkpoint(
            channel_values={"big": ["x"] * 100, "step": step},
            channel_versions={**versions, **new},
        )
        parent = saver.put(config, checkpoint, generate_metadata(step=step), new)
        if step == 0:
            saver.put(config, checkpoint, generate_metadata(step=step), versions)
    keys = saver._pair.sync.list_keys("t/t/")
    assert len([k for k in keys if "/b/" in k]) == 1  # "big" once; the int inline
    assert len([k for k in keys if "/c/" in k]) == 5  # the same checkpoint put twice
    for tup in saver.list(generate_config("t")):
        assert tup.checkpoint["channel_values"]["big"] == ["x"] * 100


def test_max_checkpoints_per_thread_keeps_the_newest(memory: botwire.Memory) -> None:
    saver = BotWireSaver(memory, max_checkpoints_per_thread=3)
    parent = None
    for step in range(10):
        parent = put(saver, "t", {"v": [step]}, parent, step=step, run_id=f"run-{step}")
        saver.put_writes(parent, [("w", step)], f"task-{step}")
    assert [t.metadata["step"] for t in saver.list(generate_config("t"))] == [9, 8, 7]
    keys = memory.list_keys("t/t/")
    assert len([k for k in keys if "/b/" in k]) == 3
    assert len([k for k in keys if "/c/" in k]) == 6  # 3 checkpoints, 3 pending writes
    assert len(memory.list_keys("r/")) == 3
    tup = saver.get_tuple(generate_config("t"))
    assert tup is not None and tup.checkpoint["channel_values"] == {"v": [9]}
    assert tup.pending_writes == [("task-9", "w", 9)]
    saver.delete_for_runs(["run-8"])
    assert [t.metadata["step"] for t in saver.list(generate_config("t"))] == [9, 7]
    with pytest.raises(botwire.ValidationError, match="max_checkpoints_per_thread"):
        BotWireSaver(memory, max_checkpoints_per_thread=0)


def test_prune_keeps_the_latest_and_the_values_it_uses(saver: BotWireSaver) -> None:
    parent = put(saver, "t", {"fixed": [1], "moving": [0]})
    for step in range(1, 4):
        keep = versions_of(saver, parent)
        parent = put(saver, "t", {"moving": [step]}, parent, keep)
    put(saver, "u", {"a": [1]})
    saver.prune(["t"])
    [only] = saver.list(generate_config("t"))
    assert only.checkpoint["id"] == parent["configurable"]["checkpoint_id"]
    assert only.checkpoint["channel_values"] == {"fixed": [1], "moving": [3]}
    assert len([k for k in saver._pair.sync.list_keys("t/t/") if "/b/" in k]) == 2
    saver.prune(["t", "u"], strategy="delete")
    assert saver._pair.sync.list_keys() == []
    with pytest.raises(ValueError, match="strategy"):
        saver.prune(["t"], strategy="nope")
    with pytest.raises(TypeError, match="list of thread ids"):
        saver.prune("t")


def test_thread_ttl_expires_idle_threads_and_writes_refresh_it(memory: botwire.Memory) -> None:
    saver = BotWireSaver(memory, thread_ttl=1.5)
    parent = put(saver, "busy", {"v": [1]})
    keep = versions_of(saver, parent)
    log = ["a", "b", "c"]
    start = time.monotonic()
    while time.monotonic() - start < 2.5:  # keeps writing for longer than the TTL
        log = [*log, f"item {len(log)}"]  # a list long enough for a log
        parent = put(saver, "busy", {"log": log}, parent, keep)
        time.sleep(0.1)
    put(saver, "idle", {"v": [1]})
    tup = saver.get_tuple(generate_config("busy"))
    assert tup is not None and tup.checkpoint["channel_values"] == {"v": [1], "log": log}
    assert len(memory.list_keys("t/busy/l/")) == 1  # refreshes kept appending to one log
    time.sleep(1.7)
    assert saver.get_tuple(generate_config("busy")) is None
    assert saver.get_tuple(generate_config("idle")) is None
    assert memory.list_keys() == []
    with pytest.raises(botwire.ValidationError, match="thread_ttl"):
        BotWireSaver(memory, thread_ttl=0)


def test_two_writers_on_one_thread_never_tear_a_checkpoint(url: str, namespace: str) -> None:
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            with botwire.Memory(namespace, url) as memory:
                saver = BotWireSaver(memory)
                for step in range(15):
                    latest = saver.get_tuple(generate_config("shared"))
                    versions = dict(latest.checkpoint["channel_versions"]) if latest else {}
                    count = latest.checkpoint["channel_values"]["log"] if latest else []
                    new = {"log": saver.get_next_version(versions.get("log"), None)}
                    checkpoint = generate_checkpoint(
                        channel_values={"log": [*count, f"{worker}:{step}"]},
                        channel_versions={**versions, **new},
                    )
                    config = latest.config if latest else generate_config("shared")
                    stored = saver.put(config, checkpoint, generate_metadata(step=step), new)
                    saver.put_writes(stored, [("done", worker)], f"task-{worker}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    with botwire.Memory(namespace, url) as memory:
        history = builtins.list(BotWireSaver(memory).list(generate_config("shared")))
    assert len(history) == 30
    for tup in history:  # each one complete: its own value, whole
        log = tup.checkpoint["channel_values"]["log"]
        assert log and len(log) == len(set(log))
        assert [w for _, _, w in tup.pending_writes or []] in ([0], [1], [0, 1], [1, 0], [])


def test_memory_must_be_a_botwire_client() -> None:
    with pytest.raises(botwire.ValidationError, match="memory="):
        BotWireSaver("not a memory")  # type: ignore[arg-type]


def test_list_stops_at_the_limit_without_reading_everything(saver: BotWireSaver) -> None:
    parent = None
    for _ in range(120):
        parent = put(saver, "t", {}, parent)
    calls: list[Any] = []
    memory = saver._pair.sync
    real = memory.batch

    def counting(ops: Any) -> Any:
        calls.append(len(ops))
        return real(ops)

    memory.batch = counting  # type: ignore[method-assign]
    assert len(builtins.list(saver.list(generate_config("t"), limit=3))) == 3
    assert sum(calls) < 10


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_stored_layout_is_readable(saver: BotWireSaver) -> None:
    stored = put(saver, "a/b", {"msg": ["hi"], "flag": True}, run_id="r1")
    saver.put_writes(stored, [("x", b"\x00\xff")], "task/1")
    rid = id_to_rid(stored["configurable"]["checkpoint_id"])
    keys = saver._pair.sync.list_keys()
    assert f"t/a%2Fb/c//{rid}" in keys
    assert f"t/a%2Fb/c//{rid}/task%2F1/0" in keys
    assert f"r/r1/a%2Fb//{rid}" in keys
    doc = saver._pair.sync.get(f"t/a%2Fb/c//{rid}")
    assert doc["vals"] == {"flag": True} and len(doc["blobs"]) == 1
    write = saver._pair.sync.get(f"t/a%2Fb/c//{rid}/task%2F1/0")
    assert write["v"] == ["bytes", _b64(b"\x00\xff")]


# -- list values: an append-only log per channel ---------------------------------------


def grow(saver: BotWireSaver, thread: str, items: list[Any], parent: Any = None) -> Any:
    """Put a checkpoint whose "messages" channel holds ``items`` (a new version)."""
    keep = versions_of(saver, parent) if parent is not None else {}
    keep.pop("messages", None)
    return put(saver, thread, {"messages": items}, parent, keep)


def messages_at(saver: BotWireSaver, config: Any) -> list[Any]:
    tup = saver.get_tuple(config)
    assert tup is not None
    return list(tup.checkpoint["channel_values"]["messages"])


@BOTH_MODES
def test_a_growing_list_is_stored_once_and_every_checkpoint_reads_its_own(
    saver: BotWireSaver,
) -> None:
    items: list[Any] = []
    configs = []
    parent = None
    for step in range(20):
        items = [*items, HumanMessage(f"message {step}", id=str(step))]
        parent = grow(saver, "t", items, parent)
        configs.append(parent)
    memory = saver._pair.sync
    logs = memory.list_keys("t/t/l/")
    assert len(logs) == 1  # one log, each message in it once
    assert len(memory.get(logs[0])) == 20
    for step, config in enumerate(configs):
        assert messages_at(saver, config) == items[: step + 1]
    assert messages_at(saver, generate_config("t")) == items

    # A fork from an older checkpoint with another value starts a second log.
    fork = grow(saver, "t", [*items[:10], AIMessage("another answer", id="x")], configs[9])
    assert len(memory.list_keys("t/t/l/")) == 2
    assert [m.content for m in messages_at(saver, fork)][-2:] == ["message 9", "another answer"]
    assert messages_at(saver, configs[-1]) == items
    # Pruning to the latest checkpoint drops the log only the old branch used.
    saver.prune(["t"])
    assert len(memory.list_keys("t/t/l/")) == 1
    assert messages_at(saver, generate_config("t"))[-1].content == "another answer"
    nxt = grow(saver, "t", [*messages_at(saver, fork), HumanMessage("more", id="y")], fork)
    assert [m.content for m in messages_at(saver, nxt)][-3:] == [
        "message 9",
        "another answer",
        "more",
    ]


@MODES
def test_two_savers_on_one_log_never_interleave_items(
    url: str, namespace: str, immutable: bool
) -> None:
    with botwire.Memory(namespace, url) as one, botwire.Memory(namespace, url) as two:
        first = BotWireSaver(one, assume_immutable=immutable)
        second = BotWireSaver(two, assume_immutable=immutable)
        base = [HumanMessage(f"m{i}", id=f"m{i}") for i in range(5)]
        start = grow(first, "t", base)
        a = grow(first, "t", [*base, AIMessage("from first", id="a")], start)
        b = grow(second, "t", [*base, AIMessage("from second", id="b")], start)
        a2 = grow(first, "t", [*messages_at(first, a), HumanMessage("again", id="c")], a)
        assert [m.content for m in messages_at(second, a2)][-2:] == ["from first", "again"]
        assert messages_at(first, b)[-1].content == "from second"
        assert messages_at(second, start) == base


@BOTH_MODES
def test_a_deleted_thread_starts_a_new_log(saver: BotWireSaver) -> None:
    items = [HumanMessage(f"m{i}", id=f"m{i}") for i in range(6)]
    grow(saver, "t", items)
    saver.delete_thread("t")
    again = grow(saver, "t", items[:5])  # the saver's cached head is stale now
    assert messages_at(saver, again) == items[:5]
    saver.copy_thread("t", "copy")
    later = grow(saver, "copy", [*items[:5], HumanMessage("new", id="n")], again)
    assert [m.content for m in messages_at(saver, later)] == ["m0", "m1", "m2", "m3", "m4", "new"]


@MODES
def test_trimming_keeps_the_log_the_kept_checkpoints_use(
    memory: botwire.Memory, immutable: bool
) -> None:
    saver = BotWireSaver(memory, max_checkpoints_per_thread=2, assume_immutable=immutable)
    items: list[Any] = []
    parent = None
    for step in range(8):
        items = [*items, f"item {step}" * 50]
        parent = grow(saver, "t", items, parent)
    history = builtins.list(saver.list(generate_config("t")))
    assert [len(t.checkpoint["channel_values"]["messages"]) for t in history] == [8, 7]
    assert len(memory.list_keys("t/t/l/")) == 1


def test_ids_too_long_for_a_key_are_refused_with_a_sentence(saver: BotWireSaver) -> None:
    with pytest.raises(botwire.ValidationError, match="too long for a BotWire key"):
        put(saver, "t" * 600, {})
    assert saver.get_tuple(generate_config("t" * 600)) is None


def test_a_checkpoint_with_many_pending_writes_reads_them_all(saver: BotWireSaver) -> None:
    older = put(saver, "t", {})
    latest = put(saver, "t", {}, older)
    saver.put_writes(older, [("old", 0)], "task")
    saver.put_writes(latest, [(f"ch{i}", i) for i in range(100)], "task")
    tup = saver.get_tuple(generate_config("t"))
    assert tup is not None and tup.config == latest
    assert [w[2] for w in tup.pending_writes or []] == list(range(100))
    tup = saver.get_tuple(older)
    assert tup is not None and tup.pending_writes == [("task", "old", 0)]


# -- the in-process cache of list items ------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def chat(n: int, prefix: str = "m") -> list[Any]:
    return [
        HumanMessage(f"{prefix}{i}", id=f"{prefix}{i}", additional_kwargs={"tags": ["a"]})
        for i in range(n)
    ]


@dataclass
class Note:
    text: str
    tags: list[str]


class LoadCounting(JsonPlusSerializer):
    def __init__(self) -> None:
        super().__init__()
        self.loaded = 0

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        self.loaded += 1
        return super().loads_typed(data)


@pytest.mark.parametrize("cache_bytes", [DEFAULT_CACHE_BYTES, 0])
def test_changing_what_a_read_returned_does_not_change_the_next_read(
    memory: botwire.Memory, cache_bytes: int
) -> None:
    saver = BotWireSaver(memory, cache_bytes=cache_bytes)
    items = [
        *chat(4),
        AIMessage("", id="ai", tool_calls=[{"name": "f", "args": {"q": [1]}, "id": "c1"}]),
    ]
    notes = [Note(f"n{i}", ["x"]) for i in range(4)]  # not a message: copied by the serializer
    config = put(saver, "t", {"messages": items, "notes": notes})
    expected = {"messages": chat(4), "notes": [Note(f"n{i}", ["x"]) for i in range(4)]}
    expected["messages"].append(items[-1].model_copy(deep=True))
    items[0].content = "changed by the caller after put"
    for _ in range(3):  # the first read fills the cache, the next ones are served from it
        for tup in [saver.get_tuple(config), *saver.list(generate_config("t"))]:
            assert tup is not None
            values = tup.checkpoint["channel_values"]
            assert values == expected
            got, got_notes = values["messages"], values["notes"]
            got[0].content = "changed"
            got[1].additional_kwargs["tags"].append("b")
            got[-1].tool_calls[0]["args"]["q"].append(2)
            got[2] = HumanMessage("replaced")
            got.append(HumanMessage("extra"))
            got_notes[0].tags.append("y")
            got_notes[1].text = "changed"


def test_a_cached_thread_reads_without_decoding_its_messages_again(memory: botwire.Memory) -> None:
    serde = LoadCounting()
    saver = BotWireSaver(memory, serde=serde)
    items = chat(50)
    config = grow(saver, "t", items)
    assert messages_at(saver, config) == items
    before = serde.loaded
    for _ in range(5):
        assert messages_at(saver, config) == items
    assert serde.loaded - before == 5 * 2  # the checkpoint and its metadata, not the messages
    # A new saver (another process) decodes them once, then has them too.
    other = BotWireSaver(memory, serde=serde)
    before = serde.loaded
    assert messages_at(other, config) == items
    assert messages_at(other, config) == items
    assert serde.loaded - before == 2 * 2 + 50  # plus the 50 messages, once


def other_process(url: str, namespace: str, action: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.langchain.test_checkpoint", url, namespace, action],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def act(url: str, namespace: str, action: str) -> None:
    """What :func:`other_process` runs, in the other process."""
    with botwire.Memory(namespace, url) as memory:
        saver = BotWireSaver(memory)
        latest = generate_config("t")
        tup = saver.get_tuple(latest)
        if action == "extend" and tup:  # two more messages, appended to the same log
            items = messages_at(saver, latest)
            grow(saver, "t", [*items, *chat(2, "other")], tup.config)
        elif action == "edit" and tup:  # the first message edited: a new log
            items = messages_at(saver, latest)
            items[0] = HumanMessage("edited", id=items[0].id)
            grow(saver, "t", items, tup.config)
        elif action == "recreate":
            saver.delete_thread("t")
            grow(saver, "t", chat(5, "fresh"))


@MODES
def test_another_process_writing_the_thread_is_seen_at_once(
    url: str, namespace: str, immutable: bool
) -> None:
    with botwire.Memory(namespace, url) as memory:
        saver = BotWireSaver(memory, assume_immutable=immutable)
        first = grow(saver, "t", chat(8))
        assert messages_at(saver, first) == chat(8)  # cached now

        other_process(url, namespace, "extend")
        assert len(memory.list_keys("t/t/l/")) == 1  # the other process appended to the log
        seen = messages_at(saver, generate_config("t"))
        assert seen == [*chat(8), *chat(2, "other")]
        assert messages_at(saver, first) == chat(8)
        # This process goes on from there: its put appends to the same log.
        latest = generate_config("t")
        mine = [*seen, AIMessage("mine", id="mine")]
        config = grow(saver, "t", mine, saver.get_tuple(latest).config)  # type: ignore[union-attr]
        assert len(memory.list_keys("t/t/l/")) == 1
        assert messages_at(saver, config) == mine

        other_process(url, namespace, "edit")
        assert messages_at(saver, latest) == [HumanMessage("edited", id="m0"), *mine[1:]]
        assert messages_at(saver, config) == mine

        other_process(url, namespace, "recreate")
        assert messages_at(saver, generate_config("t")) == chat(5, "fresh")
        assert saver.get_tuple(first) is None


@BOTH_MODES
def test_deleted_pruned_and_copied_threads_are_read_from_the_store(saver: BotWireSaver) -> None:
    first = grow(saver, "t", chat(6))
    assert messages_at(saver, first) == chat(6)
    saver.delete_thread("t")
    assert saver.get_tuple(first) is None
    assert saver.get_tuple(generate_config("t")) is None
    again = grow(saver, "t", chat(4, "again"))
    assert messages_at(saver, again) == chat(4, "again")
    fork = grow(saver, "t", chat(5, "fork"), again)
    saver.prune(["t"])  # keeps the fork, drops the log only the first value used
    assert saver.get_tuple(again) is None
    assert messages_at(saver, generate_config("t")) == chat(5, "fork")
    assert messages_at(saver, fork) == chat(5, "fork")
    saver.copy_thread("t", "copy")
    assert messages_at(saver, generate_config("copy")) == chat(5, "fork")
    saver.delete_for_runs([])
    saver.prune(["copy"], strategy="delete")
    assert saver.get_tuple(generate_config("copy")) is None


def test_the_cache_is_bounded_in_bytes_and_logs(
    memory: botwire.Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_checkpoint, "_CACHE_LOGS", 3)
    saver = BotWireSaver(memory, cache_bytes=5_000)
    threads = {f"t{t}": [f"thread {t} item {i} " * 10 for i in range(10)] for t in range(6)}
    for thread, items in threads.items():
        assert messages_at(saver, grow(saver, thread, items)) == items
        assert 0 < saver._logs.size <= 5_000 and 0 < len(saver._logs) <= 3
    big = [f"big {i} " * 100 for i in range(20)]  # more than the whole cache
    assert messages_at(saver, grow(saver, "big", big)) == big
    assert saver._logs.size <= 5_000
    for thread, items in threads.items():
        assert messages_at(saver, generate_config(thread)) == items
    with pytest.raises(botwire.ValidationError, match="cache_bytes"):
        BotWireSaver(memory, cache_bytes=-1)


@BOTH_MODES
def test_one_saver_shared_by_threads_reads_and_writes_consistently(saver: BotWireSaver) -> None:
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            items: list[Any] = []
            config = None
            for step in range(12):
                items = [*items, HumanMessage(f"{worker}:{step}", id=f"{worker}:{step}")]
                config = grow(saver, f"w{worker}", items, config)
                assert messages_at(saver, config) == items
                other = saver.get_tuple(generate_config(f"w{(worker + 1) % 4}"))
                if other is not None:
                    got = [m.content for m in other.checkpoint["channel_values"]["messages"]]
                    assert got == [f"{(worker + 1) % 4}:{i}" for i in range(len(got))]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not errors


# -- assume_immutable: the caller promises never to change a value in place ------------


def test_assume_immutable_must_be_a_bool(memory: botwire.Memory) -> None:
    for bad in ("yes", 1, None):
        with pytest.raises(TypeError, match="assume_immutable must be True or False"):
            BotWireSaver(memory, assume_immutable=bad)  # type: ignore[arg-type]
    assert BotWireSaver(memory, assume_immutable=True).assume_immutable is True
    assert BotWireSaver(memory).assume_immutable is False


@MODES
def test_a_put_serializes_only_the_items_it_does_not_already_hold(
    memory: botwire.Memory, immutable: bool
) -> None:
    serde = CountingSerde()
    saver = BotWireSaver(memory, serde=serde, assume_immutable=immutable)
    items = chat(50)
    config = grow(saver, "t", items)
    before = serde.dumped
    items = [*items, AIMessage("new", id="new")]  # the same 50 objects, one more
    config = grow(saver, "t", items, config)
    # The checkpoint and its metadata, plus the new message or all 51 of them.
    assert serde.dumped - before == 2 + (1 if immutable else 51)
    # What a read hands out are the cached objects themselves (in a new list) with the
    # promise, private copies without it; and the next put of them serializes no more.
    read = messages_at(saver, config)
    assert read == items
    assert (read[0] is items[0]) is immutable
    twice = [saver.get_tuple(config) for _ in range(2)]
    lists = [t.checkpoint["channel_values"]["messages"] for t in twice if t is not None]
    assert len(lists) == 2 and lists[0] is not lists[1]  # a new list for every read
    before = serde.dumped
    grow(saver, "t", [*read, HumanMessage("more", id="more")], config)
    assert serde.dumped - before == 2 + (1 if immutable else 52)
    fresh = BotWireSaver(memory)  # what the store holds, read by another saver
    assert messages_at(fresh, generate_config("t")) == [*items, HumanMessage("more", id="more")]
    assert len(memory.list_keys("t/t/l/")) == 1  # one log, appended to


@MODES
def test_an_in_place_edit_of_an_old_message_is_stored_only_without_assume_immutable(
    memory: botwire.Memory, immutable: bool
) -> None:
    saver = BotWireSaver(memory, assume_immutable=immutable)
    items = chat(5)
    config = grow(saver, "t", items)
    items[1].content = "edited in place"  # what the assume_immutable promise rules out
    items = [*items, HumanMessage("m5", id="m5")]
    config = grow(saver, "t", items, config)
    stored = messages_at(BotWireSaver(memory), config)  # the store, as another process sees it
    assert [m.content for m in stored[2:]] == ["m2", "m3", "m4", "m5"]
    # Without the promise every item is compared: the edit is stored (in a new log).
    # With it, the object is taken as unchanged: the store keeps what it held.
    assert stored[1].content == ("m1" if immutable else "edited in place")
    assert len(memory.list_keys("t/t/l/")) == (1 if immutable else 2)


def test_a_replaced_old_item_is_stored_under_assume_immutable(memory: botwire.Memory) -> None:
    saver = BotWireSaver(memory, assume_immutable=True)
    config = grow(saver, "t", chat(6))
    got = messages_at(saver, config)
    # add_messages replaces a message by id with a new object: stored.
    replaced = [*got[:2], HumanMessage("replacement", id="m2"), *got[3:]]
    replaced.append(AIMessage("after", id="after"))
    config2 = grow(saver, "t", replaced, config)
    # An equal copy of an old item is compared byte for byte: the same log goes on.
    copied = [m.model_copy(deep=True) for m in replaced]
    config3 = grow(saver, "t", [*copied, HumanMessage("last", id="last")], config2)
    # A shorter list (messages removed) starts a new log too.
    config4 = grow(saver, "t", copied[3:], config3)
    other = BotWireSaver(memory)
    assert messages_at(other, config) == chat(6)
    assert messages_at(other, config2) == replaced
    assert [m.content for m in messages_at(other, config2)][2] == "replacement"
    assert messages_at(other, config3) == [*replaced, HumanMessage("last", id="last")]
    assert messages_at(other, config4) == replaced[3:]
    assert len(memory.list_keys("t/t/l/")) == 3  # the first value, the replacement, the cut
    for config_, want in [(config2, replaced), (config4, replaced[3:])]:
        assert messages_at(saver, config_) == want


def test_assume_immutable_goes_on_from_a_log_another_saver_extended(
    url: str, namespace: str
) -> None:
    with botwire.Memory(namespace, url) as one, botwire.Memory(namespace, url) as two:
        serde = CountingSerde()
        mine = BotWireSaver(one, serde=serde, assume_immutable=True)
        theirs = BotWireSaver(two, assume_immutable=True)
        config = grow(mine, "t", chat(8))
        latest = grow(theirs, "t", [*messages_at(theirs, config), *chat(2, "x")], config)
        # Mine's head is stale now; going on from the other saver's checkpoint appends
        # to the same log, serializing the new tail only (a stale head costs one retry).
        seen = messages_at(mine, latest)
        assert seen == [*chat(8), *chat(2, "x")]
        before = serde.dumped
        nxt = grow(mine, "t", [*seen, HumanMessage("next", id="next")], latest)
        assert serde.dumped - before < 2 + 11
        assert len(one.list_keys("t/t/l/")) == 1
        assert messages_at(theirs, nxt) == [*seen, HumanMessage("next", id="next")]
        # A put from an older checkpoint with the cached objects and another message,
        # while the log has moved on: a fork (a new log), never taken as an extension.
        fork = grow(theirs, "t", [*messages_at(theirs, config), AIMessage("f", id="f")], config)
        assert messages_at(mine, fork) == [*chat(8), AIMessage("f", id="f")]
        assert messages_at(mine, nxt) == [*seen, HumanMessage("next", id="next")]
        assert len(one.list_keys("t/t/l/")) == 2


if __name__ == "__main__":
    act(*sys.argv[1:4])
