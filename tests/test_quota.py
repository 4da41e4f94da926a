"""The namespace size quota in the store (issue 13, finding 4), on SQLite and PostgreSQL.

What counts is what is stored: each key's bytes and its value's (a list's items
included), each remembered idempotency id's bytes and its key's. ``batch_within``
checks it in the write's own transaction against a count the checked writes keep
(``ns_bytes``): these tests hold that count to a recount of the data after every
kind of write, checked or not. The HTTP side, with several server processes on one
database, is in ``tests/security/test_hardening.py``.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from botwire import ConflictError, Memory, QuotaExceededError, SQLiteStore
from botwire._plans import ID_TTL
from botwire._types import AppendOp, DeleteOp, GetOp, Op, RestoreOp, SetOp
from tests.conftest import FakeClock, fresh_schema_url

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Engine:
    """A store on a fresh database, with raw SQL access to its quota count."""

    def __init__(self, kind: str, where: str, clock: FakeClock) -> None:
        self.kind, self.where, self.clock = kind, where, clock
        self.store: Any = self.open()

    def open(self) -> Any:
        if self.kind == "sqlite":
            return SQLiteStore(self.where, clock=self.clock)
        from botwire._postgres import PostgresStore

        return PostgresStore(self.where, clock=self.clock)

    def sql(self, text: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.where)
            try:
                return conn.execute(text, params).fetchall()
            finally:
                conn.close()
        with psycopg.connect(self.where, autocommit=True) as conn:
            return conn.execute(text.replace("?", "%s"), params).fetchall()

    def counted(self, ns: str) -> int | None:
        table = "ns_bytes" if self.kind == "sqlite" else "botwire_ns_bytes"
        rows = self.sql(f"SELECT bytes FROM {table} WHERE ns = ?", ns)
        return int(rows[0][0]) if rows else None

    def stored(self, ns: str) -> int:
        return int(self.store.usage(ns).stored_bytes)

    def assert_exact(self, ns: str) -> None:
        """The kept count (if any) equals a recount of what the namespace stores."""
        counted = self.counted(ns)
        assert counted is None or counted == self.stored(ns), (counted, self.stored(ns))


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = Engine("sqlite", str(tmp_path / "quota.db"), clock)
        yield made
        made.store.close()
        return
    for url in fresh_schema_url("bw_quota"):
        made = Engine("postgres", url, clock)
        yield made
        made.store.close()


def _set(key: str, raw: str, id: str | None = None, ttl: float | None = None) -> SetOp:
    return SetOp(key, raw, ttl, None, id)


def _b(text: str) -> int:
    return len(text.encode("utf-8"))


def test_stored_bytes_count_keys_values_list_items_and_ids(engine: Engine) -> None:
    store, ns = engine.store, "n"
    store.batch_within(ns, [_set("ключ", '"значение"')], 10_000)
    expected = _b("ключ") + _b('"значение"')
    assert store.usage(ns).stored_bytes == expected
    store.batch_within(ns, [AppendOp("log", ("1", '"two"'), "append-id-1")], 10_000)
    expected += _b("log") + _b('[1,"two"]') + _b("log") + _b("append-id-1")
    store.batch_within(ns, [_set("k", "true", id="set-id")], 10_000)
    expected += _b("k") + _b("true") + _b("k") + _b("set-id")
    usage = store.usage(ns)
    assert usage.stored_bytes == expected and usage.keys == 3
    assert usage.bytes == _b('"значение"') + _b('[1,"two"]') + _b("true")  # values only
    assert engine.counted(ns) == expected


def test_long_keys_count_their_bytes(engine: Engine) -> None:
    """Finding 4: 70,000 keys of 512 bytes with value 0 counted as 70,000 bytes."""
    store, ns = engine.store, "long"
    keys = [f"{i:06d}".rjust(512, "k") for i in range(70_000)]
    each = 512 + 1
    limit = 70_000 * each
    for start in range(0, 70_000, 10_000):
        store.batch_within(ns, [_set(k, "0") for k in keys[start : start + 10_000]], limit)
    usage = store.usage(ns)
    assert (usage.keys, usage.bytes, usage.stored_bytes) == (70_000, 70_000, limit)
    with pytest.raises(QuotaExceededError, match=f"holds {limit} bytes"):
        store.batch_within(ns, [_set("one-more", "0")], limit)
    store.batch_within(ns, [_set(keys[0], "1")], limit)  # an overwrite of the same size fits
    assert engine.counted(ns) == limit


def test_an_overwrite_near_the_limit_fits_and_deletes_give_room_back(engine: Engine) -> None:
    store, ns = engine.store, "near"
    store.batch_within(ns, [_set("a", '"' + "x" * 95 + '"'), _set("b", "1")], 100)  # 98 + 2
    assert engine.stored(ns) == 100
    store.batch_within(ns, [_set("a", '"' + "y" * 95 + '"')], 100)  # same size: fits
    with pytest.raises(QuotaExceededError):
        store.batch_within(ns, [_set("a", '"' + "y" * 96 + '"')], 100)  # one byte more
    store.batch_within(ns, [_set("a", '"short"')], 100)  # shrinking always fits
    store.batch_within(ns, [_set("b", "12345")], 50)  # ... and so does what fits a lower limit
    assert engine.stored(ns) == _b("a") + _b('"short"') + _b("b") + _b("12345")
    # Over a lowered limit, a growing write is refused, a shrinking or deleting one is not.
    with pytest.raises(QuotaExceededError):
        store.batch_within(ns, [_set("c", "1")], 5)
    assert store.batch_within(ns, [DeleteOp("a")], 5) == [True]
    assert engine.stored(ns) == engine.counted(ns) == _b("b") + _b("12345")
    assert store.batch_within(ns, [GetOp("b"), DeleteOp("b")], 0)[1] is True
    assert engine.stored(ns) == engine.counted(ns) == 0
    # A refused batch leaves nothing behind, however much of it came first.
    with pytest.raises(QuotaExceededError):
        store.batch_within(ns, [_set("small", "1"), _set("big", '"' + "x" * 200 + '"')], 100)
    assert store.usage(ns).keys == 0 and engine.counted(ns) == 0


def test_ids_count_until_they_are_purged(engine: Engine) -> None:
    store, ns = engine.store, "ids"
    for n in range(20):
        store.batch_within(ns, [_set("k", "1", id=f"request-{n:04d}")], 10_000)
    one_id = _b("k") + _b("request-0000")
    assert engine.stored(ns) == _b("k") + 1 + 20 * one_id
    # Ids are kept a day; when the sweep drops them, their bytes leave the count too.
    engine.clock.advance(ID_TTL + 1)
    store.batch_within(ns, [_set("k2", "2", id="fresh")], 10_000)
    store.purge_expired()
    assert engine.stored(ns) == _b("k") + 1 + _b("k2") + 1 + _b("k2") + _b("fresh")
    engine.assert_exact(ns)


def test_a_refused_retry_of_an_id_already_written_still_answers(engine: Engine) -> None:
    store, ns = engine.store, "retry"
    first = store.batch_within(ns, [_set("k", '"' + "x" * 50 + '"', id="once")], 100)
    assert store.batch_within(ns, [_set("k", '"' + "x" * 50 + '"', id="once")], 0) == first


def test_the_count_follows_writes_that_do_not_keep_it(engine: Engine) -> None:
    """Writes without a limit (embedded, another server) move the feed on: the next
    checked write counts the namespace again; expiry, purges and restores too."""
    store, ns = engine.store, "mixed"
    rng = random.Random(13)
    keys = [f"k{i}" for i in range(12)]
    for step in range(300):
        key = rng.choice(keys)
        value = '"' + "v" * rng.randrange(0, 60) + '"'
        kind = rng.randrange(9)
        checked = rng.random() < 0.5
        op: Op
        if kind <= 2:
            op = _set(key, value, id=rng.choice([None, f"id{step}"]), ttl=rng.choice([None, 5.0]))
        elif kind <= 4:
            op = AppendOp(key + "-list", (value, "1"), rng.choice([None, f"a{step}"]))
        elif kind == 5:
            op = DeleteOp(key)
        elif kind == 6:
            op = RestoreOp(key, value, 1, 1.0, 1.0, None)
        elif kind == 7:
            engine.clock.advance(rng.choice([1.0, 3.0, ID_TTL / 2]))
            if rng.random() < 0.3:
                store.purge_expired()
            continue
        else:
            op = _set(key, value)
        try:
            if checked:
                store.batch_within(ns, [op], 100_000)
                engine.assert_exact(ns)
            elif isinstance(op, SetOp) and op.id is None and op.ttl is None:
                store.set(ns, op.key, op.raw)  # the embedded fast path
            else:
                store.batch(ns, [op])
        except Exception as exc:  # a list op on a plain value, say: nothing written
            assert type(exc).__name__ == "NotAListError", exc
    store.batch_within(ns, [_set("last", "1")], 100_000)
    engine.assert_exact(ns)


def test_writes_without_a_limit_never_touch_the_count(engine: Engine) -> None:
    memory = Memory("plain", store=engine.store)
    memory.set("a", 1)
    memory.append("l", 1)
    memory.set_many({"b": 2})
    memory.delete("a")
    assert engine.counted("plain") is None


def test_a_schema_3_database_gets_its_counts_when_migrated(tmp_path: Path) -> None:
    from botwire._sqlite_sql import MIGRATIONS

    path = tmp_path / "v3.db"
    old = sqlite3.connect(path)
    for version in (1, 2, 3):
        old.executescript(MIGRATIONS[version])
    old.execute("PRAGMA user_version = 3")
    old.executemany(
        "INSERT INTO entries (ns, key, raw, bytes, version, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 1, 1.0, 1.0)",
        [("a", "k1", '"one"', 5), ("a", "ключ", "[1,2]", 5), ("b", "x", "0", 1)],
    )
    old.execute(
        "INSERT INTO append_ids (ns, key, id, version, length, created_at) "
        "VALUES ('a', 'k1', 'some-id', 1, 5, 1.0)"
    )
    old.commit()
    old.close()
    store = SQLiteStore(path)
    try:
        conn = sqlite3.connect(path)
        counts = dict(conn.execute("SELECT ns, bytes FROM ns_bytes").fetchall())
        seqs = dict(conn.execute("SELECT ns, seq FROM ns_bytes").fetchall())
        conn.close()
        a = _b("k1") + 5 + _b("ключ") + 5 + _b("k1") + _b("some-id")
        assert counts == {"a": a, "b": 2}
        assert counts["a"] == store.usage("a").stored_bytes
        assert seqs == {"a": store.last_seq("a"), "b": store.last_seq("b")}
        with pytest.raises(QuotaExceededError, match=f"holds {a} bytes"):
            store.batch_within("a", [_set("k3", "1")], a + 2)
        store.batch_within("a", [_set("k", "1")], a + 2)
    finally:
        store.close()


@pytest.mark.postgres
def test_a_schema_3_postgres_database_gets_its_counts_when_migrated() -> None:
    from botwire._postgres import PostgresStore
    from botwire._postgres_sql import _MIGRATIONS

    for url in fresh_schema_url("bw_quota"):
        with psycopg.connect(url, autocommit=True) as conn:
            with conn.transaction():
                for version in (1, 2, 3):
                    conn.execute(_MIGRATIONS[version])
                conn.execute("CREATE TABLE botwire_schema_version (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO botwire_schema_version (version) VALUES (3)")
                conn.execute(
                    "INSERT INTO botwire_entries (ns, key, raw, bytes, version, created_at, "
                    "updated_at) VALUES ('a', 'k1', '\"one\"', 5, 1, 1.0, 1.0), "
                    "('a', 'ключ', '[1,2]', 5, 1, 1.0, 1.0), ('b', 'x', '0', 1, 1, 1.0, 1.0)"
                )
                conn.execute(
                    "INSERT INTO botwire_append_ids (ns, key, id, version, length, created_at) "
                    "VALUES ('a', 'k1', 'some-id', 1, 5, 1.0)"
                )
        store = PostgresStore(url)
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                rows = conn.execute("SELECT ns, bytes, seq FROM botwire_ns_bytes").fetchall()
            a = _b("k1") + 5 + _b("ключ") + 5 + _b("k1") + _b("some-id")
            assert {r[0]: r[1] for r in rows} == {"a": a, "b": 2}
            assert {r[0]: r[2] for r in rows} == {"a": store.last_seq("a"), "b": 1}
            assert store.usage("a").stored_bytes == a
            with pytest.raises(QuotaExceededError, match=f"holds {a} bytes"):
                store.batch_within("a", [_set("k3", "1")], a + 2)
        finally:
            store.close()


@pytest.mark.postgres
async def test_the_async_postgres_store_checks_sizes_too() -> None:
    from botwire._postgres import AsyncPostgresStore

    for url in fresh_schema_url("bw_quota"):
        store = AsyncPostgresStore(url)
        try:
            await store.batch_within("a", [_set("k", '"' + "x" * 8 + '"')], 11)
            with pytest.raises(QuotaExceededError):
                await store.batch_within("a", [_set("j", "1")], 11)
            assert (await store.usage("a")).stored_bytes == 11
            # A batch (a pipelined transaction): refused whole, or written whole.
            with pytest.raises(QuotaExceededError, match="holds 11 bytes"):
                await store.batch_within("a", [_set("k", "1"), _set("j", '"' + "y" * 9 + '"')], 13)
            with pytest.raises(ConflictError):
                await store.batch_within("a", [_set("k", "1"), SetOp("j", "1", None, 3)], 99)
            assert (await store.usage("a")).stored_bytes == 11
            await store.batch_within("a", [_set("k", "1"), _set("j", "1")], 13)
            assert (await store.usage("a")).stored_bytes == 4
        finally:
            await store.aclose()


def test_a_checked_conditional_set_that_misses_writes_nothing(engine: Engine) -> None:
    store, ns = engine.store, "cas"
    (first,) = store.batch_within(ns, [_set("k", '"one"')], 1000)
    with pytest.raises(ConflictError):
        store.batch_within(ns, [SetOp("k", '"two"', None, first.version + 1)], 1000)
    with pytest.raises(ConflictError):
        store.batch_within(ns, [SetOp("k", '"two"', None, 0)], 1000)  # create-only
    with pytest.raises(ConflictError):  # nor is its id remembered
        store.batch_within(ns, [SetOp("k", '"two"', None, 9, "once")], 1000)
    with pytest.raises(ConflictError):  # in a batch: nothing of it is written
        store.batch_within(ns, [_set("other", "1"), SetOp("k", "2", None, 9)], 1000)
    engine.assert_exact(ns)
    assert engine.stored(ns) == _b("k") + _b('"one"')
    (second,) = store.batch_within(ns, [SetOp("k", '"two"', 5.0, first.version)], 1000)
    assert second.version == first.version + 1
    assert store.batch_within(ns, [SetOp("new", "1", None, 0)], 1000)[0].version == 1
    engine.assert_exact(ns)
    assert engine.stored(ns) == _b("k") + _b('"two"') + _b("new") + 1


@pytest.mark.parametrize("engine", [ENGINES[1]], indirect=True)
def test_an_id_purge_committing_during_a_checked_write_leaves_the_count_exact(
    engine: Engine,
) -> None:
    """The sweep takes purged ids' bytes off the count; a checked write running
    meanwhile waits for it instead of saving a count that still holds them."""
    from botwire._postgres_sql import DIALECT

    store, ns = engine.store, "purged"
    for n in range(5):
        store.batch_within(ns, [_set("k", "1", id=f"old-{n}")], 10_000)
    engine.assert_exact(ns)
    with psycopg.connect(engine.where) as sweep:  # one transaction, committed below
        params = {"before": engine.clock() + 1, "limit": 1000}
        assert sweep.execute(DIALECT.purge_ids, params).rowcount == 5
        writer = threading.Thread(
            target=store.batch_within, args=(ns, [_set("x", "2")], 10_000), daemon=True
        )
        writer.start()
        writer.join(0.5)
        assert writer.is_alive()  # it waits for the sweep's lock on the count
    writer.join(10)
    assert store.batch_within(ns, [GetOp("x")], 10_000)[0] is not None
    engine.assert_exact(ns)
    assert engine.stored(ns) == _b("k") + 1 + _b("x") + 1
