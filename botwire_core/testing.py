"""A conformance suite for any :class:`~botwire.Store`: run BotWire's rules on yours.

Subclass :class:`StoreConformance`, give it a ``store`` fixture that returns a
store (its ``namespace`` fixture gives each test an unused namespace), and pytest
runs every test below against it, as langchain-tests does for LangChain stores::

    import pytest
    from botwire.testing import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self):
            store = MyStore(...)
            yield store
            store.close()

The tests speak the ``Store`` protocol directly (JSON texts in, records out), so a
store written outside this repository is held to the same semantics as BotWire's
own (DESIGN.md §4): versions, compare-and-set, lists and their windows,
idempotency ids, TTLs, listing with cursors, and batches as one transaction. A
store that cannot support a test should mark it ``xfail`` with a reason in its
subclass (override the test), never skip it silently. Needs ``pytest``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from botwire._errors import ConflictError, NotAListError, ValidationError
from botwire._store import Store
from botwire._types import AppendOp, DeleteOp, GetOp, KeyPage, Record, SetOp

__all__ = ["StoreConformance"]


class StoreConformance:
    """Tests every :class:`~botwire.Store` passes; subclass it with a ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """The store under test; override it in your subclass."""
        raise NotImplementedError("define a `store` fixture in your StoreConformance subclass")

    @pytest.fixture
    def namespace(self) -> str:
        """A namespace no other test uses (stores may be shared between tests)."""
        return f"conformance-{uuid.uuid4().hex[:12]}"

    # -- single keys ----------------------------------------------------------------

    def test_missing_key_is_none(self, store: Store, namespace: str) -> None:
        assert store.get(namespace, "nothing") is None
        assert store.delete(namespace, "nothing") is False

    def test_set_then_get_returns_the_text_and_version_1(
        self, store: Store, namespace: str
    ) -> None:
        result = store.set(namespace, "k", '{"a":[1,2]}')
        assert (result.version, result.bytes) == (1, len('{"a":[1,2]}'))
        record = store.get(namespace, "k")
        assert isinstance(record, Record)
        assert (record.key, record.raw, record.version) == ("k", '{"a":[1,2]}', 1)
        assert record.created_at <= record.updated_at and record.expires_at is None

    def test_each_write_adds_one_to_the_version(self, store: Store, namespace: str) -> None:
        assert [store.set(namespace, "k", str(i)).version for i in range(3)] == [1, 2, 3]
        assert store.delete(namespace, "k") is True
        assert store.set(namespace, "k", '"again"').version == 1  # a new key starts again

    def test_if_version_is_compare_and_set(self, store: Store, namespace: str) -> None:
        assert store.set(namespace, "k", '"a"', if_version=0).version == 1
        with pytest.raises(ConflictError):
            store.set(namespace, "k", '"b"', if_version=0)
        with pytest.raises(ConflictError):
            store.set(namespace, "k", '"b"', if_version=5)
        assert store.set(namespace, "k", '"b"', if_version=1).version == 2
        assert store.get(namespace, "k").raw == '"b"'  # type: ignore[union-attr]

    def test_namespaces_are_isolated(self, store: Store, namespace: str) -> None:
        store.set(namespace, "k", "1")
        assert store.get(namespace + "-other", "k") is None

    def test_keys_may_hold_any_unicode(self, store: Store, namespace: str) -> None:
        for key in ("a/b", "é?#", "user-42:style", "x y%20z"):
            store.set(namespace, key, '"v"')
            assert store.get(namespace, key).raw == '"v"'  # type: ignore[union-attr]

    # -- TTL ------------------------------------------------------------------------

    def test_an_expired_key_is_invisible_at_once(self, store: Store, namespace: str) -> None:
        store.set(namespace, "short", '"x"', ttl=0.3)
        store.set(namespace, "long", '"y"', ttl=3600)
        record = store.get(namespace, "long")
        assert record is not None and record.expires_at is not None
        time.sleep(0.5)
        assert store.get(namespace, "short") is None
        assert store.list_keys(namespace).keys == ["long"]
        assert store.set(namespace, "short", '"z"').version == 1  # expired: created afresh

    # -- lists ----------------------------------------------------------------------

    def test_append_creates_and_grows_a_list(self, store: Store, namespace: str) -> None:
        assert store.append(namespace, "l", ["1", '"two"']).length == 2
        assert store.append(namespace, "l", ["{}"]).length == 3
        assert store.get(namespace, "l").raw == '[1,"two",{}]'  # type: ignore[union-attr]
        window = store.get_list(namespace, "l", 2)
        assert window is not None and window.raw == '["two",{}]'

    def test_a_list_set_whole_can_be_appended_to(self, store: Store, namespace: str) -> None:
        store.set(namespace, "l", "[1,2]")
        assert store.append(namespace, "l", ["3"]).length == 3
        assert store.get_list(namespace, "l").raw == "[1,2,3]"  # type: ignore[union-attr]
        assert store.get_list(namespace, "l", 0).raw == "[]"  # type: ignore[union-attr]

    def test_lists_refuse_values_that_are_not_lists(self, store: Store, namespace: str) -> None:
        store.set(namespace, "s", '"text"')
        with pytest.raises(NotAListError):
            store.append(namespace, "s", ["1"])
        with pytest.raises(NotAListError):
            store.get_list(namespace, "s")
        assert store.get_list(namespace, "missing") is None

    def test_ids_make_writes_idempotent(self, store: Store, namespace: str) -> None:
        first = store.append(namespace, "l", ["1"], id="append-1")
        assert store.append(namespace, "l", ["1"], id="append-1") == first
        assert store.get(namespace, "l").raw == "[1]"  # type: ignore[union-attr]
        written = store.set(namespace, "k", '"v"', id="set-1")
        assert store.set(namespace, "k", '"v"', id="set-1") == written
        assert store.get(namespace, "k").version == 1  # type: ignore[union-attr]

    # -- listing --------------------------------------------------------------------

    def test_list_keys_in_order_with_prefix_limit_and_cursor(
        self, store: Store, namespace: str
    ) -> None:
        for key in ("b", "a", "user:2", "user:1", "c"):
            store.set(namespace, key, "0")
        assert store.list_keys(namespace).keys == ["a", "b", "c", "user:1", "user:2"]
        assert store.list_keys(namespace, prefix="user:").keys == ["user:1", "user:2"]
        seen: list[str] = []
        page = store.list_keys(namespace, limit=2)
        while True:
            assert isinstance(page, KeyPage) and len(page.keys) <= 2
            seen += page.keys
            if page.next_cursor is None:
                break
            page = store.list_keys(namespace, limit=2, cursor=page.next_cursor)
        assert seen == ["a", "b", "c", "user:1", "user:2"]

    def test_a_foreign_cursor_is_refused(self, store: Store, namespace: str) -> None:
        with pytest.raises(ValidationError):
            store.list_keys(namespace, limit=1, cursor="not-a-cursor!")

    # -- batches --------------------------------------------------------------------

    def test_a_batch_runs_in_order(self, store: Store, namespace: str) -> None:
        results: list[Any] = store.batch(
            namespace,
            [
                SetOp("a", "1"),
                GetOp("a"),
                AppendOp("l", ("1",)),
                DeleteOp("a"),
                GetOp("a"),
            ],
        )
        assert results[0].version == 1
        assert results[1].raw == "1"
        assert results[2].length == 1
        assert results[3] is True and results[4] is None

    def test_a_failing_batch_applies_nothing(self, store: Store, namespace: str) -> None:
        store.set(namespace, "a", "1")
        with pytest.raises(ConflictError):
            store.batch(namespace, [SetOp("b", "2"), SetOp("a", "3", if_version=7)])
        assert store.get(namespace, "b") is None
        assert store.get(namespace, "a").raw == "1"  # type: ignore[union-attr]

    def test_usage_counts_live_keys(self, store: Store, namespace: str) -> None:
        store.set(namespace, "a", '"xy"')
        store.set(namespace, "b", "1")
        usage = store.usage(namespace)
        assert usage.keys == 2 and usage.bytes >= 5
