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
* With ``--postgres URL`` (or ``BOTWIRE_TEST_POSTGRES_URL``): the same on PostgreSQL.
* With ``--base-pythonpath DIR`` (a folder whose ``botwire`` is an older tree, e.g.
  ``git archive <commit>`` with ``botwire -> botwire_core``): the embedded
  ``Memory.set`` (no limit), this tree against that one, in CPU instructions per set
  under callgrind (load-independent; valgrind must be installed) and in sets/s
  (interleaved subprocess rounds, best of each).
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
