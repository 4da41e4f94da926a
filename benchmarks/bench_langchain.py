"""Benchmark: the cost of a chat turn and of reading recent messages, by session length.

Compares, on the same BotWire store:

* ``BotWireChatMessageHistory``: one atomic append per turn, tail reads for a window;
* a read-modify-write history that reads the whole list and writes it back on every
  turn, as the original SDK's ``BotWireChatHistory`` did;
* LangChain's own ``InMemoryChatMessageHistory`` (in-process, not durable) as the
  floor.

A turn adds one message of about 300 bytes (the original SDK's ``add_message``).
Targets: turn 1,000 costs at most 1.25x turn 1; reading the last 20 messages of a
1,000-message session is at least 10x faster than reading the whole history.

Usage::

    python benchmarks/bench_langchain.py [--turns 1000] [--sessions 5] [--url URL]

Without ``--url`` it uses a fresh SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory, InMemoryChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    messages_from_dict,
    messages_to_dict,
)

import botwire
from botwire._codec import encode
from botwire.langchain import BotWireChatMessageHistory

EDGE = 10  # turns averaged at each end: "turn 1" is turns 1-10, "turn N" the last 10
WINDOW = 20


class ReadModifyWriteHistory(BaseChatMessageHistory):
    """The original SDK's approach: read the whole list, add, write it all back."""

    def __init__(self, session_id: str, memory: botwire.Memory) -> None:
        self.key, self.memory = session_id, memory

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return messages_from_dict(self.memory.get(self.key, []))

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        current = self.memory.get(self.key, [])
        current.extend(messages_to_dict(list(messages)))
        self.memory.set(self.key, current)

    def clear(self) -> None:
        self.memory.delete(self.key)


def message(i: int) -> BaseMessage:
    """About 300 bytes once serialized with messages_to_dict."""
    text = f"message {i}: " + "lorem ipsum dolor sit amet " * 7
    return HumanMessage(text) if i % 2 == 0 else AIMessage(text)


def turn_times(make: Callable[[str], BaseChatMessageHistory], sessions: int, turns: int) -> Any:
    """Seconds per turn, ``times[s][t]`` for session ``s`` and turn ``t``."""
    times = []
    for s in range(sessions):
        history = make(f"bench-{s}-{time.time_ns()}")
        row = []
        for t in range(turns):
            m = [message(t)]
            start = time.perf_counter()
            history.add_messages(m)
            row.append(time.perf_counter() - start)
        times.append(row)
    return times


def ends(times: list[list[float]]) -> tuple[float, float]:
    """Median cost of the first and of the last EDGE turns, over every session."""
    first = statistics.median(t for row in times for t in row[:EDGE])
    last = statistics.median(t for row in times for t in row[-EDGE:])
    return first, last


def read_time(read: Callable[[], list[BaseMessage]], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        read()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} us"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000, help="turns per session")
    parser.add_argument("--sessions", type=int, default=5, help="sessions per history kind")
    parser.add_argument("--url", help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=50, help="reads timed per figure")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # InMemoryChatMessageHistory is deprecated (a warning)

    tmp = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    namespace = f"bench-{time.time_ns()}"
    memory = botwire.Memory(namespace, url)
    n = args.turns
    size = len(encode(messages_to_dict([message(1)])[0]))
    print(f"store: {memory.store!r}")
    print(f"{n} turns of one ~{size}-byte message; {args.sessions} sessions per kind")
    print(f"'turn 1' = median of turns 1-{EDGE}, 'turn {n}' = median of the last {EDGE}\n")

    kinds: dict[str, Callable[[str], BaseChatMessageHistory]] = {
        "BotWireChatMessageHistory (append)": lambda s: BotWireChatMessageHistory(s, memory=memory),
        "read-modify-write (original SDK)": lambda s: ReadModifyWriteHistory(s, memory),
        "InMemoryChatMessageHistory (no I/O)": lambda s: InMemoryChatMessageHistory(),
    }
    rmw_sessions = max(1, min(args.sessions, 2))  # each one moves hundreds of MB
    results: dict[str, tuple[float, float]] = {}
    print(f"{'write: one turn':38} {'turn 1':>13} {f'turn {n}':>13} {'ratio':>8}")
    for name, make in kinds.items():
        sessions = rmw_sessions if name.startswith("read-modify") else args.sessions
        first, last = ends(turn_times(make, sessions, n))
        results[name] = (first, last)
        print(f"{name:38} {us(first)} {us(last)} {last / first:7.2f}x")

    # Reads of one n-message session.
    sid = f"read-{time.time_ns()}"
    BotWireChatMessageHistory(sid, memory=memory).add_messages([message(i) for i in range(n)])
    rmw_sid = f"read-rmw-{time.time_ns()}"
    ReadModifyWriteHistory(rmw_sid, memory).add_messages([message(i) for i in range(n)])
    local = InMemoryChatMessageHistory()
    local.add_messages([message(i) for i in range(n)])
    windowed = BotWireChatMessageHistory(sid, memory=memory, window=WINDOW)
    whole = BotWireChatMessageHistory(sid, memory=memory)
    assert windowed.messages == whole.messages[-WINDOW:]
    reads = {
        f"BotWire, window={WINDOW} (tail read)": read_time(lambda: windowed.messages, args.repeat),
        "BotWire, whole history": read_time(lambda: whole.messages, args.repeat),
        "read-modify-write, whole history": read_time(
            lambda: ReadModifyWriteHistory(rmw_sid, memory).messages, args.repeat
        ),
        f"InMemoryChatMessageHistory, last {WINDOW}": read_time(
            lambda: local.messages[-WINDOW:], args.repeat
        ),
    }
    print(f"\n{f'read: {n}-message session':38} {'median':>13}")
    for name, seconds in reads.items():
        print(f"{name:38} {us(seconds)}")

    append_first, append_last = results["BotWireChatMessageHistory (append)"]
    rmw_first, rmw_last = results["read-modify-write (original SDK)"]
    local_last = results["InMemoryChatMessageHistory (no I/O)"][1]
    win, full = reads[f"BotWire, window={WINDOW} (tail read)"], reads["BotWire, whole history"]
    growth = append_last / append_first
    speedup = full / win
    rmw_bytes = sum(len(encode(messages_to_dict([message(i)])[0])) + 1 for i in range(n))
    print("\nratios")
    print(
        f"  append: turn {n} / turn 1              {growth:8.2f}x  (target <= 1.25x) "
        f"{'OK' if growth <= 1.25 else 'MISSED'}"
    )
    print(
        f"  read: whole / window={WINDOW}              {speedup:8.2f}x  (target >= 10x) "
        f"{'OK' if speedup >= 10 else 'MISSED'}"
    )
    print(f"  turn {n}: read-modify-write / append   {rmw_last / append_last:8.2f}x")
    print(f"  read-modify-write: turn {n} / turn 1   {rmw_last / rmw_first:8.2f}x")
    print(f"  turn {n}: append / InMemory            {append_last / local_last:8.2f}x")
    print(
        f"  bytes written by turn {n}: append {size} B, read-modify-write {rmw_bytes} B "
        f"(and as many read)"
    )
    memory.close()
    tmp.cleanup()
    return 0 if growth <= 1.25 and speedup >= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
