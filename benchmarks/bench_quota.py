"""The namespace size quota in the store: what a checked write costs, and what it does not.

    .venv/bin/python -m benchmarks.bench_quota [--keys 100000] [--postgres URL]
        [--base-pythonpath DIR]

* **Checked writes** (the server with ``--max-namespace-bytes``): sets per second of
  ``batch_within([set], max_bytes)`` against ``batch([set])`` (the same transaction
  without the check) and ``set()`` (the embedded fast path), in a namespace that
  already holds ``--keys`` keys, interleaved best-of rounds. The check reads the
  written keys' bytes before and after and keeps a per-namespace count: its cost does
  not grow with the namespace (no SUM per write).
* **Recount**: a checked write after a write that did not keep the count (a process
  without a limit wrote) takes the namespace's bytes again from the data, once: its
  time for ``--keys`` keys.
* With ``--postgres URL`` (or ``BOTWIRE_TEST_POSTGRES_URL``): the same on PostgreSQL
  (and the server comparison below on it too, each tree in a fresh schema).
* With ``--base-pythonpath DIR`` (a folder whose ``botwire`` is an older tree, e.g.
  ``git archive <commit>`` with ``botwire -> botwire_core``): the embedded
  ``Memory.set`` (no limit), this tree against that one, in CPU instructions per set
  under callgrind (load-independent; valgrind must be installed) and in sets/s
  (interleaved subprocess rounds, best of each); and the server on SQLite (whose
  default ``--max-namespace-bytes`` of 50 MB now runs every write through the
  store's check): PUT/s at concurrency 1 and 16, both trees, interleaved rounds.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botwire import SQLiteStore
from botwire._types import SetOp

ROUNDS = 7
PER_ROUND = 300
VALUE = '"' + "v" * 100 + '"'


def _fill(store: Any, ns: str, keys: int) -> None:
    for start in range(0, keys, 10_000):
        chunk = range(start, min(start + 10_000, keys))
        store.batch(ns, [SetOp(f"fill-{i:07d}", VALUE, None, None, None) for i in chunk])


def _rate(fn: Callable[[int], object], n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - started)


def checked_writes(store: Any, label: str, keys: int) -> None:
    ns = f"bench-quota-{os.getpid()}"
    _fill(store, ns, keys)
    limit = 10**12
    ways: dict[str, Callable[[int], object]] = {
        "batch_within": lambda i: store.batch_within(
            ns, [SetOp(f"k{i % 500}", VALUE, None, None, None)], limit
        ),
        "batch": lambda i: store.batch(ns, [SetOp(f"k{i % 500}", VALUE, None, None, None)]),
        "set": lambda i: store.set(ns, f"k{i % 500}", VALUE),
    }
    store.batch_within(ns, [SetOp("warm", VALUE, None, None, None)], limit)  # the one recount
    best = dict.fromkeys(ways, 0.0)
    for _ in range(ROUNDS):
        for name, fn in ways.items():
            if name == "batch_within":  # unchecked writes meanwhile: start from a kept count
                fn(0)
            best[name] = max(best[name], _rate(fn, PER_ROUND))
    print(f"{label}: sets/s in a namespace of {keys:,} keys, best of {ROUNDS} interleaved rounds")
    for name, rate in best.items():
        print(f"  {name:<14}{rate:>10,.0f}/s  {rate / best['batch']:>5.2f}x batch")
    recounts = []
    for _ in range(3):
        store.set(ns, "foreign", VALUE)  # a write that does not keep the count
        started = time.perf_counter()
        store.batch_within(ns, [SetOp("k0", VALUE, None, None, None)], limit)
        recounts.append(time.perf_counter() - started)
    print(f"  recount after an unchecked write: {min(recounts) * 1000:.1f} ms (best of 3)")


_SETS = """
import sys, tempfile, time
from botwire import Memory, SQLiteStore
n = int(sys.argv[1])
memory = Memory("bench", store=SQLiteStore(tempfile.mkdtemp() + "/m.db"))
value = {"style": "concise", "history": list(range(20)), "note": "x" * 120}
memory.set("warm", value)
started = time.perf_counter()
for i in range(n):
    memory.set(f"key-{i % 1000}", value)
