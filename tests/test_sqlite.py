"""What only the embedded SQLite store has: its file, schema, locks and forks."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from botwire import Memory, ServerError, SQLiteStore, UnavailableError, ValidationError
from botwire._open import default_path, resolve_url
from botwire._sqlite_sql import SCHEMA_VERSION
from tests.conftest import FakeClock


def test_default_location_follows_botwire_home(_isolated_home: Path) -> None:
    memory = Memory("prefs")
    memory.set("k", 1)
    assert default_path() == _isolated_home / "memory.db"
    assert (_isolated_home / "memory.db").exists()
    assert resolve_url(None) == f"sqlite:///{_isolated_home / 'memory.db'}"


def test_default_location_without_botwire_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOTWIRE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", "/data")
    assert default_path() == Path("/data/botwire/memory.db")


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = tmp_path / "abs.db"
    Memory("a", f"sqlite:///{absolute}").set("k", 1)  # sqlite:////abs/path.db
    assert absolute.exists()
    monkeypatch.chdir(tmp_path)
    Memory("a", "sqlite:///rel/here.db").set("k", 1)
    assert (tmp_path / "rel" / "here.db").exists()
    monkeypatch.setenv("BOTWIRE_URL", f"sqlite:///{absolute}")
    assert Memory("a").get("k") == 1


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("sqlite://", "no file path"),
        ("sqlite:///:memory:", "needs a SQLite file"),
        ("redis://localhost", "unsupported store URL"),
        ("ftp://user:secret@host/x", "unsupported store URL"),
        ("sqlite:///x.db?synchronus=FULL", "unknown option 'synchronus'.*did you mean"),
        ("sqlite:///x.db?synchronous=FULL&cache=shared", "unknown option 'cache'"),
    ],
)
def test_bad_urls_say_what_to_write(url: str, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment) as info:
        Memory("a", url)
    assert "secret" not in str(info.value)


def test_unopenable_path_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UnavailableError, match="cannot"):
        SQLiteStore(blocker / "sub" / "memory.db")


def test_schema_is_versioned(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(ServerError, match="newer BotWire"):
        SQLiteStore(path)


def test_corrupt_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises((ServerError, UnavailableError), match="junk.db"):
        SQLiteStore(path)


def test_writer_waits_for_a_lock_held_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    memory = Memory("a", f"sqlite:///{path}")
    memory.set("k", 0)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    start = time.monotonic()
    assert memory.set("k", 1) == 2  # waited, then went through: no "database is locked"
    assert time.monotonic() - start >= 0.4
    holder.close()


def test_lock_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SQLiteStore(path, lock_timeout=0.3)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA busy_timeout = 0")
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(UnavailableError, match="locked"):
            store.append("a", "k", ["1"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()


_LOCKED_OPS = {
    "set": lambda store: store.set("a", "k", "2"),  # the embedded fast path first
    "set_ttl": lambda store: store.set("a", "k", "2", ttl=60),
    "set_id": lambda store: store.set("a", "k", "2", id="once"),
    "append": lambda store: store.append("a", "list", ["1"]),
    "delete": lambda store: store.delete("a", "k"),
}


@pytest.mark.parametrize("op", list(_LOCKED_OPS))
def test_lock_wait_is_bounded_by_lock_timeout(tmp_path: Path, op: str) -> None:
    """One operation waits at most ``lock_timeout`` in all (plus a little), not the
    driver's busy timeout on top of it for each of its attempts."""
    path = tmp_path / "m.db"
    store = SQLiteStore(path, lock_timeout=0.5)
    store.set("a", "k", "1")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        start = time.monotonic()
        with pytest.raises(UnavailableError, match=r"locked by another writer for 0.5 s"):
            _LOCKED_OPS[op](store)
        waited = time.monotonic() - start
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert 0.35 <= waited <= 1.0, waited
    assert store.get("a", "k").raw == "1"  # type: ignore[union-attr]
    _LOCKED_OPS[op](store)  # the lock is gone: the same call goes through


@pytest.mark.parametrize("op", ["set", "set_ttl", "append"])
def test_lock_released_before_the_deadline_lets_the_write_through(tmp_path: Path, op: str) -> None:
    path = tmp_path / "m.db"
    store = SQLiteStore(path, lock_timeout=1.0)
    store.set("a", "k", "1")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.6, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        start = time.monotonic()
        _LOCKED_OPS[op](store)
        waited = time.monotonic() - start
    finally:
        release.join()
        holder.close()
    assert 0.5 <= waited <= 1.0, waited


