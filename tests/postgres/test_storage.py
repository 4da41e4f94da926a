"""What PostgreSQL stores: exact text, code point order, no orphan rows, purges,
and the same answers as the SQLite reference store for the same operations."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from botwire import (
    AppendOp,
    ConflictError,
    DeleteOp,
    GetOp,
    Memory,
    NotAListError,
    RestoreOp,
    SetOp,
    SQLiteStore,
    ValidationError,
)
from botwire._codec import encode
from botwire._postgres import PostgresStore
from tests.conftest import FakeClock
from tests.postgres.conftest import raw_of

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    store = PostgresStore(pg_url)
    yield store
    store.close()


@pytest.fixture
def clocked(pg_url: str, clock: FakeClock) -> Iterator[PostgresStore]:
    """A store on a fake clock: TTLs expire by ``clock.advance``, not by sleeping."""
    store = PostgresStore(pg_url, clock=clock)
    yield store
    store.close()


def _rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def test_text_comes_back_byte_for_byte(store: PostgresStore, namespace: str) -> None:
    # jsonb would reorder keys, drop the spaces and rewrite 1.50 and \u00e9
    raw = '{"b": 1,  "a": [1.50, 1E2, "\\u00e9", -0.0]}'
    store.set(namespace, "k", raw)
    assert raw_of(store, namespace, "k") == raw
    store.append(namespace, "l", [raw, "1.50"])
    assert raw_of(store, namespace, "l") == f"[{raw},1.50]"


def test_nul_characters_travel_escaped(store: PostgresStore, namespace: str) -> None:
    value = {"a\x00key": ["nul \x00 inside", "\x00"]}
    assert "\x00" not in encode(value)  # JSON escapes it as \u0000: TEXT can hold it
    memory = Memory(namespace, store=store)
    memory.set("v", value)
    memory.append("l", "\x00", value)
    assert memory.get("v") == value
    assert memory.get("l") == ["\x00", value]


def test_a_raw_nul_is_refused_with_a_clear_error(store: PostgresStore, namespace: str) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        store.set(namespace, "k", '"a\x00b"')


def test_keys_list_in_code_point_order(store: PostgresStore, namespace: str) -> None:
    # UTF-16 order would put U+1D11E before U+FFFF; a locale would mix cases.
    keys = ["\uffff", "\U0001d11e", "z", "é", "Z", "a b", "ab", "a", "_", "ä", "\U0010ffff"]
    memory = Memory(namespace, store=store)
    memory.set_many({k: 1 for k in keys})
    assert memory.list_keys() == sorted(keys)
    assert memory.list_keys(prefix="\uffff") == ["\uffff"]
    assert memory.list_keys(prefix="a") == ["a", "a b", "ab"]
    page = store.list_keys(namespace, limit=4)
    rest = store.list_keys(namespace, cursor=page.next_cursor)
    assert page.keys + rest.keys == sorted(keys)
    assert rest.next_cursor is None


def _check_no_orphans(url: str, namespace: str) -> None:
    entries = {
        key: (is_list, length)
        for key, is_list, length in _rows(
            url, "SELECT key, is_list, length FROM botwire_entries WHERE ns = %s", namespace
        )
    }
    items: dict[str, list[int]] = {}
    for key, seq in _rows(
        url, "SELECT key, seq FROM botwire_list_items WHERE ns = %s ORDER BY key, seq", namespace
    ):
        items.setdefault(key, []).append(seq)
    for key, (is_list, length) in entries.items():
        expected = list(range(length)) if is_list else []
        assert items.pop(key, []) == expected, f"rows of {key!r} do not match its entry"
    assert items == {}, "list items without an entry"


def test_racing_sets_appends_and_deletes_leave_no_orphan_rows(pg_url: str, namespace: str) -> None:
    stores = [PostgresStore(pg_url) for _ in range(4)]
    keys = ["k0", "k1"]

    errors: list[BaseException] = []

    def worker(store: PostgresStore, seed: int) -> None:
        try:
            steps(store, random.Random(seed))
        except BaseException as exc:
            errors.append(exc)

    def steps(store: PostgresStore, rng: random.Random) -> None:
        for i in range(60):
            key = rng.choice(keys)
            action = rng.random()
            if action < 0.6:
                try:
                    store.append(namespace, key, [str(i)] * rng.randint(1, 3))
                except NotAListError:
                    pass  # another worker set it to text: refused, as it should be
            elif action < 0.8:
                store.set(namespace, key, rng.choice(["[1,2]", '"text"', "[]"]))
            else:
                store.delete(namespace, key)

    threads = [threading.Thread(target=worker, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in stores:
        s.close()
    assert errors == []
    _check_no_orphans(pg_url, namespace)


def test_set_and_delete_drop_list_rows(store: PostgresStore, pg_url: str, namespace: str) -> None:
    store.append(namespace, "l", ["1", "2", "3"], id="once")
    store.set(namespace, "l", '"now text"')
    _check_no_orphans(pg_url, namespace)
    store.append(namespace, "gone", ["1"], id="x")
    assert store.delete(namespace, "gone") is True
    assert (
        _rows(pg_url, "SELECT 1 FROM botwire_append_ids WHERE ns = %s AND key = 'gone'", namespace)
        == []
    )
    _check_no_orphans(pg_url, namespace)


def test_purge_reclaims_expired_keys_and_their_rows(
    clocked: PostgresStore, pg_url: str, namespace: str, clock: FakeClock
) -> None:
    store = clocked
    store.set(namespace, "short", '"x"', ttl=0.2)
    store.set(namespace, "list", "[1]", ttl=0.2)
    store.append(namespace, "list", ["2"], id="a")
    store.set(namespace, "stays", '"y"')
    clock.advance(0.4)
    assert store.get(namespace, "short") is None  # invisible at once, before the purge
    assert store.purge_expired() >= 2
    left = _rows(pg_url, "SELECT key FROM botwire_entries WHERE ns = %s", namespace)
    assert left == [("stays",)]
    _check_no_orphans(pg_url, namespace)
    assert _rows(pg_url, "SELECT 1 FROM botwire_append_ids WHERE ns = %s", namespace) == []


def _script(store: Any, ns: str) -> list[Any]:
    """One sequence of store calls; returns what a user can observe."""
    seen: list[Any] = []

    def record(r: Any) -> None:
        if r is not None and hasattr(r, "raw"):
            seen.append((r.key, r.raw, r.version, r.expires_at is not None))
        else:
            seen.append(r)

    record(store.set(ns, "a", '"one"'))
    record(store.set(ns, "a", '{"two":2}'))
    record(store.set(ns, "whole", '[1,"x",{"y":[]}]', ttl=3600))
    record(store.append(ns, "whole", ["true", "null"]))
    record(store.append(ns, "new", ["1", "2", "3"], id="r1"))
    record(store.append(ns, "new", ["1", "2", "3"], id="r1"))
    record(store.get_list(ns, "new", 2))
    record(store.get_list(ns, "whole", 0))
    record(store.set(ns, "empty", "[]"))
    record(store.append(ns, "empty", ['"first"']))
    record(store.set(ns, "cas", '"v1"', if_version=0))
    record(store.set(ns, "cas", '"v2"', if_version=1))
    for result in store.batch(
        ns,
        [GetOp("a"), SetOp("b", "7"), DeleteOp("a"), AppendOp("new", ("4",)), GetOp("a")],
    ):
        record(result)
    record(store.get(ns, "new"))
    record(store.get(ns, "whole"))
    record(store.get(ns, "empty"))
    record(store.delete(ns, "nope"))
    record(store.list_keys(ns, prefix="", limit=2))
    failures: list[Callable[[], object]] = [
        lambda: store.append(ns, "b", ["1"]),
        lambda: store.get_list(ns, "b"),
        lambda: store.set(ns, "cas", '"v3"', if_version=1),
        lambda: store.batch(ns, [SetOp("c", "1"), SetOp("cas", "0", if_version=0)]),
    ]
    for failing in failures:
        try:
            failing()
        except (NotAListError, ConflictError) as exc:
            seen.append((type(exc).__name__, getattr(exc, "current_version", None)))
    record(store.get(ns, "c"))  # the failed batch wrote nothing
    record(store.batch(ns, [RestoreOp("r", "[1,2]", 7, 100.0, 200.0, None)])[0])
    record(store.append(ns, "r", ["3"]))
    record(store.usage(ns))
    return seen


def test_same_answers_as_the_sqlite_store(
    store: PostgresStore, namespace: str, tmp_path: Path
) -> None:
    sqlite = SQLiteStore(tmp_path / "reference.db")
    try:
        ours = _script(store, namespace)
        assert ours == _script(sqlite, namespace)
        errors = [x for x in ours if type(x) is tuple and x[0].endswith("Error")]
        assert errors == [
            ("NotAListError", None),
            ("NotAListError", None),
            ("ConflictError", 2),
            ("ConflictError", 2),
        ]
    finally:
        sqlite.close()


def test_purge_works_in_slices_until_done(
    clocked: PostgresStore,
    pg_url: str,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
) -> None:
    import botwire._plans as plans

    monkeypatch.setattr(plans, "_PURGE_SLICE", 2)
    store = clocked
    for i in range(5):
        store.set(namespace, f"k{i}", str(i), ttl=0.1)
        store.append(namespace, f"l{i}", ["1"], id=f"id{i}")
    clock.advance(0.3)
    assert store.purge_expired() >= 5
    left = _rows(pg_url, "SELECT key FROM botwire_entries WHERE ns = %s ORDER BY key", namespace)
    assert left == [(f"l{i}",) for i in range(5)]
