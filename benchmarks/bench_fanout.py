"""Fan-out: thousands of concurrent calls from one client, async vs sync from threads.

    .venv/bin/python -m benchmarks.bench_fanout [--counts 1000 10000] [--threads 32]

One real server process on SQLite. For each count N: N concurrent
``AsyncMemory.set`` over HTTP (``asyncio.gather`` on one ``AsyncMemory``), then the
same N sets through the sync ``Memory`` from a thread pool; times, errors, the
requests the async client sent (an httpx event hook) and the async/sync ratio.
Target (issue 14 item 6): the async run takes no longer than the sync one
(ratio <= 1.0) with no error, at 1,000 and at 10,000.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks._harness import verdict
from botwire import AsyncHTTPStore, AsyncMemory, HTTPStore, Memory
from tests.servers import start_server

VALUE = {"role": "assistant", "content": "x" * 150, "turn": 1}  # ~200 bytes encoded


async def async_run(url: str, namespace: str, n: int) -> tuple[float, int, int]:
    """Seconds for ``n`` concurrent sets, errors, and requests sent."""
    sent = 0

    async def count(request: httpx.Request) -> None:
        nonlocal sent
        sent += 1

    client = httpx.AsyncClient(
        event_hooks={"request": [count]},
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        timeout=httpx.Timeout(30.0, connect=5.0),
    )
    memory = AsyncMemory(namespace, store=AsyncHTTPStore(url, client=client))
    await memory.set("warm-up", 0)
    sent = 0
    start = time.perf_counter()
    results = await asyncio.gather(
        *(memory.set(f"k{i}", VALUE) for i in range(n)), return_exceptions=True
    )
    seconds = time.perf_counter() - start
    await client.aclose()
    return seconds, sum(isinstance(r, BaseException) for r in results), sent


def sync_run(url: str, namespace: str, n: int, threads: int) -> tuple[float, int]:
    """Seconds for ``n`` sets through one ``Memory`` from ``threads`` threads, errors."""
    memory = Memory(namespace, store=HTTPStore(url))
    memory.set("warm-up", 0)
    errors = 0

    def one(i: int) -> None:
        nonlocal errors
        try:
            memory.set(f"k{i}", VALUE)
        except Exception:  # noqa: BLE001 - counted, the run goes on
            errors += 1

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    seconds = time.perf_counter() - start
    memory.close()
    return seconds, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(f"sqlite:///{Path(folder) / 'fanout.db'}", access_log=False)
        try:
            rows: list[dict[str, Any]] = []
            for n in args.counts:
                a_s, a_err, sent = asyncio.run(async_run(server.url, f"async-{n}", n))
                s_s, s_err = sync_run(server.url, f"sync-{n}", n, args.threads)
                rows.append(
                    {
                        "n": n,
                        "async": a_s,
                        "a_err": a_err,
                        "sent": sent,
                        "sync": s_s,
                        "s_err": s_err,
                    }
                )
        finally:
            server.stop()
    print("fan-out: N concurrent sets (~200-byte values), one server on SQLite")
    print(
        f"{'N':>7} {'async s':>9} {'errors':>7} {'requests':>9} "
        f"{'sync s':>8} {'errors':>7} {'ratio':>6}"
    )
    for r in rows:
        ratio = r["async"] / r["sync"]
        print(
            f"{r['n']:>7} {r['async']:>9.2f} {r['a_err']:>7} {r['sent']:>9} "
            f"{r['sync']:>8.2f} {r['s_err']:>7} {ratio:>6.2f}  "
            f"{verdict(ratio <= 1.0 and r['a_err'] == 0)} async <= sync, no error"
        )


if __name__ == "__main__":
    main()
