"""PostgreSQL store throughput: botwire.Memory on PostgreSQL vs raw psycopg.

Run: ``BOTWIRE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test
scripts/bench postgres`` (prints a note and exits 0 when the variable is unset).

The baseline is what a careful hand-written client would do with the same
driver and the same durability: one autocommit statement per operation on one
connection, committed before it returns (a versioned upsert for set, an item row
plus a counter update in one statement for append); values are JSON-encoded and
decoded. BotWire adds key and value validation, its own pool, TTL checks and the
idempotency-id bookkeeping. The embedded SQLite store runs in the same rounds for
reference. Everything lives in a throwaway schema, dropped at the end.

Targets: get >= 0.5x raw psycopg, set >= 0.7x, append >= 0.5x, and the
10,000th append no slower than the 1st (+-25%).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from benchmarks._harness import interleaved_ops_per_second, verdict
from botwire import Memory, SQLiteStore

N = 300
ROUNDS = 5
VALUE = {"style": "concise", "language": "en", "history": list(range(20)), "note": "x" * 120}
KEYS = [f"key-{i}" for i in range(1000)]

Ops = dict[str, Callable[[int], object]]


def raw_psycopg(url: str) -> Ops:
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute(
        'CREATE TABLE kv (ns TEXT COLLATE "C", key TEXT COLLATE "C", value TEXT, '
        "version BIGINT, updated_at DOUBLE PRECISION, PRIMARY KEY (ns, key))"
    )
    conn.execute(
        'CREATE TABLE items (ns TEXT COLLATE "C", key TEXT COLLATE "C", seq BIGINT, '
        "value TEXT, PRIMARY KEY (ns, key, seq))"
    )
    conn.execute("INSERT INTO kv VALUES ('bench', 'list', NULL, 0, 0)")

    def set_(i: int) -> None:
        conn.execute(
            "INSERT INTO kv VALUES (%s, %s, %s, 1, %s) ON CONFLICT (ns, key) DO UPDATE SET "
            "value = excluded.value, version = kv.version + 1, updated_at = excluded.updated_at",
            ("bench", KEYS[i % 1000], json.dumps(VALUE), time.time()),
        )

    def get(i: int) -> object:
        row = conn.execute(
            "SELECT value FROM kv WHERE ns = %s AND key = %s", ("bench", KEYS[i % 1000])
        ).fetchone()
        assert row is not None
        return json.loads(row[0])

    def append(i: int) -> None:
        conn.execute(
            "WITH u AS (UPDATE kv SET version = version + 1 WHERE ns = 'bench' AND key = 'list' "
            "RETURNING version) INSERT INTO items SELECT 'bench', 'list', u.version, %s FROM u",
            (json.dumps(VALUE),),
        )

    return {"set": set_, "get": get, "append": append}


def botwire_memory(url: str) -> Ops:
    memory = Memory("bench", url=url)
    return {
        "set": lambda i: memory.set(KEYS[i % 1000], VALUE),
        "get": lambda i: memory.get(KEYS[i % 1000]),
        "append": lambda i: memory.append("list", VALUE),
    }


def append_flatness(url: str) -> tuple[float, float]:
    """Median time of an append to a short list (<= 50 items) and to a 10,000-item one.

    The two are timed alternately, so a change of load on the machine (or
    PostgreSQL writing a checkpoint) slows both alike.
    """
    short: list[float] = []
    long: list[float] = []
    with Memory("flat", url=url) as memory:
        memory.append("long", *([VALUE] * 10_000))
        for i in range(300):
            if i % 50 == 0:
                memory.delete("short")
                memory.append("short", VALUE)
            for key, samples in (("short", short), ("long", long)):
                start = time.perf_counter()
                memory.append(key, VALUE)
                samples.append(time.perf_counter() - start)
    return statistics.median(short), statistics.median(long)


def main() -> int:
    base_url = os.environ.get("BOTWIRE_TEST_POSTGRES_URL")
    if not base_url:
        print("skipped: set BOTWIRE_TEST_POSTGRES_URL=postgresql://user@host:5432/db to run")
        return 0
    import psycopg

    schema = f"bw_bench_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in base_url else "?"
    url = f"{base_url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = Memory("bench", store=SQLiteStore(Path(tmp) / "bench.db"))
            contenders = {
                "botwire-pg": botwire_memory(url),
                "psycopg": raw_psycopg(url),
                "botwire-sqlite": {
                    "set": lambda i: sqlite.set(KEYS[i % 1000], VALUE),
                    "get": lambda i: sqlite.get(KEYS[i % 1000]),
                    "append": lambda i: sqlite.append("list", VALUE),
                },
            }
            results = {
                op: interleaved_ops_per_second(
                    {name: ops[op] for name, ops in contenders.items()}, N, ROUNDS
                )
                for op in ("set", "get", "append")
            }
            first, last = append_flatness(url)
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')

    print(f"PostgreSQL store: {N} ops per round, best of {ROUNDS} interleaved rounds (ops/s)")
    header = f"{'op':<8}{'botwire-pg':>12}{'psycopg':>12}{'botwire-sqlite':>16}"
    print(f"{header}{'pg/psycopg':>12}")
    for op, r in results.items():
        ratio = r["botwire-pg"] / r["psycopg"]
        print(
            f"{op:<8}{r['botwire-pg']:>12,.0f}{r['psycopg']:>12,.0f}"
            f"{r['botwire-sqlite']:>16,.0f}{ratio:>11.2f}x"
        )
    growth = last / first
    print(
        f"append to a list of <= 50: {first * 1e6:.0f} us; of ~10,000: {last * 1e6:.0f} us "
        f"(ratio {growth:.2f})"
    )

    def ratio_of(op: str) -> float:
        return results[op]["botwire-pg"] / results[op]["psycopg"]

    checks = [
        ("get >= 0.5x psycopg", ratio_of("get") >= 0.5),
        ("set >= 0.7x psycopg", ratio_of("set") >= 0.7),
        ("append >= 0.5x psycopg", ratio_of("append") >= 0.5),
        ("10,000th append within 25% of the 1st", growth <= 1.25),
    ]
    for name, ok in checks:
        print(f"  {verdict(ok)}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
