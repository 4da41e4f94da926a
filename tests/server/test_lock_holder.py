"""Another process holds the store's write lock: the server keeps answering.

Store calls never run on the event loop (``botwire/server/_runner.py``): while
another process holds SQLite's write lock (or another PostgreSQL client holds a
table lock), ``/healthz`` and reads of committed data answer at once, and the
waiting write either succeeds once the lock is released or fails with 503 after
``lock_timeout``; the server never freezes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import postgres_url
from tests.servers import start_server

pytestmark = pytest.mark.slow

HOLD = 8.0  # seconds the other process holds the lock
FAST = 0.1  # what "answers at once" means

SQLITE_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""

POSTGRES_HOLDER = """
import sys, time, psycopg
with psycopg.connect(sys.argv[1]) as conn:
    conn.execute("LOCK TABLE botwire_entries IN EXCLUSIVE MODE")  # reads still pass
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(script: str, target: str, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", script, target, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def timed(client: httpx.Client, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    status = client.get(path).status_code
    return time.perf_counter() - started, status


def put_in_background(url: str, results: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        started = time.perf_counter()
        answer = httpx.put(f"{url}/memory/ns/w", json={"value": 2}, timeout=HOLD * 4)
        results["status"] = answer.status_code
        results["seconds"] = time.perf_counter() - started
        results["code"] = answer.json().get("code")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def check_server_answers_while_locked(url: str, script: str, target: str, hold_for: float) -> Any:
    with httpx.Client(base_url=url, timeout=5) as client:
        assert client.put("/memory/ns/k", json={"value": 1}).status_code == 200
        holder = hold(script, target, hold_for)
        try:
            results: dict[str, Any] = {}
            writer = put_in_background(url, results)
            time.sleep(0.3)  # the write is now waiting for the lock
            health = [timed(client, "/healthz") for _ in range(5)]
            reads = [timed(client, "/memory/ns/k") for _ in range(5)]
            assert writer.is_alive(), results  # still waiting: the lock is held
        finally:
            holder.wait(timeout=hold_for + 30)
            assert holder.stdout is not None
            holder.stdout.close()
        writer.join(timeout=HOLD * 4)
    assert all(status == 200 for _, status in health + reads), (health, reads)
    assert statistics.median(s for s, _ in health) < FAST, health
    assert statistics.median(s for s, _ in reads) < FAST, reads
    assert max(s for s, _ in health + reads) < 1.0, (health, reads)
    return results


def test_sqlite_lock_held_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    with start_server(f"sqlite:///{db}", access_log=False) as server:
        results = check_server_answers_while_locked(server.url, SQLITE_HOLDER, str(db), HOLD)
    assert results["status"] == 200, results  # committed once the lock was released
    assert results["seconds"] >= HOLD - 1.0, results


def test_sqlite_write_gives_up_after_lock_timeout(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    env = {"BOTWIRE_LOCK_TIMEOUT": "1.5"}
    with start_server(f"sqlite:///{db}", env=env, access_log=False) as server:
        results = check_server_answers_while_locked(server.url, SQLITE_HOLDER, str(db), HOLD)
    assert results["status"] == 503 and results["code"] == "unavailable", results
    assert results["seconds"] < HOLD - 1.0, results  # gave up while the lock was still held


def test_postgres_lock_held_by_another_client() -> None:
    pytest.importorskip("psycopg")
    url = postgres_url()
    with start_server(url, access_log=False) as server:
        results = check_server_answers_while_locked(server.url, POSTGRES_HOLDER, url, HOLD)
    assert results["status"] == 200, results


def test_a_large_body_is_parsed_off_the_event_loop(tmp_path: Path) -> None:
    depth = 1_000_000  # ~4 MB of nested arrays, under the default 4.2 MB body limit
    body = b'{"value": ' + b"[" * depth + b"]" * depth + b"}"
    with start_server(f"sqlite:///{tmp_path / 'big.db'}", access_log=False) as server:
        results: dict[str, Any] = {}

        def send() -> None:
            answer = httpx.put(
                f"{server.url}/memory/ns/big",
                content=body,
                headers={"content-type": "application/json"},
                timeout=60,
            )
            results["status"] = answer.status_code

        sender = threading.Thread(target=send)
        with httpx.Client(base_url=server.url, timeout=5) as client:
            client.get("/healthz")
            sender.start()
            health = []
            while sender.is_alive() and len(health) < 200:
                health.append(timed(client, "/healthz")[0])
            sender.join(timeout=60)
    assert results["status"] < 500, results  # refused (too deep) or stored, never a crash
    assert health and max(health) < 0.5, (len(health), max(health, default=0))


def test_postgres_write_gives_up_after_lock_timeout() -> None:
    pytest.importorskip("psycopg")
    url = postgres_url()
    env = {"BOTWIRE_LOCK_TIMEOUT": "1.5"}
    with start_server(url, env=env, access_log=False) as server:
        results = check_server_answers_while_locked(server.url, POSTGRES_HOLDER, url, HOLD)
    assert results["status"] == 503 and results["code"] == "unavailable", results
    assert results["seconds"] < HOLD - 1.0, results


def test_lock_timeout_reaches_postgres_sessions() -> None:
    from botwire.server._runner import with_lock_timeout

    assert with_lock_timeout("postgresql://u@db/app?sslmode=disable", 2).endswith(
        "sslmode=disable&options=-c%20lock_timeout%3D2000"
    )
    own = "postgresql://u@db/app?options=-c%20statement_timeout%3D5"
    assert with_lock_timeout(own, 2) == own
