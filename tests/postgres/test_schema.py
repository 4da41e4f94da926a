"""Schema creation and migration on start, safe when many processes start at once."""

from __future__ import annotations

import asyncio
import threading
import time

import psycopg
import pytest

from botwire import Memory, ServerError
from botwire._postgres import AsyncPostgresStore, PostgresStore
from botwire._postgres_sql import _MIGRATIONS, SCHEMA_VERSION
from tests.conftest import FakeClock
from tests.postgres.conftest import raw_of

pytestmark = pytest.mark.postgres

TABLES = {
    "botwire_entries",
    "botwire_list_items",
    "botwire_append_ids",
    "botwire_write_counts",
    "botwire_schema_version",
    "botwire_feed_heads",
    "botwire_changes",
    "botwire_ns_bytes",
}
LOCK = 0x626F7477697265  # the advisory lock id the store takes while migrating


def _schema_state(url: str) -> tuple[set[str], list[int]]:
    with psycopg.connect(url) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
        versions = [r[0] for r in conn.execute("SELECT version FROM botwire_schema_version")]
    return tables, versions


def test_first_start_creates_the_tables_in_the_chosen_schema(schema_url: str) -> None:
    store = PostgresStore(schema_url)
    try:
        tables, versions = _schema_state(schema_url)
        assert tables == TABLES
        assert versions == [SCHEMA_VERSION]
        with Memory("ns", store=store) as memory:
            memory.append("chat", "hi")
            assert memory.get("chat") == ["hi"]
    finally:
        store.close()


def test_many_stores_starting_at_once_migrate_once(schema_url: str) -> None:
    count = 6
    barrier = threading.Barrier(count)
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            stores.append(PostgresStore(schema_url))
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert len(stores) == count
        assert _schema_state(schema_url) == (TABLES, [SCHEMA_VERSION])
        for n, store in enumerate(stores):
            store.append("ns", "l", [str(n)])
        assert sorted(raw_of(stores[0], "ns", "l").strip("[]").split(",")) == [
            str(n) for n in range(count)
        ]
    finally:
        for store in stores:
            store.close()


def test_first_start_waits_for_the_migration_lock(schema_url: str, pg_url: str) -> None:
    done = threading.Event()
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK,))

        def start() -> None:
            PostgresStore(schema_url).close()
            done.set()

        thread = threading.Thread(target=start)
        thread.start()
        assert not done.wait(0.5), "migrated without taking the advisory lock"
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
    thread.join(30)
    assert done.is_set()
    assert _schema_state(schema_url) == (TABLES, [SCHEMA_VERSION])


def test_a_restart_needs_no_lock(schema_url: str, pg_url: str) -> None:
    PostgresStore(schema_url).close()
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
        start = time.monotonic()
        PostgresStore(schema_url).close()  # would block if it took the lock
        assert time.monotonic() - start < 5


def test_a_newer_schema_is_refused(schema_url: str) -> None:
    PostgresStore(schema_url).close()
    with psycopg.connect(schema_url, autocommit=True) as conn:
        conn.execute("UPDATE botwire_schema_version SET version = 99")
    with pytest.raises(ServerError, match="newer BotWire.*upgrade botwire"):
        PostgresStore(schema_url)

    async def first_use() -> None:
        store = AsyncPostgresStore(schema_url)
        try:
            await store.get("ns", "k")
        finally:
            await store.aclose()

    with pytest.raises(ServerError, match="upgrade botwire"):
        asyncio.run(first_use())


async def test_async_store_creates_the_schema_on_first_use(schema_url: str) -> None:
    store = AsyncPostgresStore(schema_url)
    try:
        assert (await store.set("ns", "k", '"v"')).version == 1
        assert _schema_state(schema_url) == (TABLES, [SCHEMA_VERSION])
    finally:
        await store.aclose()


def test_a_schema_1_database_migrates_forward_and_keeps_its_data(schema_url: str) -> None:
    # The tables as BotWire created them before the write counts (schema 1).
    with psycopg.connect(schema_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(_MIGRATIONS[1])
            conn.execute("CREATE TABLE botwire_schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO botwire_schema_version (version) VALUES (1)")
            conn.execute(
                "INSERT INTO botwire_entries (ns, key, raw, bytes, version, created_at, "
                "updated_at) VALUES ('ns', 'k', '\"kept\"', 6, 3, 1.0, 2.0)"
            )
    store = PostgresStore(schema_url)
    try:
        assert _schema_state(schema_url) == (TABLES, [SCHEMA_VERSION])
        assert SCHEMA_VERSION == 5
        record = store.get("ns", "k")
        assert record is not None and (record.raw, record.version) == ('"kept"', 3)
        assert store.count_writes("ns", 2, limit=2, day=20_000) == 2
        assert store.count_writes("ns", 1, limit=2, day=20_000) is None
        assert store.writes_on("ns", 20_000) == 2
    finally:
        store.close()


def test_a_schema_4_database_keeps_its_feed_and_deletes_go_by_the_store_clock(
    schema_url: str,
) -> None:
    # The tables as the first feed left them (schema 4): the feed trigger read the
    # database's clock for a delete. Migration 5 keeps the changes and their seqs.
    with psycopg.connect(schema_url, autocommit=True) as conn:
        with conn.transaction():
            for version in (1, 2, 3, 4):
                conn.execute(_MIGRATIONS[version])
            conn.execute("CREATE TABLE botwire_schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO botwire_schema_version (version) VALUES (4)")
        conn.execute(
            "INSERT INTO botwire_entries (ns, key, raw, bytes, version, created_at, "
            "updated_at, expires_at) VALUES ('ns', 'old', '1', 1, 1, 1.0, 1.0, 2000.0)"
        )
        conn.execute("DELETE FROM botwire_entries WHERE key = 'old'")  # real time: expired
    store = PostgresStore(schema_url, clock=FakeClock(1500.0))
    try:
        assert _schema_state(schema_url) == (TABLES, [SCHEMA_VERSION])
        assert store.last_seq("ns") == 2
        store.set("ns", "k", "1", ttl=1000)  # expires at 2500 on the store's clock
        store.set("ns", "other", "1", ttl=1000)
        assert store.delete("ns", "k") is True
        with psycopg.connect(schema_url, autocommit=True) as conn:
            # Another client's delete, with no clock handed over: the database's.
            conn.execute("DELETE FROM botwire_entries WHERE key = 'other'")
            ats = conn.execute("SELECT seq, at FROM botwire_changes ORDER BY seq").fetchall()
        got = [(c.seq, c.key, c.kind) for c in store.changes("ns", since=0).changes]
        assert got == [
            (1, "old", "set"),
            (2, "old", "expire"),
            (3, "k", "set"),
            (4, "other", "set"),
            (5, "k", "delete"),
            (6, "other", "expire"),
        ]
        assert [at for _, at in ats][2:5] == [1500.0, 1500.0, 1500.0]
    finally:
        store.close()


async def test_the_async_store_migrates_a_schema_1_database_too(schema_url: str) -> None:
    with psycopg.connect(schema_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(_MIGRATIONS[1])
            conn.execute("CREATE TABLE botwire_schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO botwire_schema_version (version) VALUES (1)")
    store = AsyncPostgresStore(schema_url)
    try:
        assert await store.count_writes("ns", 1, limit=None, day=20_000) == 1
        assert await store.writes_on("ns", 20_000) == 1
        assert _schema_state(schema_url) == (TABLES, [SCHEMA_VERSION])
    finally:
        await store.aclose()
