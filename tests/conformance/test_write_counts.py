"""Shared daily write counts (``WriteCounter``): the server's ``--writes-per-day``.

An optional capability, so only the stores that keep data in a database have it
(SQLite, PostgreSQL, sync and async); the HTTP doors are skipped. The count must be
exact however many threads (or processes, or servers) count at once.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from botwire import ValidationError

DAY = 20_000  # a UTC day number: int(unix_time // 86400)


@pytest.fixture
def counter(memory: Any) -> Any:
    """The store behind ``memory``, if it counts writes (else the test is skipped)."""
    store = memory.store
    if not hasattr(store, "count_writes"):
        assert store.kind == "http", f"the {store.kind} store should count writes"
        pytest.skip("an HTTP store has no shared write counter (its server keeps it)")
    return store


def test_counts_add_up_to_the_limit_and_no_further(memory: Any, counter: Any) -> None:
    ns = memory.namespace
    assert counter.writes_on(ns, DAY) == 0
    assert counter.count_writes(ns, 3, limit=5, day=DAY) == 3
    assert counter.count_writes(ns, 2, limit=5, day=DAY) == 5
    assert counter.count_writes(ns, 1, limit=5, day=DAY) is None  # refused: nothing counted
    assert counter.writes_on(ns, DAY) == 5
    assert counter.count_writes(ns, 0, limit=5, day=DAY) == 5
    assert counter.count_writes(ns, 2, limit=None, day=DAY) == 7  # no limit: always counted
    assert counter.count_writes(ns, 1, limit=7, day=DAY) is None
    assert counter.writes_on(ns, DAY) == 7


def test_a_refused_count_leaves_the_count_as_it_was(memory: Any, counter: Any) -> None:
    ns = memory.namespace
    assert counter.count_writes(ns, 6, limit=5, day=DAY) is None  # more than a whole day
    assert counter.writes_on(ns, DAY) == 0
    assert counter.count_writes(ns, 4, limit=5, day=DAY) == 4
    assert counter.count_writes(ns, 2, limit=5, day=DAY) is None  # a batch fits whole or not
    assert counter.count_writes(ns, 1, limit=5, day=DAY) == 5


def test_a_new_day_starts_from_zero(memory: Any, counter: Any) -> None:
    ns = memory.namespace
    assert counter.count_writes(ns, 5, limit=5, day=DAY) == 5
    assert counter.count_writes(ns, 1, limit=5, day=DAY) is None
    assert counter.count_writes(ns, 1, limit=5, day=DAY + 1) == 1
    assert counter.writes_on(ns, DAY) == 0  # the older day is gone
    assert counter.writes_on(ns, DAY + 1) == 1
    assert counter.count_writes(ns, 5, limit=5, day=DAY + 3) == 5  # days may be skipped
    assert counter.writes_on(ns, DAY + 1) == 0
    assert counter.writes_on(ns, DAY + 3) == 5


def test_a_lagging_clock_counts_into_the_later_day(memory: Any, counter: Any) -> None:
    # Around midnight one process may still be on the day before: its writes are
    # added to the day already started, instead of resetting it.
    ns = memory.namespace
    assert counter.count_writes(ns, 3, limit=5, day=DAY + 1) == 3
    assert counter.count_writes(ns, 2, limit=5, day=DAY) == 5
    assert counter.count_writes(ns, 1, limit=5, day=DAY) is None
    assert counter.writes_on(ns, DAY + 1) == 5
    assert counter.writes_on(ns, DAY) == 0


def test_counts_are_per_namespace_and_survive_deleting_keys(
    new_memory: Any, memory: Any, counter: Any
) -> None:
    ns = memory.namespace
    other = new_memory().namespace
    memory.set("k", 1)
    memory.append("l", 1)
    assert counter.count_writes(ns, 2, limit=2, day=DAY) == 2
    assert counter.writes_on(other, DAY) == 0
    assert counter.count_writes(other, 2, limit=2, day=DAY) == 2
    assert memory.delete("k") is True
    memory.delete_many(["l"])
    assert memory.list_keys() == []
    # A daily quota counts the writes made, not the data held.
    assert counter.writes_on(ns, DAY) == 2
    assert counter.count_writes(ns, 1, limit=2, day=DAY) is None


@pytest.mark.parametrize(
    ("writes", "limit", "day"),
    [(-1, 5, DAY), (True, 5, DAY), (1.5, 5, DAY), (1, -1, DAY), (1, "5", DAY), (1, 5, -1)],
)
def test_invalid_counts_are_refused(
    memory: Any, counter: Any, writes: Any, limit: Any, day: Any
) -> None:
    with pytest.raises(ValidationError, match="whole number"):
        counter.count_writes(memory.namespace, writes, limit=limit, day=day)
    assert counter.writes_on(memory.namespace, DAY) == 0


def test_concurrent_counters_admit_exactly_the_limit(memory: Any, counter: Any) -> None:
    ns = memory.namespace
    threads_count, tries, limit = 8, 50, 100
    barrier = threading.Barrier(threads_count)
    admitted: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait()
            mine = [counter.count_writes(ns, 1, limit=limit, day=DAY) for _ in range(tries)]
            with lock:
                admitted.extend(n for n in mine if n is not None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    # Exactly `limit` admitted, each seeing its own new count: nothing lost, none twice.
    assert sorted(admitted) == list(range(1, limit + 1))
    assert counter.writes_on(ns, DAY) == limit


def test_purge_forgets_counts_of_past_days_only(memory: Any, counter: Any) -> None:
    import time

    ns, other = memory.namespace, memory.namespace + "-other"
    today = int(time.time() // 86400)
    assert counter.count_writes(ns, 3, limit=None, day=DAY) == 3  # years ago
    assert counter.count_writes(other, 2, limit=None, day=today) == 2
    # A threaded async SQLite store keeps purging on its sync store.
    getattr(counter, "sync", counter).purge_expired()
    assert counter.writes_on(other, today) == 2
    assert counter.count_writes(ns, 1, limit=None, day=DAY) == 1  # the old row was gone
