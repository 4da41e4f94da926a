"""The change feed's deletes go by the store's clock (issue 16), on every engine.

A store takes its time from ``clock=``: timestamps, TTLs, and the feed's record of
a delete, which says whether the key had expired (``"expire"``) or was live
(``"delete"``) and when it happened (retention by time). Each test puts the store's
clock far from the real time, so a record made by the database's own clock would
be classed or timed wrongly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from botwire import ChangesExpiredError, SQLiteStore, ValidationError
from botwire._plans import feed_retention_settings
from botwire._types import DeleteOp, RestoreOp, SetOp
from tests.conftest import FakeClock, fresh_schema_url, postgres_url

ENGINES = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("async-postgres", marks=pytest.mark.postgres),
]

PAST = 1_000.0  # 1970: real time is long past any TTL set on this clock
FUTURE = 4_000_000_000.0  # 2096: no TTL set on this clock has passed in real time
RETENTION = 3600.0  # an hour, not the default day: every store takes the setting


class Blocking:
    """An async store's coroutine methods, run to their end one call at a time."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(method(*args, **kwargs))

        return call

    def close(self) -> None:
        self._loop.run_until_complete(self._store.aclose())
        self._loop.close()


@pytest.fixture(params=ENGINES)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[float], Any]]:
    """Opens a store of the engine on a fresh database, on a fake clock at ``start``."""
    kind: str = request.param
    opened: list[Any] = []
    urls = fresh_schema_url("bw_clock") if kind != "sqlite" else None
    url = next(urls) if urls is not None else ""

    def open_store(start: float, max_changes: int | None = None) -> Any:
        clock = FakeClock(start)
        settings: dict[str, Any] = {
            "clock": clock,
            "feed_retention": RETENTION,
            "feed_max_changes": max_changes,
        }
        store: Any
        if kind == "sqlite":
            store = SQLiteStore(tmp_path / "m.db", **settings)
        elif kind == "postgres":
            from botwire._postgres import PostgresStore

            store = PostgresStore(url, **settings)
        else:
            from botwire._postgres import AsyncPostgresStore

            store = Blocking(AsyncPostgresStore(url, **settings))
        store.clock = clock
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()
    if urls is not None:
        next(urls, None)


def _kinds(store: Any, ns: str, since: int = 0) -> list[tuple[str, str]]:
    page = store.changes(ns, since=since)
    return [(c.key, c.kind) for c in page.changes]


def test_a_delete_of_a_key_live_on_the_store_clock_is_a_delete(opener: Any) -> None:
    store = opener(PAST)
    store.set("ns", "k", "1", ttl=100)
    store.set("ns", "b", "1", ttl=100)
    store.set("ns", "r", "1", ttl=100)
    store.clock.advance(5)  # t=1005: every TTL runs to 1100; real time is far past it
    assert store.delete("ns", "k") is True
    store.batch("ns", [DeleteOp("b")])
    store.batch("ns", [RestoreOp("r", '"2"', 1, PAST, PAST, None)])  # drops, then writes
    assert _kinds(store, "ns", since=3) == [
        ("k", "delete"),
        ("b", "delete"),
        ("r", "delete"),
        ("r", "set"),
    ]


def test_keys_expired_on_the_store_clock_are_recorded_as_expiries(opener: Any) -> None:
    store = opener(FUTURE)
    for key in ("deleted", "batched", "swept"):
        store.set("ns", key, "1", ttl=100)
    store.batch("ns", [SetOp("list", "[1]", ttl=100)])
    store.clock.advance(200)  # expired on the store's clock; real time is far before
    assert store.delete("ns", "deleted") is False
    store.batch("ns", [DeleteOp("batched")])
    store.append("ns", "list", ["2"])  # over an expired key: dropped, started afresh
    assert store.purge_expired() == 1
    assert _kinds(store, "ns", since=4) == [
        ("deleted", "expire"),
        ("batched", "expire"),
        ("list", "expire"),
        ("list", "append"),
        ("swept", "expire"),
    ]


def test_retention_by_time_counts_on_the_store_clock(opener: Any) -> None:
    store = opener(PAST)
    store.set("ns", "k", "1")  # seq 1
    store.delete("ns", "k")  # seq 2, at t=1000 on the store's clock
    store.clock.advance(RETENTION + 10)
    store.set("ns", "later", "1")  # seq 3
    store.purge_expired()  # trims what is older than RETENTION on the store's clock
    assert _kinds(store, "ns", since=2) == [("later", "set")]
    with pytest.raises(ChangesExpiredError):
        store.changes("ns", since=1)


def test_retention_by_count_on_every_engine(opener: Any) -> None:
    store = opener(PAST, max_changes=3)
    for i in range(5):
        store.set("ns", f"k{i}", "1")  # seqs 1-5
    store.purge_expired()  # keeps the newest 3
    assert [c.seq for c in store.changes("ns", since=2).changes] == [3, 4, 5]
    with pytest.raises(ChangesExpiredError):
        store.changes("ns", since=1)


def test_the_retention_settings_come_from_the_environment_and_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOTWIRE_FEED_RETENTION", "60")
    monkeypatch.setenv("BOTWIRE_FEED_MAX_CHANGES", "7")
    assert feed_retention_settings(None, None) == (60.0, 7)
    assert feed_retention_settings(5, None) == (5.0, 7)  # an argument wins
    monkeypatch.setenv("BOTWIRE_FEED_MAX_CHANGES", "lots")
    with pytest.raises(ValidationError, match="BOTWIRE_FEED_MAX_CHANGES must be a number"):
        feed_retention_settings(None, None)
    for bad in ({"retention": 0}, {"retention": float("nan")}, {"max_changes": 0}):
        with pytest.raises(ValidationError):
            feed_retention_settings(bad.get("retention", 60), int(bad.get("max_changes", 7)))
    with pytest.raises(ValidationError, match="feed_max_changes must be a whole number"):
        feed_retention_settings(60, 2.5)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_a_postgres_store_reads_the_retention_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from botwire._postgres import PostgresStore

    monkeypatch.setenv("BOTWIRE_FEED_MAX_CHANGES", "9")
    store = PostgresStore(postgres_url())
    try:
        assert (store.feed_retention, store.feed_max_changes) == (86400.0, 9)
    finally:
        store.close()
