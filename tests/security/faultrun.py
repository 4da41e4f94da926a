"""A write workload through :class:`FaultProxy`, then an exactly-once audit.

Shared by ``test_faults.py`` (short) and ``benchmarks/bench_faults.py`` (longer).
Every operation writes something unique, so the audit can tell, for each one the
client saw acknowledged, whether it landed, and for every item whether it landed
twice:

* ``set``    a fresh key: must exist at version 1 (2+ means it was applied twice);
* ``append`` a unique item to a per-worker list: must be there exactly once;
* ``batch``  a fresh key set plus a unique item appended, in one transaction.

Operations that raised (the retry budget ran out) are "unacknowledged": they may
or may not have landed, and are only checked for duplicates.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from botwire import AppendOp, BotWireError, Memory, SetOp
from botwire._http import HTTPStore, RetryPolicy
from tests.security.faultproxy import FaultProxy

KINDS = ("set", "append", "batch")


@dataclass
class Figures:
    """What a fault run measured."""

    operations: int = 0
    acknowledged: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    duplicates: int = 0
    losses: int = 0
    reapplied_sets: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "none"
        return (
            f"operations under faults: {self.operations} ({self.acknowledged} acknowledged, "
            f"errors surfaced: {errors}); duplicates: {self.duplicates}; losses: {self.losses}; "
            f"sets applied twice: {self.reapplied_sets}; requests faulted: {faults}; "
            f"{self.seconds:.1f} s"
        )


def run(
    server_url: str,
    weights: dict[str, float],
    *,
    workers: int = 4,
    per_worker: int = 60,
    seed: int = 1,
    namespace: str = "faults",
    retry: RetryPolicy | None = None,
) -> Figures:
    """Run the workload through a proxy with ``weights`` and audit the result."""
    host, port = server_url.removeprefix("http://").rsplit(":", 1)
    retry = retry or RetryPolicy(attempts=10, base=0.01, cap=0.2)
    acked: list[tuple[str, int, int]] = []
    errors: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    started = time.monotonic()
    with FaultProxy(host, int(port), weights, delay=0.05, seed=seed) as proxy:

        def worker(w: int) -> None:
            store = HTTPStore(proxy.url, timeout=5.0, retry=retry)
            with Memory(namespace, store=store) as m:
                for i in range(per_worker):
                    kind = KINDS[i % len(KINDS)]
                    try:
                        if kind == "set":
                            m.set(f"s-{w}-{i}", {"w": w, "i": i})
                        elif kind == "append":
                            m.append(f"log-{w}", f"{w}-{i}")
                        else:
                            item = json.dumps(f"b{w}-{i}")
                            m.batch([SetOp(f"b-{w}-{i}", item), AppendOp(f"blog-{w}", (item,))])
                    except BotWireError as exc:
                        with lock:
                            errors[type(exc).__name__] += 1
                        continue
                    with lock:
                        acked.append((kind, w, i))
            store.close()

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        faults = dict(proxy.counts)
    figures = Figures(
        operations=workers * per_worker,
        acknowledged=len(acked),
        errors=errors,
        faults=faults,
        seconds=time.monotonic() - started,
    )
    _audit(server_url, namespace, workers, acked, figures)
    return figures


def _audit(
    url: str, namespace: str, workers: int, acked: list[tuple[str, int, int]], figures: Figures
) -> None:
    with Memory(namespace, url) as m:
        items: collections.Counter[Any] = collections.Counter()
        for w in range(workers):
            items.update(m.get_list(f"log-{w}"))
            items.update(m.get_list(f"blog-{w}"))
        figures.duplicates = sum(n - 1 for n in items.values() if n > 1)
        for kind, w, i in acked:
            if kind == "set":
                item = m.get_item(f"s-{w}-{i}")
                if item is None or item.value != {"w": w, "i": i}:
                    figures.losses += 1
                elif item.version > 1:
                    figures.reapplied_sets += 1
            elif kind == "append":
                if items[f"{w}-{i}"] == 0:
                    figures.losses += 1
            else:
                item = m.get_item(f"b-{w}-{i}")
                if item is None or items[f"b{w}-{i}"] == 0:
                    figures.losses += 1
                elif item.version > 1:
                    figures.reapplied_sets += 1
