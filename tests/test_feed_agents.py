"""Agents in separate processes coordinating through the change feed.

* Two agents: a "researcher" process writes ``result:{task}``; a "writer" process,
  blocked in ``wait_for``, wakes and continues (embedded file, and a server).
* A consumer killed mid-stream and restarted with its saved seq sees every change
  exactly once while 8 writer processes write.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from botwire import Memory
from tests.conftest import postgres_url

TASK = "task-7"


def _fresh_schema(url: str, name: str) -> str:
    import psycopg

    schema = "feed_" + "".join(c for c in name if c.isalnum())[-40:].lower()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "http+sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    db = f"sqlite:///{tmp_path / 'agents.db'}"
    if request.param == "sqlite":
        yield db
        return
    if request.param == "postgres":  # a fresh schema: these tests count from seq 1
        yield _fresh_schema(postgres_url(), tmp_path.name)
        return
    pytest.importorskip("fastapi")
    from tests.servers import start_server

    with start_server(db) as server:
        yield server.url


def _researcher(url: str) -> None:
    time.sleep(1.0)  # research takes a while
    with Memory("agents", url) as memory:
        memory.set(f"result:{TASK}", {"summary": "BotWire coordinates agents"})


def _writer(url: str, out: str) -> None:
    with Memory("agents", url) as memory:
        result = memory.wait_for(f"result:{TASK}", timeout=60)
        memory.set(f"draft:{TASK}", f"Article based on: {result['summary']}")
    Path(out).write_text("done")


def test_a_writer_agent_waits_for_the_researchers_result(url: str, tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    out = str(tmp_path / "writer.done")
    writer = context.Process(target=_writer, args=(url, out))
    researcher = context.Process(target=_researcher, args=(url,))
    writer.start()
    researcher.start()
    researcher.join(60)
    writer.join(60)
    assert (researcher.exitcode, writer.exitcode) == (0, 0)
    assert Path(out).read_text() == "done"
    with Memory("agents", url) as memory:
        assert memory.get(f"draft:{TASK}") == "Article based on: BotWire coordinates agents"


WRITERS, WRITES = 8, 40


def _produce(url: str, writer: int) -> None:
    with Memory("stream", url) as memory:
        for i in range(WRITES):
            memory.set(f"w{writer}:{i}", i)
            time.sleep(0.005)


def _consume(url: str, log: str) -> None:
    """Handle changes; the handled line *is* the saved seq (one write per change)."""
    lines = Path(log).read_text().splitlines() if os.path.exists(log) else []
    since = int(lines[-1].split()[0]) if lines else 0
    with Memory("stream", url) as memory, open(log, "a") as handled:
        for change in memory.watch(since=since, timeout=5):
            handled.write(f"{change.seq} {change.key}\n")
            handled.flush()


def test_a_consumer_killed_and_restarted_sees_every_change_exactly_once(
    url: str, tmp_path: Path
) -> None:
    context = multiprocessing.get_context("spawn")
    log = str(tmp_path / "handled.log")
    Memory("stream", url).close()  # the file (or server) is ready before the race
    consumer = context.Process(target=_consume, args=(url, log))
    consumer.start()
    writers = [context.Process(target=_produce, args=(url, w)) for w in range(WRITERS)]
    for w in writers:
        w.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        not os.path.exists(log) or len(Path(log).read_text().splitlines()) < 20
    ):
        time.sleep(0.01)
    assert consumer.pid is not None
    os.kill(consumer.pid, signal.SIGKILL)  # mid-stream
    consumer.join(10)
    restarted = context.Process(target=_consume, args=(url, log))
    restarted.start()
    for w in writers:
        w.join(120)
    restarted.join(120)
    assert [w.exitcode for w in writers] == [0] * WRITERS and restarted.exitcode == 0
    handled = [line.split() for line in Path(log).read_text().splitlines()]
    seqs = [int(seq) for seq, _ in handled]
    assert seqs == list(range(1, WRITERS * WRITES + 1))  # in order, none missed, none twice
    keys = sorted(key for _, key in handled)
    assert keys == sorted(f"w{w}:{i}" for w in range(WRITERS) for i in range(WRITES))
