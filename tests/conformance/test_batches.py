"""update (compare-and-set), batches, listing and cursors."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from botwire import ConflictError, DeleteOp, GetOp, SetOp, ValidationError


def test_update_applies_function(memory: Any) -> None:
    assert memory.update("n", lambda n: n + 1, default=0) == 1
    assert memory.update("n", lambda n: n * 10) == 10
    assert memory.get("n") == 10
    assert memory.update("prefs", lambda d: {**d, "style": "concise"}, default={}) == {
        "style": "concise"
    }


def test_update_refuses_non_callable(memory: Any) -> None:
    with pytest.raises(ValidationError, match="function"):
        memory.update("n", 5)


def test_concurrent_updates_lose_nothing(memory: Any) -> None:
    def worker() -> None:
        for _ in range(25):
            memory.update("counter", lambda n: n + 1, default=0)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert memory.get("counter") == 100
    assert memory.get_item("counter").version == 100


def test_get_set_delete_many(memory: Any) -> None:
    memory.set_many({"a": 1, "b": [2], "c": None})
    assert memory.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": [2], "c": None}
    assert memory.delete_many(["a", "missing", "c"]) == 2
    assert memory.list_keys() == ["b"]
    assert memory.get_many([]) == {}
    assert memory.delete_many([]) == 0


def test_set_many_ttl(memory: Any) -> None:
    memory.set_many({"x": 1, "y": 2}, ttl=60)
    assert memory.get_item("x").expires_at is not None


def test_set_many_validates_everything_first(memory: Any) -> None:
    with pytest.raises(ValidationError):
        memory.set_many({"good": 1, "": 2})
    with pytest.raises(ValidationError):
        memory.set_many({"good": 1, "bad": {1, 2}})
    assert memory.list_keys() == []
    with pytest.raises(ValidationError, match="list of keys"):
        memory.get_many("abc")


def test_batch_is_all_or_nothing(memory: Any) -> None:
    memory.set("guard", "v1")
    with pytest.raises(ConflictError):
        memory.batch(
            [SetOp("written-first", '"x"'), DeleteOp("guard"), SetOp("guard", '"v2"', if_version=7)]
        )
    assert memory.get("written-first") is None
    assert memory.get("guard") == "v1"


def test_batch_results_in_order(memory: Any) -> None:
    results = memory.batch([SetOp("a", "1"), GetOp("a"), DeleteOp("a"), GetOp("a")])
    assert results[0].version == 1
    assert results[1].raw == "1"
    assert results[2] is True
    assert results[3] is None


def test_list_keys_in_code_point_order_with_prefix_and_limit(memory: Any) -> None:
    keys = ["b", "a", "a/b", "a:1", "ab", "B", "é", "z", "user-1:x", "user-1:y", "user-2:x"]
    memory.set_many({k: 1 for k in keys})
    assert memory.list_keys() == sorted(keys)
    assert memory.keys() == sorted(keys)
    assert memory.list_keys(prefix="user-1:") == ["user-1:x", "user-1:y"]
    assert memory.list_keys(prefix="a") == ["a", "a/b", "a:1", "ab"]
    assert memory.list_keys(limit=3) == sorted(keys)[:3]
    assert memory.list_keys(prefix="nothing") == []


def test_store_pages_with_opaque_cursor(memory: Any) -> None:
    keys = [f"k{i:03d}" for i in range(25)] + ["other"]
    memory.set_many({k: i for i, k in enumerate(keys)})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = memory.store.list_keys(memory.namespace, prefix="k", limit=10, cursor=cursor)
        seen += page.keys
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"k{i:03d}" for i in range(25)]
    assert pages == 3


@pytest.mark.parametrize("limit", [-1, "3", 1.5])
def test_invalid_limit_is_refused(memory: Any, limit: Any) -> None:
    with pytest.raises(ValidationError, match="limit"):
        memory.list_keys(limit=limit)


def test_limit_zero_and_bad_cursors(memory: Any) -> None:
    memory.set_many({"a": 1, "b": 2})
    assert memory.list_keys(limit=0) == []
    page = memory.store.list_keys(memory.namespace, limit=0)
    assert page.keys == []
    for junk in ["%%%", "not-a-cursor!", "YQ"]:
        with pytest.raises(ValidationError, match="cursor"):
            memory.store.list_keys(memory.namespace, limit=1, cursor=junk)


@pytest.mark.parametrize("key", [{}, [], None, b"bytes"])
def test_unhashable_and_non_string_keys_are_validation_errors(memory: Any, key: Any) -> None:
    with pytest.raises(ValidationError, match="key must be a string"):
        memory.get(key)
