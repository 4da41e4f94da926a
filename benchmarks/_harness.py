"""Tiny timing helpers shared by the benchmarks (no third-party dependency)."""

from __future__ import annotations

import time
from collections.abc import Callable


def interleaved_ops_per_second(
    contenders: dict[str, Callable[[int], object]], n: int, rounds: int = 7
) -> dict[str, float]:
    """Best-of-``rounds`` throughput of each contender calling ``fn(i)`` for i < n.

    Contenders take turns round by round, so a burst of load on the machine
    slows them alike instead of skewing the ratios.
    """
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for i in range(n):
                fn(i)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: n / seconds for name, seconds in best.items()}


def verdict(ok: bool) -> str:
    """PASS/MISS marker for a printed target."""
    return "PASS" if ok else "MISS"
