"""Fault injection between client and server: exactly-once figures per fault kind.

Run: ``.venv/bin/python -m benchmarks.bench_faults`` (~30 s), ``--per-worker 300``
for a longer run, ``--db postgresql://…`` for a PostgreSQL-backed server.

A real server process, the real HTTP client (default retry policy, or
``--fast-retries``), and ``tests/security/faultproxy.py`` in between. Each row
runs the same write workload (sets of fresh keys, appends of unique items,
batches of both) under one mix of faults, then audits every write over a direct
connection (``tests/security/faultrun.py``). The baseline row has no faults.

Figure: operations under faults, duplicates and losses (both must be 0).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from botwire._http import RetryPolicy
from tests.security import faultrun
from tests.security.procs import launch_server

MIXES: dict[str, dict[str, float]] = {
    "baseline (no faults)": {"pass": 1.0},
    "drop 15%": {"pass": 0.85, "drop": 0.15},
    "delay 15%": {"pass": 0.85, "delay": 0.15},
    "503 15%": {"pass": 0.85, "503": 0.15},
    "cut mid-answer 15%": {"pass": 0.85, "cut": 0.15},
    "reset after write 15%": {"pass": 0.85, "reset": 0.15},
    "all of them, 40%": {
        "pass": 0.6,
        "drop": 0.08,
        "delay": 0.08,
        "503": 0.08,
        "cut": 0.08,
        "reset": 0.08,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--per-worker", type=int, default=90)
    parser.add_argument("--db", default=None, help="store URL (default: a temp SQLite file)")
    parser.add_argument(
        "--fast-retries",
        action="store_true",
        help="10 attempts, 10 ms base backoff (default: the client's own policy)",
    )
    args = parser.parse_args()
    db = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='botwire-faults-')) / 'f.db'}"
    retry = RetryPolicy(attempts=10, base=0.01, cap=0.2) if args.fast_retries else RetryPolicy()
    print(
        f"fault injection: {args.workers} clients x {args.per_worker} writes per mix "
        f"(retry: {retry.attempts} attempts, base {retry.base} s, cap {retry.cap} s)"
    )
    header = f"  {'mix':24} {'ops':>5} {'acked':>6} {'errors':>7} {'dup':>4} {'lost':>5} "
    print(header + f"{'sets x2':>8} {'faults':>7} {'secs':>6}")
    total = dups = lost = 0
    with launch_server(db, "--no-access-log") as server:
        for n, (name, weights) in enumerate(MIXES.items()):
            figures = faultrun.run(
                server.url,
                weights,
                workers=args.workers,
                per_worker=args.per_worker,
                seed=100 + n,
                namespace=f"bench-faults-{n}",
                retry=retry,
            )
            faulted = sum(v for k, v in figures.faults.items() if k != "pass")
            errors = sum(figures.errors.values())
            print(
                f"  {name:24} {figures.operations:5} {figures.acknowledged:6} {errors:7} "
                f"{figures.duplicates:4} {figures.losses:5} {figures.reapplied_sets:8} "
                f"{faulted:7} {figures.seconds:6.1f}"
            )
            if n:
                total += figures.operations
            dups += figures.duplicates
            lost += figures.losses
    print(f"  operations under faults: {total}; duplicates: {dups}; losses: {lost}")
    print(
        "  ('errors': UnavailableError surfaced for writes whose outcome the client cannot "
        "know; 'sets x2': a set re-sent after its answer was cut, applied twice with the "
        "same value)"
    )
    print(f"  {'PASS' if dups == 0 and lost == 0 else 'MISS'}: 0 duplicates, 0 losses")


if __name__ == "__main__":
    main()