print(n / (time.perf_counter() - started))
"""


def _run_sets(pythonpath: str | None, n: int, callgrind: bool) -> float:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [sys.executable, "-c", _SETS, str(n)]
    if not callgrind:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return float(done.stdout.strip())
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=folder,
        )
        match = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
        assert match is not None, "no summary in the callgrind output"
        return float(match.group(1))


def embedded_against(base: str) -> None:
    trees = {"this tree": None, "base": base}
    per_set = {}
    for name, path in trees.items():
        few, many = (_run_sets(path, n, callgrind=True) for n in (200, 2200))
        per_set[name] = (many - few) / 2000
    print("Embedded Memory.set, no limit: CPU instructions per set (callgrind, 2000 sets)")
    for name, count in per_set.items():
        print(f"  {name:<10}{count:>12,.0f}  {count / per_set['base']:.4f}x base")
    best = dict.fromkeys(trees, 0.0)
    for _ in range(5):
        for name, path in trees.items():
            best[name] = max(best[name], _run_sets(path, 3000, callgrind=False))
    print("Embedded Memory.set, no limit: sets/s (best of 5 interleaved subprocess rounds)")
    for name, rate in best.items():
        print(f"  {name:<10}{rate:>12,.0f}/s  {rate / best['base']:.3f}x base")


def _serve(
    pythonpath: str | None, folder: Path, db: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWIRE_")}
    env["BOTWIRE_HOME"] = str(folder / "home")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = folder / "out.log"
    db = db or f"sqlite:///{folder}/server.db"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "botwire.server", "--port", "0", "--db", db],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", out.read_text("utf-8", "replace"))
        if found:
            return proc, found.group(1)
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(out.read_text("utf-8", "replace"))


async def _puts(url: str, n: int, concurrency: int) -> float:
    import asyncio

    import httpx

    body = {"value": {"note": "x" * 180}}
    async with httpx.AsyncClient(timeout=30) as client:
        queue = iter(range(n))

        async def worker() -> None:
            for i in queue:
                answer = await client.put(f"{url}/memory/bench/k{i % 1000}", json=body)
                answer.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - started)


def _schema(url: str) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL schema: its URL and how to drop it."""
    import uuid

    import psycopg

    name = f"bench_quota_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')

    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}", drop


def server_against(base: str, postgres: str | None) -> None:
    import asyncio

    trees = {"this tree": None, "base": base}
    engines = ["sqlite", *(["postgres"] if postgres else [])]
    best = {(e, name, c): 0.0 for e in engines for name in trees for c in (1, 16)}
    for _ in range(3):
        for engine in engines:
            for name, path in trees.items():
                with tempfile.TemporaryDirectory() as folder:
                    db, drop = (None, lambda: None) if engine == "sqlite" else _schema(postgres)
                    proc, url = _serve(path, Path(folder), db)
                    try:
                        asyncio.run(_puts(url, 200, 4))  # warm up
                        for c in (1, 16):
                            rate = asyncio.run(_puts(url, 1500, c))
                            best[engine, name, c] = max(best[engine, name, c], rate)
                    finally:
                        proc.terminate()
                        proc.wait(10)
                        drop()
    print("Server, default limits (50 MB a namespace): PUT/s, best of 3 interleaved rounds")
    for engine in engines:
        for c in (1, 16):
            ours, theirs = best[engine, "this tree", c], best[engine, "base", c]
            print(
                f"  {engine:<9} concurrency {c:<3} this tree {ours:>7,.0f}/s  "
                f"base {theirs:>7,.0f}/s  {ours / theirs:.2f}x"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("BOTWIRE_TEST_POSTGRES_URL"))
    parser.add_argument("--base-pythonpath")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "q.db")
        checked_writes(store, "SQLite", args.keys)
        store.close()
    if args.postgres:
        from botwire._postgres import PostgresStore

        pg = PostgresStore(args.postgres)
        try:
            checked_writes(pg, "PostgreSQL", args.keys)
        finally:
            pg.close()
    if args.base_pythonpath:
        embedded_against(args.base_pythonpath)
        server_against(args.base_pythonpath, args.postgres)
    return 0


if __name__ == "__main__":
    sys.exit(main())
