"""How fast is BotWire as CrewAI memory storage, against CrewAI's default (LanceDB)?

Both run in the same process, on the same records, in a temporary folder:

* save: one record per call (what ``Memory.remember`` does), records per second;
* search: ``search(vector, limit=10)`` over every record, and within one scope;
* list: ``list_records(limit=20)`` (newest first);
* BotWireCrewMemory.recall (keyword recall, no embedder) for comparison.

Usage: ``python benchmarks/bench_crewai.py [--records 1000] [--dim 768]``.
Ratios are BotWire time / LanceDB time (below 1: BotWire is faster).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_TMP = Path(tempfile.mkdtemp(prefix="botwire-bench-crewai-"))
os.environ.update(
    HOME=str(_TMP / "home"),
    CREWAI_STORAGE_DIR=str(_TMP / "crewai"),
    BOTWIRE_HOME=str(_TMP / "botwire"),
    CREWAI_DISABLE_TELEMETRY="true",
    CREWAI_TRACING_ENABLED="false",
    OTEL_SDK_DISABLED="true",
)

from crewai.memory.storage.lancedb_storage import LanceDBStorage  # noqa: E402
from crewai.memory.types import MemoryRecord  # noqa: E402

from botwire.crewai import BotWireCrewMemory, BotWireStorage  # noqa: E402

WORDS = "alpha beta gamma delta client report budget launch server deploy invoice".split()


def records(n: int, dim: int) -> list[MemoryRecord]:
    rng = random.Random(7)
    return [
        MemoryRecord(
            content=" ".join(rng.choices(WORDS, k=8)),
            scope=f"/crew/team-{i % 10}",
            categories=[rng.choice(WORDS)],
            embedding=[rng.gauss(0, 1) for _ in range(dim)],
        )
        for i in range(n)
    ]


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(storage: Any, data: list[MemoryRecord], query: list[float]) -> dict[str, float]:
    start = time.perf_counter()
    for record in data:
        storage.save([record])
    saved = len(data) / (time.perf_counter() - start)
    return {
        "save (records/s)": saved,
        "search all (ms)": median_ms(lambda: storage.search(query, limit=10), 15),
        "search one scope (ms)": median_ms(
            lambda: storage.search(query, scope_prefix="/crew/team-3", limit=10), 15
        ),
        "list newest 20 (ms)": median_ms(lambda: storage.list_records(limit=20), 15),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=768)
    args = parser.parse_args()
    data = records(args.records, args.dim)
    query = data[0].embedding or []

    lance = measure(LanceDBStorage(path=str(_TMP / "lance")), data, query)
    botwire = measure(BotWireStorage("bench"), data, query)

    print(f"{args.records} records, {args.dim}-dim embeddings, embedded SQLite vs LanceDB")
    print(f"{'':26}{'LanceDB':>12}{'BotWire':>12}{'ratio':>9}")
    for name, base in lance.items():
        ours = botwire[name]
        ratio = base / ours if name.startswith("save") else ours / base
        print(f"{name:26}{base:12.2f}{ours:12.2f}{ratio:9.2f}")
    print("(ratio: BotWire time / LanceDB time; below 1 means BotWire is faster)")

    memory = BotWireCrewMemory("bench-keywords")
    memory.storage_backend.save([r.model_copy(update={"embedding": None}) for r in data])
    recall = median_ms(lambda: memory.recall("client budget report", limit=5), 9)
    print(f"BotWireCrewMemory.recall over {args.records} records (no embedder): {recall:.2f} ms")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
