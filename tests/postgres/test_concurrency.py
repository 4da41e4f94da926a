"""Many processes and threads on one database lose nothing (DESIGN.md §4)."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest

from botwire import AppendOp, ConflictError, Memory
from botwire._postgres import PostgresStore
from tests.postgres import _workers
from tests.postgres.conftest import raw_of

pytestmark = pytest.mark.postgres


def _in_threads(count: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run fn(0..count-1) at once in threads; return results, re-raise failures."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = fn(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.slow
def test_four_processes_append_and_update_without_losing_anything(
    pg_url: str, namespace: str
) -> None:
    context = multiprocessing.get_context("spawn")
    targets = [
        _workers.sync_worker,
        _workers.sync_worker,
        _workers.async_worker,
        _workers.async_worker,
    ]
    processes = [
        context.Process(target=target, args=(pg_url, namespace, n))
        for n, target in enumerate(targets)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
    assert [p.exitcode for p in processes] == [0] * 4, "a worker failed (see its stderr)"

    with Memory(namespace, pg_url) as memory:
        items = memory.get("items")
        assert len(items) == 4 * _workers.APPENDS == 400
        assert len(set(items)) == 400
        for n in range(4):  # each process's items keep their order
            assert [x for x in items if x.startswith(f"{n}:")] == [
                f"{n}:{i}" for i in range(_workers.APPENDS)
            ]
        assert memory.get("counter") == 4 * _workers.UPDATES == 200
        counter, listed = memory.get_item("counter"), memory.get_item("items")
        assert counter is not None and counter.version == 200
        assert listed is not None and listed.version == 400


def test_one_append_id_applies_once_under_concurrent_retries(pg_url: str, namespace: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(6)]
    try:
        stores[0].append(namespace, "l", ['"before"'])
        results = _in_threads(6, lambda n: stores[n].append(namespace, "l", ['"x"'], id="retry"))
        assert {(r.version, r.length) for r in results} == {(2, 2)}
        assert raw_of(stores[0], namespace, "l") == '["before","x"]'
    finally:
        for s in stores:
            s.close()


def test_concurrent_creators_of_a_new_list_lose_nothing(pg_url: str, namespace: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(6)]
    try:
        results = _in_threads(6, lambda n: stores[n].append(namespace, "new", [str(n)]))
        assert sorted(r.length for r in results) == [1, 2, 3, 4, 5, 6]
        assert sorted(raw_of(stores[0], namespace, "new").strip("[]").split(",")) == [
            str(n) for n in range(6)
        ]
    finally:
        for s in stores:
            s.close()


def test_only_one_create_only_write_wins(pg_url: str, namespace: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(6)]

    def create(n: int) -> Any:
        try:
            return stores[n].set(namespace, "claim", str(n), if_version=0)
        except ConflictError as exc:
            return exc

    try:
        results = _in_threads(6, create)
        conflicts = [r for r in results if isinstance(r, ConflictError)]
        assert len(conflicts) == 5
        assert all(c.current_version == 1 for c in conflicts)
    finally:
        for s in stores:
            s.close()


def test_batches_locking_keys_in_opposite_orders_both_complete(pg_url: str, namespace: str) -> None:
    """Crossing row locks deadlock in PostgreSQL; the store runs the loser again."""
    stores = [PostgresStore(pg_url) for _ in range(2)]
    orders = [("a", "b"), ("b", "a")]

    def worker(n: int) -> None:
        for i in range(40):
            stores[n].batch(namespace, [AppendOp(key, (f'"{n}-{i}"',)) for key in orders[n]])

    try:
        _in_threads(2, worker)
        for key in ("a", "b"):
            assert raw_of(stores[0], namespace, key).count(",") + 1 == 80
    finally:
        for s in stores:
            s.close()


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_store_used_after_fork_opens_its_own_connections(pg_url: str, namespace: str) -> None:
    store = PostgresStore(pg_url, min_size=1, max_size=1)
    try:
        store.append(namespace, "l", ['"before"'])
        child = multiprocessing.get_context("fork").Process(
            target=_workers.forked_append, args=(store, namespace)
        )
        child.start()
        for i in range(_workers.FORKED_APPENDS):  # at the same time as the child
            store.append(namespace, "l", [f'"parent {i}"'])
        child.join(60)
        assert child.exitcode == 0
        items = json.loads(raw_of(store, namespace, "l"))
        assert len(items) == 1 + 2 * _workers.FORKED_APPENDS
        for who in ("parent", "child"):
            assert [x for x in items if x.startswith(who)] == [
                f"{who} {i}" for i in range(_workers.FORKED_APPENDS)
            ]
    finally:
        store.close()


async def test_thousands_of_concurrent_async_calls_wait_their_turn(
    pg_url: str, namespace: str
) -> None:
    """More concurrent calls than connections queue in order: none times out in the pool."""
    import asyncio

    from botwire import AsyncMemory
    from botwire._postgres import AsyncPostgresStore

    store = AsyncPostgresStore(pg_url, max_size=2, timeout=0.5)
    memory = AsyncMemory(namespace, store=store)
    try:
        results = await asyncio.gather(
            *(memory.set(f"k{i % 50}", i) for i in range(1000)), return_exceptions=True
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert sum(await asyncio.gather(*(memory.get(f"k{i}") for i in range(50)))) > 0
    finally:
        await store.aclose()
