"""The change feed's fan-out (``botwire._feedhub``): a hundred watchers of a namespace
get every change exactly once, in order, for about one store read per wake-up; a
watcher that falls behind the shared buffer reads the store and still misses nothing."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from botwire import AsyncMemory, Memory, SQLiteStore
from botwire._feedhub import FeedHubs
from botwire._store import ThreadedAsyncStore
from botwire._types import ChangePage
from tests.servers import start_server

WATCHERS = 100
WRITES = 12


class CountingStore(SQLiteStore):
    """An ``SQLiteStore`` that counts its reads of the feed (the fan-out's cost)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counter = itertools.count()
        self.feed_reads = 0

    def _read_changes(
        self, since: int | None, prefix: str, limit: int, namespace: str
    ) -> ChangePage:
        self.feed_reads = next(self._counter) + 1
        return super()._read_changes(since, prefix, limit, namespace)


def _write(path: Path, keys: list[str], gap: float) -> None:
    """Write ``keys`` through a store of its own (another connection, as another
    process would: the watchers' store is woken by its ``data_version`` poller)."""
    writer = Memory("ns", store=SQLiteStore(path))
    for i, key in enumerate(keys):
        time.sleep(gap)
        writer.set(key, i)
    writer.store.close()


def _keys() -> list[str]:
    return [f"{'a' if i % 2 else 'b'}:{i}" for i in range(WRITES)]


def test_a_hundred_threads_get_every_change_once_in_order_for_few_reads(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = CountingStore(path)
    since = Memory("ns", store=store).last_seq()
    keys = _keys()
    got: dict[int, list[tuple[int, str]]] = {}

    def watch(n: int) -> None:
        prefix = "a:" if n % 2 else ""  # half filter by prefix, in memory
        wanted = len([k for k in keys if k.startswith(prefix)])
        seen = got.setdefault(n, [])
        for change in Memory("ns", store=store).watch(prefix, since=since, timeout=10):
            seen.append((change.seq, change.key))
            if len(seen) == wanted:
                return

    threads = [threading.Thread(target=watch, args=(n,)) for n in range(WATCHERS)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    before = store.feed_reads
    _write(path, keys, 0.03)
    for thread in threads:
        thread.join(30)
    reads = store.feed_reads - before
    everything = got[0]
    assert [k for _, k in everything] == keys
    assert [s for s, _ in everything] == sorted({s for s, _ in everything})
    for n, seen in got.items():
        assert seen == (everything if n % 2 == 0 else [c for c in everything if c[1] < "b"]), n
    # Without the shared reader: a read per watcher per wake-up (over 1200 here).
    assert reads <= 4 * WRITES, f"{reads} store reads for {WRITES} writes"
    store.close()


def test_a_watcher_behind_the_buffer_reads_the_store_and_misses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = CountingStore(path)
    store.feed_hub = FeedHubs(capacity=4)
    memory = Memory("ns", store=store)
    since = memory.last_seq()
    keys = [f"k{i}" for i in range(30)]
    fast: list[int] = []

    def keep_up() -> None:  # keeps the namespace's buffer moving on
        for change in Memory("ns", store=store).watch(since=since, timeout=10):
            fast.append(change.seq)
            if len(fast) == len(keys):
                return

    racer = threading.Thread(target=keep_up)
    racer.start()
    time.sleep(0.2)
    slow = Memory("ns", store=store).watch(since=since, timeout=10)
    _write(path, keys[:1], 0.0)
    first = next(slow)
    _write(path, keys[1:], 0.005)  # far more than the 4 changes the buffer keeps
    racer.join(30)
    hub = store.feed_hub("ns")
    assert hub.base > first.seq  # the slow watcher is behind the buffer
    rest = [next(slow) for _ in keys[1:]]
    seqs = [first.seq] + [c.seq for c in rest]
    assert seqs == fast[: len(seqs)]
    assert [c.key for c in rest] == keys[1:]
    store.close()


async def test_a_hundred_tasks_share_one_reader_through_the_threaded_async_store(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.db"
    store = CountingStore(path)
    shared = ThreadedAsyncStore(store)
    since = await AsyncMemory("ns", store=shared).last_seq()
    keys = _keys()

    async def watch() -> list[str]:
        seen: list[str] = []
        async for change in AsyncMemory("ns", store=shared).watch(since=since, timeout=10):
            seen.append(change.key)
            if len(seen) == len(keys):
                break
        return seen

    tasks = [asyncio.ensure_future(watch()) for _ in range(WATCHERS)]
    await asyncio.sleep(0.3)
    before = store.feed_reads
    await asyncio.to_thread(_write, path, keys, 0.03)
    results = await asyncio.gather(*tasks)
    assert all(seen == keys for seen in results)
    reads = store.feed_reads - before
    assert reads <= 4 * WRITES, f"{reads} store reads for {WRITES} writes"
    store.close()


def _store_reads(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.search(
        r'^botwire_store_operation_duration_seconds_count\{op="changes"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


async def test_a_hundred_long_polls_on_the_server_cost_about_one_read_per_change(
    tmp_path: Path,
) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'server.db'}")
    try:
        url = server.url
        async with httpx.AsyncClient(
            base_url=url, timeout=30, limits=httpx.Limits(max_connections=WATCHERS + 10)
        ) as client:
            head = (await client.get("/memory/ns/changes")).json()["next"]
            keys = _keys()

            async def watch(prefix: str) -> list[str]:
                since, seen = head, []
                wanted = len([k for k in keys if k.startswith(prefix)])
                while len(seen) < wanted:
                    answer = await client.get(
                        "/memory/ns/changes", params={"since": since, "prefix": prefix, "wait": 10}
                    )
                    page = answer.json()
                    seen += [c["key"] for c in page["changes"]]
                    since = page["next"]
                return seen

            prefixes = ["a:" if n % 2 else "" for n in range(WATCHERS)]
            tasks = [asyncio.ensure_future(watch(p)) for p in prefixes]
            await asyncio.sleep(1.0)
            before = await asyncio.to_thread(_store_reads, url)
            writer = AsyncMemory("ns", url)
            for i, key in enumerate(keys):
                await asyncio.sleep(0.05)
                await writer.set(key, i)
            await writer.aclose()
            results = await asyncio.gather(*tasks)
            reads = await asyncio.to_thread(_store_reads, url) - before
        for prefix, seen in zip(prefixes, results, strict=True):
            assert seen == [k for k in keys if k.startswith(prefix)]
        # Without the shared reader: one per long-poll answered, over 1000 here.
        assert reads <= 6 * WRITES, f"{reads} store reads for {WRITES} writes"
    finally:
        server.stop()


def test_the_shared_buffer_is_bounded_in_bytes_and_watchers_still_get_everything(
    tmp_path: Path,
) -> None:
    from botwire._feedhub import BUFFER_BYTES

    path = tmp_path / "f.db"
    store = SQLiteStore(path)
    since = Memory("ns", store=store).last_seq()
    big = "x" * 60_000  # each change's value stays in the buffer while it is current
    got: list[int] = []

    def watch() -> None:
        for change in Memory("ns", store=store).watch(since=since, timeout=10):
            got.append(change.value[1] if change.value else -1)
            if len(got) == 40:
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(0.2)
    writer = Memory("ns", store=SQLiteStore(path))
    for i in range(40):
        writer.set(f"k{i}", [big, i])
        time.sleep(0.005)
    writer.store.close()
    watcher.join(30)
    hub = store.feed_hub("ns")
    assert got == list(range(40))
    assert hub._bytes <= BUFFER_BYTES and len(hub._changes) < 40
    store.close()
