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
