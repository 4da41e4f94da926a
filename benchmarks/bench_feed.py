"""Benchmark the change feed: wake-up latency per door, and its cost on writes.

    .venv/bin/python -m benchmarks.bench_feed [--writes 60] [--gap 0.03]

* **Wake-up latency** (a write committed in one process → a watcher in another
  process has it), p50/p99, with 1 and with 100 concurrent watchers (writes at
  least 0.3 s apart), for the
  embedded file (watchers share one ``SQLiteStore``, woken by its ``data_version``
  poller) and for the server: one watcher is an ``AsyncMemory`` (it waits on the
  feed's event stream, kept open between reads); 100 watchers are 100 event
  streams, one connection each, read by a minimal reader (a selector over the
  sockets), which measures the server's fan-out; and 100 ``AsyncMemory`` watchers,
  one client each, in one process (each stream on its own plain-HTTP connection,
  parsed by h11: an httpx stream cost that process ~0.1 ms of CPU per event, so a
  hundred queued behind each other on the same two cores).
  The writer writes ``--writes`` times, ``--gap`` s apart (so every wake-up starts
  from an idle feed); each value is the wall-clock time just before its ``set``,
  so a figure includes the write itself. Targets: embedded p99 ≤ 50 ms, server
  p99 ≤ 20 ms.
* With ``--postgres URL`` (or ``BOTWIRE_TEST_POSTGRES_URL``), PostgreSQL directly:
  ``AsyncMemory`` watchers sharing one ``AsyncPostgresStore`` (one ``LISTEN``
  connection), woken by ``NOTIFY``.
* **Write cost**: embedded set/s on a store with the feed vs the same store with
  the feed's triggers dropped (the write path before the feed), interleaved in
  one run. Target: ≥ 0.8×. Also the WAL pages each set writes, with and without
  (load-independent: each page is a 4 KiB WAL write, checksummed, flushed to disk
  at the next checkpoint). And the same through a server: PUT/s on a file with
  and without the feed's triggers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import selectors
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import interleaved_ops_per_second, verdict

NAMESPACE = "bench-feed"
JSON = {"content-type": "application/json"}


# -- the writer (a process of its own) -------------------------------------------------


def _write(url: str, writes: int, gap: float, start: Any) -> None:
    from botwire import Memory

    with Memory(NAMESPACE, url) as memory:
        memory.set("warm-up", 0)
        start.wait()
        for i in range(writes):
            time.sleep(gap)
            memory.set(f"k{i}", time.time())


# -- watchers ----------------------------------------------------------------------------


def _embedded_watchers(url: str, watchers: int, writes: int, ready: Any, out: Any) -> None:
    from botwire import Memory, open_store

    store = open_store(url)
    since = Memory(NAMESPACE, store=store).last_seq()
    lags: list[float] = []
    lock = threading.Lock()

    def watch() -> None:
        memory = Memory(NAMESPACE, store=store)
        seen = 0
        for change in memory.watch("k", since=since, timeout=30):
            lag = time.time() - change.value
            with lock:
                lags.append(lag)
            seen += 1
            if seen == writes:
                return

    threads = [threading.Thread(target=watch) for _ in range(watchers)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    ready.set()
    for thread in threads:
        thread.join()
    out.put(lags)


def _async_watchers(url: str, watchers: int, writes: int, ready: Any, out: Any) -> None:
    from botwire import AsyncMemory, open_async_store

    async def main() -> list[float]:
        if url.startswith("postgresql"):  # one store (pool, LISTEN connection) for all
            store = open_async_store(url)
            memories = [AsyncMemory(NAMESPACE, store=store) for _ in range(watchers)]
        else:  # one HTTP client each: an event stream per watcher
            memories = [AsyncMemory(NAMESPACE, url) for _ in range(watchers)]
        since = await memories[0].last_seq()
        lags: list[float] = []

        async def watch(memory: AsyncMemory) -> None:
            seen = 0
            async for change in memory.watch("k", since=since, timeout=30):
                lags.append(time.time() - change.value)
                seen += 1
                if seen == writes:
                    return

        tasks = [asyncio.ensure_future(watch(m)) for m in memories]
        await asyncio.sleep(0.5)
        ready.set()
        await asyncio.gather(*tasks)
        for memory in memories:
            await memory.aclose()
        if url.startswith("postgresql"):
            await store.aclose()
        return lags

    out.put(asyncio.run(main()))


def _stream_readers(url: str, watchers: int, writes: int, ready: Any, out: Any) -> None:
    """Event streams read by the least a reader can do: one socket each, a selector.

    What the server's fan-out costs, without the client library's (an httpx stream
    costs its process ~0.1 ms of CPU per event: a hundred in one process, on the
    same two cores, queue behind each other).
    """
    import httpx

    host, port = url.split("//", 1)[1].rsplit(":", 1)
    since = httpx.get(f"{url}/memory/{NAMESPACE}/changes").json()["next"]
    request = (
        f"GET /memory/{NAMESPACE}/changes?since={since}&prefix=k HTTP/1.1\r\n"
        f"Host: {host}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    selector = selectors.DefaultSelector()
    for _ in range(watchers):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(request)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, {"pending": b"", "seen": 0})
    time.sleep(0.5)
    ready.set()
    lags: list[float] = []
    done = 0
    while done < watchers:
        for key, _ in selector.select(30):
            state = key.data
            data = key.fileobj.recv(1 << 16)  # type: ignore[union-attr]
            now = time.time()
            if not data:
                raise RuntimeError("the server closed an event stream")
            state["pending"] += data
            while True:  # an event is one body chunk: its data line is never split by framing
                start = state["pending"].find(b"data: ")
                end = state["pending"].find(b"\n", start)
                if start < 0 or end < 0:
                    break
                change = json.loads(state["pending"][start + 6 : end])
                state["pending"] = state["pending"][end:]
                lags.append(now - change["value"])
                state["seen"] += 1
                done += state["seen"] == writes
    out.put(lags)


def wake_up(url: str, door: str, watchers: int, writes: int, gap: float) -> list[float]:
    """Latencies (s) of every watcher for every write, the writer in another process."""
    context = multiprocessing.get_context("spawn")
    ready, out = context.Event(), context.Queue()
    target = {"embedded": _embedded_watchers, "streams": _stream_readers}.get(door, _async_watchers)
    watching = context.Process(target=target, args=(url, watchers, writes, ready, out))
    writer = context.Process(target=_write, args=(url, writes, gap, ready))
    watching.start()
    writer.start()
    lags: list[float] = out.get(timeout=300)
    writer.join(60)
    watching.join(60)
    return lags


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the server ---------------------------------------------------------------------------


def start_server(db: str) -> tuple[subprocess.Popen[bytes], str]:
    folder = Path(tempfile.mkdtemp(prefix="bench-feed-server-"))
    log = folder / "out.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWIRE_")}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "botwire.server", "--port", "0", "--db", db,
             "--no-access-log"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", log.read_text("utf-8", "replace"))
        if found:
            import httpx

            try:
                if httpx.get(found.group(1) + "/healthz", timeout=2).status_code == 200:
                    return process, found.group(1)
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the server did not start:\n" + log.read_text("utf-8", "replace"))


# -- the cost on writes ---------------------------------------------------------------------


def write_cost(folder: Path, n: int) -> tuple[dict[str, float], dict[str, float]]:
    """Set/s with and without the feed, and the WAL pages each set writes.

    Pages per set are load-independent: every page a commit writes is a WAL frame
    (a 4 KiB write, its checksum, and a flush at the next checkpoint).
    """
    from botwire import Memory, SQLiteStore

    with_feed = SQLiteStore(folder / "feed.db")
    without = SQLiteStore(folder / "nofeed.db")
    conn = without._conn()
    triggers = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'feed%'"
    ).fetchall()
    for (trigger,) in triggers:
        conn.execute(f"DROP TRIGGER {trigger}")  # the write path before the feed
    a, b = Memory("w", store=with_feed), Memory("w", store=without)
    value = {"role": "assistant", "content": "x" * 150}
    rates = interleaved_ops_per_second(
        {
            "without the feed": lambda i: b.set(f"k{i % 1000}", value),
            "with the feed": lambda i: a.set(f"k{i % 1000}", value),
        },
        n,
    )
    pages = {
        "without the feed": _wal_pages_per_set(without, b, value),
        "with the feed": _wal_pages_per_set(with_feed, a, value),
    }
    with_feed.close()
    without.close()
    return rates, pages


def server_write_cost(folder: Path, n: int) -> dict[str, float]:
    """PUT/s through a server (one client, keep-alive) with and without the feed.

    Two servers, one on a file whose feed triggers are dropped after it started
    (its statements are prepared again on the schema change), interleaved.
    """
    import httpx

    servers = {}
    for name in ("without the feed", "with the feed"):
        path = folder / f"put-{'no' if name.startswith('without') else ''}feed.db"
        servers[name] = start_server(f"sqlite:///{path}")
        if name.startswith("without"):
            conn = sqlite3.connect(path)
            for (trigger,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'feed%'"
            ).fetchall():
                conn.execute(f"DROP TRIGGER {trigger}")
            conn.close()
    body = json.dumps({"value": {"role": "assistant", "content": "x" * 150}})
    clients = {name: httpx.Client(base_url=url) for name, (_, url) in servers.items()}

    def put(client: httpx.Client) -> Callable[[int], object]:
        def call(i: int) -> object:
            answer = client.put(f"/memory/w/k{i % 1000}", content=body, headers=JSON)
            answer.raise_for_status()
            return answer

        return call

    try:
        return interleaved_ops_per_second(
            {name: put(client) for name, client in clients.items()}, n, rounds=5
        )
    finally:
        for client in clients.values():
            client.close()
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)


def _wal_pages_per_set(store: Any, memory: Any, value: Any, sets: int = 2000) -> float:
    conn = store._conn()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # an empty WAL: count what sets add
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    for i in range(sets):
        memory.set(f"k{i % 1000}", value)
    frames = (os.path.getsize(f"{store.path}-wal") - 32) / (page_size + 24)
    return frames / sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=60)
    parser.add_argument("--gap", type=float, default=0.03)
    parser.add_argument("--set-count", type=int, default=5000)
    parser.add_argument("--put-count", type=int, default=1000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BOTWIRE_TEST_POSTGRES_URL"),
        help="also measure PostgreSQL directly (LISTEN/NOTIFY)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    print(f"wake-up latency: {args.writes} writes {args.gap * 1000:.0f} ms apart, writer in "
          "another process")  # fmt: skip
    embedded = f"sqlite:///{folder / 'embedded.db'}"
    server, server_url = start_server(f"sqlite:///{folder / 'server.db'}")
    try:
        # (label, door, url, watchers, target p99 in s)
        rows: list[tuple[str, str, str, int, float]] = [
            ("embedded", "embedded", embedded, 1, 0.050),
            ("embedded", "embedded", embedded, 100, 0.050),
            ("server", "server", server_url, 1, 0.020),
            ("server", "streams", server_url, 100, 0.020),
            ("server, AsyncMemory", "server", server_url, 100, 0.020),
        ]
        if args.postgres:
            rows.append(("postgres", "postgres", args.postgres, 1, 0.050))
            rows.append(("postgres", "postgres", args.postgres, 100, 0.050))
        for label, door, url, watchers, target in rows:
            # 100 watchers: writes further apart, so each wake-up starts from an idle
            # feed rather than queueing behind the previous write's 100 answers.
            gap = args.gap if watchers == 1 else max(args.gap, 0.3)
            writes = args.writes if watchers == 1 else max(10, args.writes // 3)
            lags = wake_up(url, door, watchers, writes, gap)
            p50, p99 = _pct(lags, 0.50), _pct(lags, 0.99)
            print(
                f"  {label:19} {watchers:3} watcher(s): p50 {p50 * 1000:6.1f} ms   "
                f"p99 {p99 * 1000:6.1f} ms   (n={len(lags)}, mean "
                f"{statistics.mean(lags) * 1000:.1f} ms)   "
                f"target p99 <= {target * 1000:.0f} ms: {verdict(p99 <= target)}"
            )
    finally:
        server.terminate()
        server.wait(10)
    rates, pages = write_cost(folder, args.set_count)
    ratio = rates["with the feed"] / rates["without the feed"]
    for name, rate in rates.items():
        print(f"  embedded set/s {name:17}: {rate:8.0f}   WAL pages per set: {pages[name]:.2f}")
    print(f"  ratio with/without: {ratio:.2f}   target >= 0.8: {verdict(ratio >= 0.8)}")
    puts = server_write_cost(folder, args.put_count)
    for name, rate in puts.items():
        print(f"  server PUT/s {name:19}: {rate:8.0f}")
    ratio = puts["with the feed"] / puts["without the feed"]
    print(f"  ratio with/without (server, SQLite): {ratio:.2f}   (>= 0.8: {verdict(ratio >= 0.8)})")


if __name__ == "__main__":
    main()
