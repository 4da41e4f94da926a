"""The change feed (``watch``, ``last_seq``, ``wait_for``) through every door.

A change is recorded in the writing transaction: in commit order, a batch's changes
together, a rolled-back write never. Every test reads the feed through the public
client, sync and async.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from botwire import FEED_VALUE_MAX_BYTES, Change, ConflictError, SetOp, ValidationError

QUIET = 0.3  # seconds without a change that end a test's watch


@pytest.fixture
def feed(memory: Any) -> Any:
    """``memory``, through any door: every store has the change feed."""
    return memory


def watch(
    memory: Any,
    prefix: str = "",
    *,
    since: int | None = None,
    count: int = 0,
    quiet: float = QUIET,
) -> list[Change]:
    """Collect ``memory.watch(...)`` until it is quiet for ``quiet`` s (or ``count`` changes)."""
    target = getattr(memory, "_target", None)
    if target is None:
        got: list[Change] = []
        for change in memory.watch(prefix, since=since, timeout=quiet):
            got.append(change)
            if len(got) == count:
                break
        return got

    async def collect() -> list[Change]:
        got: list[Change] = []
        async for change in target.watch(prefix, since=since, timeout=quiet):
            got.append(change)
            if len(got) == count:
                break
        return got

    result: list[Change] = memory._run(collect())
    return result


def test_every_write_appears_in_commit_order(feed: Any) -> None:
    start = feed.last_seq()
    assert start == 0
    feed.set("a", {"x": 1})
    feed.set("a", "two")
    feed.append("log", 1, 2)
    feed.append("log", 3)
    feed.delete("a")
    changes = watch(feed, since=start)
    assert [(c.key, c.kind, c.version, c.value) for c in changes] == [
        ("a", "set", 1, {"x": 1}),
        ("a", "set", 2, "two"),
        ("log", "append", 1, [1, 2]),
        ("log", "append", 2, [3]),
        ("a", "delete", 2, None),
    ]
    seqs = [c.seq for c in changes]
    assert seqs == sorted(set(seqs)) and seqs[0] > start
    assert feed.last_seq() == seqs[-1]
    assert not any(c.value_omitted for c in changes)


def test_since_resumes_right_after_a_change(feed: Any) -> None:
    for i in range(5):
        feed.set(f"k{i}", i)
    everything = watch(feed, since=0)
    assert [c.value for c in everything] == [0, 1, 2, 3, 4]
    third = everything[2].seq
    assert [c.value for c in watch(feed, since=third)] == [3, 4]
    assert watch(feed, since=everything[-1].seq) == []


def test_prefix_filters_keys(feed: Any) -> None:
    start = feed.last_seq()
    feed.set("task:1", "a")
    feed.set("other", "b")
    feed.set("task:2", "c")
    assert [c.key for c in watch(feed, "task:", since=start)] == ["task:1", "task:2"]


def test_a_batch_appears_together_and_a_failed_one_never(feed: Any) -> None:
    start = feed.last_seq()
    feed.set_many({"x": 1, "y": 2, "z": 3})
    with pytest.raises(ConflictError):
        feed.batch([SetOp("x", "10"), SetOp("y", "20", if_version=7)])
    changes = watch(feed, since=start)
    assert [(c.key, c.value) for c in changes] == [("x", 1), ("y", 2), ("z", 3)]
    assert [c.seq for c in changes] == list(range(changes[0].seq, changes[0].seq + 3))


def test_a_large_value_is_omitted_with_a_flag(feed: Any) -> None:
    start = feed.last_seq()
    big = "x" * (FEED_VALUE_MAX_BYTES + 10)
    feed.set("big", big)
    (change,) = watch(feed, since=start)
    assert change.value_omitted and change.value is None and change.kind == "set"
    assert feed.get("big") == big


def test_an_expiry_appears_when_it_is_observed(feed: Any) -> None:
    start = feed.last_seq()
    feed.set("short", 1, ttl=0.05)
    time.sleep(0.1)
    feed.set("short", 2)
    changes = watch(feed, since=start)
    assert [(c.kind, c.version) for c in changes] == [("set", 1), ("expire", 1), ("set", 1)]


def test_watch_wakes_on_a_write_from_another_client(feed: Any, new_memory: Any) -> None:
    writer = _writer_for(feed, new_memory)
    start = feed.last_seq()
    timer = threading.Timer(0.2, lambda: writer.set("late", "hello"))
    timer.start()
    try:
        # count=1 returns at the change; the long quiet window only matters when a
        # loaded machine delays the writer past QUIET
        changes = watch(feed, since=start, count=1, quiet=10)
    finally:
        timer.join()
    assert [(c.key, c.value) for c in changes] == [("late", "hello")]


def test_wait_for_returns_a_present_value_at_once(feed: Any) -> None:
    feed.set("result:1", {"answer": 42})
    assert feed.wait_for("result:1", timeout=0) == {"answer": 42}


def test_wait_for_wakes_when_another_client_writes(feed: Any, new_memory: Any) -> None:
    writer = _writer_for(feed, new_memory)

    def work() -> None:
        time.sleep(0.2)
        writer.set("result:7", "draft")
        time.sleep(0.05)
        writer.set("result:7", "final")

    thread = threading.Thread(target=work)
    thread.start()
    try:
        started = time.monotonic()
        value = feed.wait_for("result:7", until=lambda v: v == "final", timeout=10)
        assert value == "final" and time.monotonic() - started < 5
    finally:
        thread.join()


def test_wait_for_times_out(feed: Any) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        feed.wait_for("never", timeout=0.2)
    assert time.monotonic() - started < 5


def test_wait_for_an_append_reads_the_whole_list(feed: Any, new_memory: Any) -> None:
    writer = _writer_for(feed, new_memory)
    feed.append("items", "a")
    timer = threading.Timer(0.1, lambda: writer.append("items", "b"))
    timer.start()
    try:
        assert feed.wait_for("items", until=lambda v: len(v) >= 2, timeout=10) == ["a", "b"]
    finally:
        timer.join()


def test_a_since_from_the_future_is_refused(feed: Any) -> None:
    feed.set("a", 1)
    with pytest.raises(ValidationError):
        watch(feed, since=feed.last_seq() + 100)


def _writer_for(feed: Any, new_memory: Any) -> Any:
    """A second client on ``feed``'s namespace and door (another connection)."""
    other = new_memory()
    target = getattr(other, "_target", other)
    target.namespace = feed.namespace
    return other