def test_lock_wait_from_another_process(tmp_path: Path) -> None:
    """The same bound when the holder is another process (the documented case)."""
    import subprocess
    import sys

    path = tmp_path / "m.db"
    store = SQLiteStore(path, lock_timeout=0.5)
    store.set("a", "k", "1")
    script = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(5)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        with pytest.raises(UnavailableError):
            store.set("a", "k", "2")
        waited = time.monotonic() - start
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert 0.35 <= waited <= 1.0, waited


def test_purge_reclaims_expired_rows(tmp_path: Path, clock: FakeClock) -> None:
    store = SQLiteStore(tmp_path / "m.db", clock=clock)
    memory = Memory("a", store=store)
    memory.set("gone", 1, ttl=0.05)
    memory.append("gone-list", 1, 2)
    memory.set("gone-list", [1], ttl=0.05)
    memory.set("kept", 2)
    clock.advance(0.1)
    assert memory.get("gone") is None and memory.get("kept") == 2  # invisible at once
    assert store.purge_expired() == 2
    conn = sqlite3.connect(tmp_path / "m.db")
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM list_items").fetchone()[0] == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_child_process_after_fork_gets_its_own_connection(tmp_path: Path) -> None:
    memory = Memory("a", f"sqlite:///{tmp_path / 'm.db'}")
    memory.set("parent", 1)
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connection
        try:
            memory.append("child", "hello")
            os._exit(0 if memory.get("parent") == 1 else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert memory.get("child") == ["hello"]


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    memory = Memory("a", f"sqlite:///{tmp_path / 'm.db'}")
    memory.close()
    with pytest.raises(ValidationError, match="closed"):
        memory.get("k")


def test_threads_share_one_store(tmp_path: Path) -> None:
    memory = Memory("a", f"sqlite:///{tmp_path / 'm.db'}")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                memory.set(f"t{n}-{i}", i)
                assert memory.get(f"t{n}-{i}") == i
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(memory.list_keys()) == 300


def test_background_checkpoint_copies_the_wal_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "m.db", background_checkpoint=True)
    memory = Memory("a", store=store)
    assert store._conn().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    memory.set_many({f"k{i}": "x" * 1000 for i in range(500)})  # ~0.5 MB, all in the WAL
    main_file = tmp_path / "m.db"
    deadline = time.monotonic() + 10
    # No writer checkpoints any more; only the daemon thread moves pages to the file.
    while main_file.stat().st_size < 400_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert main_file.stat().st_size >= 400_000
    assert memory.get("k1") == "x" * 1000
    store.close()


def test_a_schema_1_file_migrates_forward_and_keeps_its_data(tmp_path: Path) -> None:
    from botwire._sqlite_sql import MIGRATIONS as _MIGRATIONS

    # A file as BotWire wrote it before the write counts (schema 1), with data in it.
    path = tmp_path / "v1.db"
    old = sqlite3.connect(path)
    old.executescript(_MIGRATIONS[1])
    old.execute(
        "INSERT INTO entries (ns, key, raw, bytes, version, created_at, updated_at) "
        "VALUES ('a', 'k', '\"kept\"', 6, 3, 1.0, 2.0)"
    )
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()

    store = SQLiteStore(path)
    try:
        record = store.get("a", "k")
        assert record is not None and (record.raw, record.version) == ('"kept"', 3)
        assert store.writes_on("a", 20_000) == 0
        assert store.count_writes("a", 2, limit=2, day=20_000) == 2
        assert store.count_writes("a", 1, limit=2, day=20_000) is None
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
        assert conn.execute("SELECT ns, day, count FROM write_counts").fetchall() == [
            ("a", 20_000, 2)
        ]
        conn.close()
    finally:
        store.close()
    reopened = SQLiteStore(path)  # already migrated: opens as it is
    assert reopened.writes_on("a", 20_000) == 2
    reopened.close()


def _count_in_a_process(path: str, tries: int, limit: int, out: Any) -> None:
    store = SQLiteStore(path)
    out.put([store.count_writes("shared", 1, limit=limit, day=20_000) for _ in range(tries)])
    store.close()


def test_processes_counting_at_once_admit_exactly_the_limit(tmp_path: Path) -> None:
    import multiprocessing

    path = str(tmp_path / "m.db")
    SQLiteStore(path).close()  # created (and migrated) before the race
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [
        context.Process(target=_count_in_a_process, args=(path, 50, 100, out)) for _ in range(8)
    ]
    for w in workers:
        w.start()
    results = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * 8
    admitted = sorted(n for mine in results for n in mine if n is not None)
    assert admitted == list(range(1, 101))  # nothing lost, nothing counted twice
    store = SQLiteStore(path)
    assert store.writes_on("shared", 20_000) == 100
    store.close()
