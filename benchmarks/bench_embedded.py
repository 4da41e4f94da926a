"""Embedded store throughput: botwire.Memory vs raw sqlite3 vs diskcache.

Run: ``scripts/bench`` (or ``.venv/bin/python -m benchmarks.bench_embedded``).

Every contender does the same work with the same durability: JSON-encode the
value, write it in WAL mode with ``synchronous=NORMAL`` and one commit per
write (a versioned upsert for sqlite3, as BotWire keeps versions; an item row
per append); reads decode JSON. Targets (issue 2): get >= 0.5x raw sqlite3,
set >= 0.8x raw sqlite3, and the 10,000th append no slower than the 1st (+-25%).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import interleaved_ops_per_second, verdict
from botwire import Memory, SQLiteStore

N = 2000
ROUNDS = 25  # best of: the minimum settles as rounds grow (timeit's advice)
VALUE = {"style": "concise", "language": "en", "history": list(range(20)), "note": "x" * 120}
KEYS = [f"key-{i}" for i in range(1000)]

Ops = dict[str, Callable[[int], object]]


def raw_sqlite(path: Path) -> Ops:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE kv (ns TEXT, key TEXT, value TEXT, version INTEGER, updated_at REAL, "
        "PRIMARY KEY (ns, key)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE items (ns TEXT, key TEXT, seq INTEGER, value TEXT, "
        "PRIMARY KEY (ns, key, seq)) WITHOUT ROWID"
    )

    def set_(i: int) -> None:
        conn.execute(
            "INSERT INTO kv VALUES (?, ?, ?, 1, ?) ON CONFLICT (ns, key) DO UPDATE SET "
            "value = excluded.value, version = version + 1, updated_at = excluded.updated_at",
            ("bench", KEYS[i % 1000], json.dumps(VALUE), time.time()),
        )

    def get(i: int) -> object:
        row = conn.execute(
            "SELECT value FROM kv WHERE ns = ? AND key = ?", ("bench", KEYS[i % 1000])
        ).fetchone()
        return json.loads(row[0])

    seq = [0]

    def append(i: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO items VALUES (?, ?, ?, ?)", ("bench", "list", seq[0], json.dumps(VALUE))
        )
        conn.execute("COMMIT")
        seq[0] += 1

    return {"set": set_, "get": get, "append": append}


def botwire_memory(path: Path) -> Ops:
    memory = Memory("bench", store=SQLiteStore(path))
    return {
        "set": lambda i: memory.set(KEYS[i % 1000], VALUE),
        "get": lambda i: memory.get(KEYS[i % 1000]),
        "append": lambda i: memory.append("list", VALUE),
    }


def diskcache_cache(path: Path) -> Ops:
    import diskcache

    cache = diskcache.Cache(str(path))  # WAL + synchronous=NORMAL by default
    return {
        "set": lambda i: cache.set(KEYS[i % 1000], json.dumps(VALUE)),
        "get": lambda i: json.loads(cache.get(KEYS[i % 1000])),
    }


def append_flatness(path: Path) -> tuple[float, float]:
    """Median time of an append to a list of length < 30 and to one of ~10,000.

    The two are timed alternately, call by call, so load on the machine hits both
    alike.
    """
    memory = Memory("flat", store=SQLiteStore(path))
    while memory.append("long", VALUE) < 10_000:
        pass
    short: list[float] = []
    long: list[float] = []
    for i in range(600):
        key = f"short-{i // 30}"  # a fresh list every 30 appends
        start = time.perf_counter()
        memory.append(key, VALUE)
        short.append(time.perf_counter() - start)
        start = time.perf_counter()
        memory.append("long", VALUE)
        long.append(time.perf_counter() - start)
    memory.store.close()
    return statistics.median(short), statistics.median(long)


def import_seconds() -> float:
    """Best of 5 fresh interpreters: wall time of ``import botwire`` alone."""
    import subprocess

    code = "import time; t = time.perf_counter(); import botwire; print(time.perf_counter() - t)"
    return min(float(subprocess.check_output([sys.executable, "-c", code])) for _ in range(5))


def main() -> int:
    imported = import_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        contenders = {
            "botwire": botwire_memory(base / "botwire.db"),
            "sqlite3": raw_sqlite(base / "raw.db"),
            "diskcache": diskcache_cache(base / "diskcache"),
        }
        results: dict[str, dict[str, float]] = {}
        for op in ("set", "get", "append"):
            results[op] = interleaved_ops_per_second(
                {name: ops[op] for name, ops in contenders.items() if op in ops}, N, ROUNDS
            )
        first, last = append_flatness(base / "flat.db")

    print(f"Embedded store: {N} ops per round, best of {ROUNDS} interleaved rounds (ops/s)")
    print(f"{'op':<8}{'botwire':>12}{'sqlite3':>12}{'diskcache':>12}{'botwire/sqlite3':>18}")
    for op, r in results.items():
        disk = f"{r['diskcache']:>12,.0f}" if "diskcache" in r else f"{'-':>12}"
        ratio = r["botwire"] / r["sqlite3"]
        print(f"{op:<8}{r['botwire']:>12,.0f}{r['sqlite3']:>12,.0f}{disk}{ratio:>17.2f}x")
    ratio = last / first
    print(
        f"append at length < 30: {first * 1e6:.1f} us; at ~10,000: {last * 1e6:.1f} us "
        f"(ratio {ratio:.2f})"
    )
    print(f"import botwire: {imported * 1000:.1f} ms")
    checks = [
        ("import botwire < 100 ms", imported < 0.1),
        ("get >= 0.5x sqlite3", results["get"]["botwire"] / results["get"]["sqlite3"] >= 0.5),
        ("set >= 0.8x sqlite3", results["set"]["botwire"] / results["set"]["sqlite3"] >= 0.8),
        ("10,000th append within 25% of the 1st", ratio <= 1.25),
    ]
    for name, ok in checks:
        print(f"  {verdict(ok)}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
