"""Benchmark: a LangGraph thread's per-step cost and storage, by thread length.

One thread whose state grows by one chat message (~330 bytes) per step, as an
agent's conversation does; run twice, with LangChain messages (what agents store:
LangGraph's serializer rebuilds every message on each read, for every saver) and
with plain strings of the same size (which shows the storage's own cost). A step
is what LangGraph does for each superstep: one
``put`` of the new checkpoint (the message list is a new channel version; a step
counter too) and one ``get_tuple`` of the thread's latest checkpoint. Compared:

* ``BotWireSaver`` on the embedded SQLite file (and on PostgreSQL with a URL), and
  on the embedded file with its in-process cache of list items turned off
  (``cache_bytes=0``: every read fetches and decodes the whole message list);
* ``BotWireSaver`` on the embedded file with ``assume_immutable=True``: ``put``
  serializes only the messages that are not the very objects it already stored,
  and ``get_tuple`` hands out its cached messages instead of copies (the caller
  promises never to change a message in place, as LangGraph's reducers do);
* a control row: the same ``assume_immutable=True`` saver on a new thread every 10
  steps, each starting with 4 messages, so its "step 1,000" does the work of its
  "step 1" (appending a message to a short list's log). Its ratio is what the
  process around a step (the other contenders' thousand-message heaps and garbage,
  shared CPU caches) adds by step 1,000; each BotWireSaver row's flat ratio is also
  printed divided by it;
* ``langgraph-checkpoint-sqlite``'s ``SqliteSaver`` on its own SQLite file;
* ``langgraph-checkpoint-postgres``'s ``PostgresSaver``, when a PostgreSQL URL is
  given (``--postgres-url`` or ``$BOTWIRE_TEST_POSTGRES_URL``), in a throwaway schema.

"step n" is the best of the 10 steps ending at step n ("step 1": steps 1-10): on a
shared, loaded machine the median of so few steps swings several-fold between runs.
"bytes" is what the saver
stored for the thread after step n: BotWire's namespace usage (keys and values),
the SQL savers' row payloads (the uncompressed length of every text, blob and
JSON column; PostgreSQL may compress them on disk).

Targets (issue 18): step 1,000 within 1.25x of step 1 (printed for each
``BotWireSaver`` row; met with ``assume_immutable=True``, whose row a full run then
measures again alone in a process of its own); bytes growing linearly;
embedded per-step time <= 1.5x SqliteSaver's at step 1 and faster at step 1,000.

Usage::

    python -m benchmarks.bench_langgraph [--steps 1000] [--postgres-url URL] [--only ROW]...
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint

from benchmarks._harness import verdict
from botwire import Memory
from botwire.langchain import BotWireSaver

EDGE = 10
MARKS = (1, 100, 1000)
CONTROL = "control: immutable, 10 steps"
IMMUTABLE = "BotWireSaver, immutable"
"""The control row: ``assume_immutable`` on threads of 10 steps, new every 10 steps."""
SEED = 4
"""Messages a control thread starts with (the length from which a list has a log)."""


def message(i: int) -> BaseMessage:
    text = f"message {i}: " + "lorem ipsum dolor sit amet " * 9
    return HumanMessage(text, id=f"m-{i}") if i % 2 == 0 else AIMessage(text, id=f"m-{i}")


class Thread:
    """One thread on one saver, stepped from outside (so contenders can take turns).

    ``restart=n``: a new thread every ``n`` steps, each starting with ``SEED`` messages
    (so every step appends to a list log, as a long thread's steps do): every window
    of ``n`` steps does the same work (the control row: how much the process around
    a step, not the thread's length, slows it down by step 1,000).
    """

    def __init__(
        self,
        saver: BaseCheckpointSaver[Any],
        measure: Callable[[], int],
        payload: str,
        restart: int | None = None,
    ) -> None:
        self.saver, self.measure, self.payload, self.restart = saver, measure, payload, restart
        self.times: list[float] = []
        self.sizes: dict[int, int] = {}
        self.new_thread()

    def new_thread(self) -> None:
        self.config: Any = {
            "configurable": {"thread_id": f"bench-{uuid.uuid4().hex[:8]}", "checkpoint_ns": ""}
        }
        self.checkpoint = empty_checkpoint()
        seed = [message(-i) for i in range(SEED)] if self.restart else []
        self.messages: list[Any] = [m if self.payload == "messages" else m.content for m in seed]

    def step(self, step: int, marks: list[int]) -> None:
        saver = self.saver
        if self.restart and step > 1 and (step - 1) % self.restart == 0:
            self.new_thread()
        item = message(step)
        self.messages = [*self.messages, item if self.payload == "messages" else item.content]
        old = self.checkpoint["channel_versions"]
        versions = {
            "messages": saver.get_next_version(old.get("messages"), None),
            "step": saver.get_next_version(old.get("step"), None),
        }
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": self.messages, "step": step}
        checkpoint["channel_versions"] = versions
        checkpoint["versions_seen"] = {"agent": dict(versions)}
        metadata: Any = {"source": "loop", "step": step, "parents": {}}
        start = time.perf_counter()
        self.config = saver.put(self.config, checkpoint, metadata, versions)
        loaded = saver.get_tuple(self.config)
        self.times.append(time.perf_counter() - start)
        self.checkpoint = checkpoint
        stored = loaded.checkpoint["channel_values"]["messages"] if loaded else None
        assert stored is not None and len(stored) == len(self.messages)
        if step in marks:
            self.sizes[step] = self.measure()


@contextmanager
def botwire_saver(
    url: str, **options: Any
) -> Iterator[tuple[BaseCheckpointSaver[Any], Callable[[], int]]]:
    with Memory(f"bench-{uuid.uuid4().hex[:8]}", url, max_value_bytes=None) as memory:
        try:
            saver = BotWireSaver(memory, **options)
            yield saver, lambda: memory.store.usage(memory.namespace).bytes
        finally:
            memory.delete_many(memory.list_keys())


@contextmanager
def sqlite_saver(path: Path) -> Iterator[tuple[BaseCheckpointSaver[Any], Callable[[], int]]]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()

    def measure() -> int:
        total = 0
        for table in ("checkpoints", "writes"):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            expr = " + ".join(f"coalesce(length({c}), 0)" for c in cols)
            total += conn.execute(f"SELECT coalesce(sum({expr}), 0) FROM {table}").fetchone()[0]
        return int(total)

    try:
        yield saver, measure
    finally:
        conn.close()


@contextmanager
def postgres_saver(url: str) -> Iterator[tuple[BaseCheckpointSaver[Any], Callable[[], int]]]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            with psycopg.connect(
                url,
                autocommit=True,
                prepare_threshold=0,
                row_factory=dict_row,
                options=f"-c search_path={schema}",
            ) as conn:
                saver = PostgresSaver(conn)
                saver.setup()

                def measure() -> int:
                    total = 0
                    for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
                        cols = admin.execute(
                            "SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = %s AND table_name = %s",
                            (schema, table),
                        ).fetchall()
                        expr = " + ".join(
                            f"coalesce(octet_length({c}{'::text' if t == 'jsonb' else ''}), 0)"
                            for c, t in cols
                            if t in ("text", "bytea", "jsonb")
                        )
                        row = admin.execute(
                            f"SELECT coalesce(sum({expr}), 0) FROM {schema}.{table}"
                        ).fetchone()
                        total += int(row[0]) if row else 0
                    return total

                yield saver, measure
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def us(seconds: float) -> str:
    return f"{seconds * 1e6:9.0f} us"


def size(n: int) -> str:
    return f"{n / 1e6:8.2f} MB" if n >= 1e6 else f"{n / 1e3:8.1f} kB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--postgres-url", default=os.environ.get("BOTWIRE_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--only",
        action="append",
        metavar="ROW",
        help="run only this row (repeatable), e.g. --only 'BotWireSaver, immutable': "
        "its steps alone in the process, without the others' heaps and garbage",
    )
    args = parser.parse_args(argv)
    steps = args.steps
    marks = [m for m in MARKS if m <= steps] or [steps]
    tmp = Path(tempfile.mkdtemp(prefix="bench-langgraph-"))
    try:
        status = run(args.steps, marks, tmp, args.postgres_url, args.only)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if status == 0 and not args.only:
        # The flat target's own measure: the row alone, in a process of its own (the
        # control row shows what the shared process adds by the last step).
        print(f"\n== {IMMUTABLE!r} again, alone in a process of its own")
        sys.stdout.flush()
        command = [sys.executable, "-m", "benchmarks.bench_langgraph", "--steps", str(steps)]
        status = subprocess.run([*command, "--only", IMMUTABLE], check=False).returncode
    return status


def run(
    steps: int, marks: list[int], tmp: Path, postgres_url: str | None, only: list[str] | None
) -> int:

    contenders: dict[str, Callable[[str], Any]] = {
        "BotWireSaver, embedded": lambda p: botwire_saver(f"sqlite:///{tmp / f'botwire-{p}.db'}"),
        "BotWireSaver, no cache": lambda p: botwire_saver(
            f"sqlite:///{tmp / f'botwire-nocache-{p}.db'}", cache_bytes=0
        ),
        IMMUTABLE: lambda p: botwire_saver(
            f"sqlite:///{tmp / f'botwire-immutable-{p}.db'}", assume_immutable=True
        ),
        CONTROL: lambda p: botwire_saver(
            f"sqlite:///{tmp / f'botwire-control-{p}.db'}", assume_immutable=True
        ),
        "SqliteSaver": lambda p: sqlite_saver(tmp / f"sqlite-saver-{p}.db"),
    }
    if postgres_url:
        contenders["BotWireSaver, PostgreSQL"] = lambda p: botwire_saver(postgres_url)
        contenders["PostgresSaver"] = lambda p: postgres_saver(postgres_url)
    elif not only:
        print("(no --postgres-url / $BOTWIRE_TEST_POSTGRES_URL: PostgreSQL skipped)")
    if only:
        unknown = sorted(set(only) - set(contenders))
        if unknown:
            print(f"unknown rows {unknown}; rows: {list(contenders)}", file=sys.stderr)
            return 2
        contenders = {name: make for name, make in contenders.items() if name in only}

    header = "".join(f"{f'step {m}':>13}" for m in marks)
    tables: dict[str, dict[str, tuple[dict[int, float], dict[int, int]]]] = {}
    for payload in ("messages", "text"):
        what = "LangChain message" if payload == "messages" else "plain string"
        print(f"\n== one thread, {steps} steps, +1 {what} (~330 bytes) per step; put + get_tuple")
        results = tables[payload] = {}
        with ExitStack() as stack:
            threads = {}
            for name, make in contenders.items():
                saver, measure = stack.enter_context(make(payload))
                threads[name] = Thread(saver, measure, payload, EDGE if name == CONTROL else None)
            # Contenders take turns, so load hits all alike, and who goes first rotates:
            # the first of a round was measured up to 2.5x slower than the same code
            # going second (garbage collections and caches left by the others).
            order = list(threads.values())
            for step in range(1, steps + 1):
                first = step % len(order)
                for thread in order[first:] + order[:first]:
                    thread.step(step, marks)
        print(f"{'per-step time':28}{header}{'last/first':>12}")
        for name, thread in threads.items():
            times = thread.times
            at = {m: min(times[max(0, m - EDGE) : max(m, EDGE)]) for m in marks}
            results[name] = (at, thread.sizes)
            ratio = at[marks[-1]] / at[marks[0]]
            print(f"{name:28}" + "".join(f"{us(at[m]):>13}" for m in marks) + f"{ratio:11.2f}x")
        print(f"{'bytes stored':28}{header}{'per step, last':>16}")
        for name, (_, sizes) in results.items():
            if name == CONTROL:
                continue  # many short threads: its bytes say nothing
            last = marks[-1]
            print(f"{name:28}" + "".join(f"{size(sizes[m]):>13}" for m in marks), end="")
            print(f"{size(sizes[last] // last):>16}")

    first, last = marks[0], marks[-1]
    results = tables["messages"]
    if "BotWireSaver, embedded" in results and "SqliteSaver" in results:
        targets(results, marks)
    for payload, what in (("messages", "LangChain messages"), ("text", "plain strings")):
        rows = tables[payload]
        print(f"\nflat: step {last} / step {first}, each BotWireSaver row ({what}; <= 1.25x)")
        control = 0.0
        if CONTROL in rows:
            control = rows[CONTROL][0][last] / rows[CONTROL][0][first]
            print(f"  ({CONTROL!r} does step 1's work at step {last}: {control:.2f}x)")
        for name, (times, _) in rows.items():
            if name.startswith("BotWireSaver"):
                ratio = times[last] / times[first]
                versus = f"   (/ control: {ratio / control:5.2f}x)" if control else ""
                print(f"  {name:28}{ratio:6.2f}x  {verdict(ratio <= 1.25)}{versus}")
    return 0


def targets(results: dict[str, tuple[dict[int, float], dict[int, int]]], marks: list[int]) -> None:
    """Print issue 18's targets for the default BotWireSaver, embedded."""
    ours_t, ours_b = results["BotWireSaver, embedded"]
    base_t, _ = results["SqliteSaver"]
    first, last = marks[0], marks[-1]
    flat = ours_t[last] / ours_t[first]
    vs_first = ours_t[first] / base_t[first]
    vs_last = ours_t[last] / base_t[last]
    # Linear growth: bytes per step at the end at most 2x bytes per step at the middle mark.
    mid = marks[len(marks) // 2]
    linear = (ours_b[last] / last) / (ours_b[mid] / mid) if last != mid else 1.0
    print("\ntargets (BotWireSaver, embedded; LangChain messages)")
    print(f"  step {last} / step {first}: {flat:6.2f}x  (<= 1.25x)  {verdict(flat <= 1.25)}")
    print(
        f"  bytes per step, step {last} / step {mid}: {linear:6.2f}x  (linear: <= 2x)  "
        f"{verdict(linear <= 2)}"
    )
    print(
        f"  vs SqliteSaver at step {first}: {vs_first:6.2f}x  (<= 1.5x)  {verdict(vs_first <= 1.5)}"
    )
    print(f"  vs SqliteSaver at step {last}: {vs_last:6.2f}x  (< 1x)  {verdict(vs_last < 1)}")
    if "BotWireSaver, no cache" in results:
        uncached, _ = results["BotWireSaver, no cache"]
        print(f"  (with its cache vs without at step {last}: {ours_t[last] / uncached[last]:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
