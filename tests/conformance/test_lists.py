"""Lists: atomic O(1) appends, tail windows, idempotent retries."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from botwire import NotAListError, ValidationError


def test_append_creates_and_extends(memory: Any) -> None:
    assert memory.append("chat", {"role": "user", "content": "hi"}) == 1
    assert memory.append("chat", "two", 3, None, [4]) == 5
    assert memory.get("chat") == [{"role": "user", "content": "hi"}, "two", 3, None, [4]]
    assert memory.get_list("chat") == memory.get("chat")


def test_get_list_tail_window(memory: Any) -> None:
    memory.append("log", *range(10))
    assert memory.get_list("log", last=3) == [7, 8, 9]
    assert memory.get_list("log", last=0) == []
    assert memory.get_list("log", last=50) == list(range(10))
    assert memory.get_list("missing") == []
    assert memory.get_list("missing", last=2) == []


def test_append_to_a_list_that_was_set_whole(memory: Any) -> None:
    memory.set("l", [1, {"a": 2}])
    assert memory.get_list("l", last=1) == [{"a": 2}]
    assert memory.append("l", 3) == 3
    assert memory.get("l") == [1, {"a": 2}, 3]


def test_set_replaces_an_appended_list(memory: Any) -> None:
    memory.append("l", 1, 2, 3)
    memory.set("l", "now a string")
    assert memory.get("l") == "now a string"
    memory.set("l", [9])
    assert memory.append("l", 10) == 2
    assert memory.get("l") == [9, 10]


def test_set_over_a_list_continues_its_version(memory: Any) -> None:
    memory.append("l", 1)
    memory.append("l", 2)
    assert memory.set("l", {"now": "a value"}) == 3
    assert memory.get_item("l").version == 3
    assert memory.get("l") == {"now": "a value"}
    assert memory.set("l", "again") == 4


def test_versions_count_appends(memory: Any) -> None:
    memory.append("l", 1)
    memory.append("l", 2, 3)
    assert memory.get_item("l").version == 2


def test_append_to_non_list_is_refused(memory: Any) -> None:
    memory.set("s", "text")
    with pytest.raises(NotAListError, match="not a list"):
        memory.append("s", 1)
    with pytest.raises(NotAListError):
        memory.get_list("s")
    with pytest.raises(TypeError):  # NotAListError is also a TypeError
        memory.append("s", 2)
    assert memory.get("s") == "text"


def test_append_needs_items_and_valid_values(memory: Any) -> None:
    with pytest.raises(ValidationError, match="at least one"):
        memory.append("l")
    with pytest.raises(ValidationError):
        memory.append("l", 1, {2, 3})
    assert "l" not in memory


def test_append_id_makes_a_retry_harmless(memory: Any) -> None:
    assert memory.append("l", "a", id="req-1") == 1
    assert memory.append("l", "a", id="req-1") == 1
    assert memory.append("l", "b", id="req-2") == 2
    assert memory.get("l") == ["a", "b"]


def test_delete_removes_a_list(memory: Any) -> None:
    memory.append("l", 1, 2)
    assert memory.delete("l") is True
    assert memory.get_list("l") == []
    assert memory.append("l", 3) == 1


def test_list_with_ttl_expires(memory: Any) -> None:
    import time

    memory.set("l", [1], ttl=0.3)
    memory.append("l", 2)
    time.sleep(0.5)
    assert memory.get("l") is None
    assert memory.append("l", 3) == 1


def test_concurrent_appenders_lose_nothing(memory: Any) -> None:
    def worker(n: int) -> None:
        for i in range(40):
            memory.append("shared", f"{n}-{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    items = memory.get("shared")
    assert len(items) == 160
    assert sorted(items) == sorted(f"{n}-{i}" for n in range(4) for i in range(40))
    for n in range(4):  # each writer's items keep their order
        mine = [x for x in items if x.startswith(f"{n}-")]
        assert mine == [f"{n}-{i}" for i in range(40)]
