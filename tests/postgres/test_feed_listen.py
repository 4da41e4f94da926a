"""The change feed's wake-ups on PostgreSQL: one ``LISTEN`` connection per store,
however many calls wait, and one store read per wake-up for all of them."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import psycopg

from botwire import AsyncMemory, AsyncPostgresStore, Memory, PostgresStore

WAITERS = 20


def _listening(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'botwire-feed-test' AND query ILIKE 'LISTEN%'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _app(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "application_name=botwire-feed-test"


def test_waiting_calls_of_a_sync_store_share_one_listen_connection(
    pg_url: str, namespace: str
) -> None:
    store = PostgresStore(_app(pg_url))
    since = Memory(namespace, store=store).last_seq()
    got: list[list[Any]] = []

    def watch() -> None:
        seen = [c.key for c in Memory(namespace, store=store).watch(since=since, timeout=3)]
        got.append(seen)

    threads = [threading.Thread(target=watch) for _ in range(WAITERS)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    listening = _listening(pg_url)
    writer = Memory(namespace, store=PostgresStore(pg_url))
    for i in range(5):
        writer.set(f"k{i}", i)
    writer.store.close()
    for thread in threads:
        thread.join(30)
    reads = store.feed_hub(namespace).reads
    store.close()
    assert listening == 1, f"{listening} LISTEN connections for {WAITERS} waiting calls"
    assert got == [[f"k{i}" for i in range(5)]] * WAITERS
    assert reads <= 4 * 5 + 2, f"{reads} store reads for 5 writes"
    assert _listening(pg_url) == 0  # closed with the store


async def test_a_hundred_tasks_on_an_async_store_share_one_reader(
    pg_url: str, namespace: str
) -> None:
    store = AsyncPostgresStore(pg_url)
    since = await AsyncMemory(namespace, store=store).last_seq()
    keys = [f"{'a' if i % 2 else 'b'}:{i}" for i in range(10)]

    async def watch(prefix: str) -> list[str]:
        wanted = [k for k in keys if k.startswith(prefix)]
        seen: list[str] = []
        async for change in AsyncMemory(namespace, store=store).watch(
            prefix, since=since, timeout=10
        ):
            seen.append(change.key)
            if len(seen) == len(wanted):
                break
        return seen

    prefixes = ["a:" if n % 2 else "" for n in range(100)]
    tasks = [asyncio.ensure_future(watch(p)) for p in prefixes]
    await asyncio.sleep(0.5)
    writer = AsyncMemory(namespace, store=AsyncPostgresStore(pg_url))
    for i, key in enumerate(keys):
        await asyncio.sleep(0.02)
        await writer.set(key, i)
    await writer.aclose()
    results = await asyncio.gather(*tasks)
    reads = store.feed_hub(namespace).reads
    await store.aclose()
    for prefix, seen in zip(prefixes, results, strict=True):
        assert seen == [k for k in keys if k.startswith(prefix)]
    assert reads <= 4 * len(keys) + 2, f"{reads} store reads for {len(keys)} writes"


def test_a_store_on_a_pool_passed_in_waits_by_reading_again(pg_url: str, namespace: str) -> None:
    """With a pool and no URL there is nothing to LISTEN on: a waiting call reads the
    feed again every ``botwire._feedhub.POLL`` s, and still returns at the change."""
    import psycopg_pool

    with psycopg_pool.ConnectionPool(pg_url, min_size=1, max_size=2) as pool:
        store = PostgresStore(pool=pool)
        since = Memory(namespace, store=store).last_seq()
        writer = threading.Timer(0.3, lambda: Memory(namespace, store=store).set("late", 1))
        started = time.monotonic()
        writer.start()
        page = store.changes(namespace, since=since, wait=5)
        waited = time.monotonic() - started
        writer.join()
        assert [c.key for c in page.changes] == ["late"]
        assert 0.25 < waited < 2
        empty = store.changes(namespace, since=page.next, wait=0.3)
        assert empty.changes == [] and empty.next == page.next
        store.close()


async def test_an_async_store_on_a_pool_passed_in_waits_by_reading_again(
    pg_url: str, namespace: str
) -> None:
    import psycopg_pool

    async with psycopg_pool.AsyncConnectionPool(pg_url, min_size=1, max_size=2) as pool:
        store = AsyncPostgresStore(pool=pool)
        memory = AsyncMemory(namespace, store=store)
        since = await memory.last_seq()

        async def write_later() -> None:
            await asyncio.sleep(0.3)
            await memory.set("late", 1)

        writing = asyncio.ensure_future(write_later())
        started = time.monotonic()
        page = await store.changes(namespace, since=since, wait=5)
        waited = time.monotonic() - started
        await writing
        assert [c.key for c in page.changes] == ["late"]
        assert 0.25 < waited < 2
        await store.aclose()
