"""Many processes, one SQLite file: nothing lost, no "database is locked" surfacing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from botwire import Memory

PROCESSES = 8
APPENDS = 250
UPDATES = 100


def _worker(url: str, n: int) -> None:
    memory = Memory("shared", url)
    for i in range(APPENDS):
        memory.append("items", f"{n}:{i}")
        if i < UPDATES:
            memory.update("counter", lambda c: c + 1, default=0)
    memory.close()


@pytest.mark.slow
def test_eight_processes_share_one_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(url, n)) for n in range(PROCESSES)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(240)
    assert [w.exitcode for w in workers] == [0] * PROCESSES, "a worker failed (see its stderr)"

    memory = Memory("shared", url)
    items = memory.get("items")
    assert len(items) == PROCESSES * APPENDS
    assert len(set(items)) == PROCESSES * APPENDS
    for n in range(PROCESSES):
        assert [x for x in items if x.startswith(f"{n}:")] == [f"{n}:{i}" for i in range(APPENDS)]
    assert memory.get("counter") == PROCESSES * UPDATES
