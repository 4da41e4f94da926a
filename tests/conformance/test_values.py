"""Values, versions, keys and namespaces: DESIGN.md §4, the same on every store."""

from __future__ import annotations

import time
from typing import Any

import pytest

import botwire
from botwire import ConflictError, ValidationError, ValueTooLargeError

JSON_VALUES: list[Any] = [
    "concise",
    "",
    '{"looks": "like json"}',
    "[1, 2]",
    "null",
    "42",
    0,
    -7,
    2**62,
    3.25,
    -0.5,
    True,
    False,
    None,
    [],
    {},
    [1, "two", None, {"three": [3.0]}],
    {"nested": {"deep": [True, False, None]}, "ünï": "cødé ✓", "emoji": "🧠"},
]


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
def test_value_round_trips_type_for_type(memory: Any, value: Any) -> None:
    memory.set("k", value)
    got = memory.get("k")
    assert got == value
    assert type(got) is type(value)


def test_seed_example(memory: Any) -> None:
    memory.set("user-42:response_style", "concise")
    assert memory.get("user-42:response_style") == "concise"


def test_missing_key_gives_default(memory: Any) -> None:
    assert memory.get("nope") is None
    assert memory.get("nope", default="fallback") == "fallback"
    assert memory.get_item("nope") is None
    assert "nope" not in memory


def test_contains_is_true_for_stored_none(memory: Any) -> None:
    memory.set("empty", None)
    assert "empty" in memory
    assert memory.get("empty", default="x") is None


def test_versions_start_at_one_and_count_writes(memory: Any) -> None:
    assert memory.set("v", "a") == 1
    assert memory.set("v", "b") == 2
    item = memory.get_item("v")
    assert item is not None
    assert (item.key, item.value, item.version) == ("v", "b", 2)
    assert item.created_at <= item.updated_at
    assert abs(item.updated_at - time.time()) < 60
    assert item.expires_at is None


def test_if_version_writes_only_on_match(memory: Any) -> None:
    assert memory.set("cas", 1, if_version=0) == 1
    with pytest.raises(ConflictError) as info:
        memory.set("cas", 2, if_version=0)
    assert info.value.current_version == 1
    assert memory.set("cas", 2, if_version=1) == 2
    with pytest.raises(ConflictError):
        memory.set("cas", 3, if_version=1)
    assert memory.get("cas") == 2


def test_if_version_on_missing_key_conflicts(memory: Any) -> None:
    with pytest.raises(ConflictError):
        memory.set("absent", 1, if_version=3)
    assert "absent" not in memory


def test_delete_reports_existence_and_resets_version(memory: Any) -> None:
    memory.set("d", 1)
    memory.set("d", 2)
    assert memory.delete("d") is True
    assert memory.delete("d") is False
    assert memory.get("d") is None
    assert memory.set("d", 3) == 1


@pytest.mark.parametrize(
    "key",
    ["user-42:style", "a/b", "é?#", "with space", "a%2Fb", "..", "../etc", "🔑" * 128, "x" * 512],
)
def test_any_unicode_key_works(memory: Any, key: str) -> None:
    memory.set(key, key)
    assert memory.get(key) == key
    assert key in memory.list_keys()
    assert memory.delete(key) is True


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "empty"),
        ("x" * 513, "at most 512"),
        ("é" * 257, "at most 512"),
        ("tab\there", "control character"),
        ("nul\x00", "control character"),
        ("line\nbreak", "control character"),
        (42, "must be a string"),
    ],
)
def test_invalid_keys_are_refused(memory: Any, key: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        memory.set(key, 1)
    with pytest.raises(ValidationError):
        memory.get(key)


@pytest.mark.parametrize(
    "namespace", ["", "has space", "slash/ns", "x" * 129, "ünicode", "semi;colon"]
)
def test_invalid_namespaces_are_refused(namespace: str) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        botwire.Memory(namespace)


@pytest.mark.parametrize("namespace", ["a", "user-preferences", "A.b_c:d@e-f", "x" * 128])
def test_valid_namespaces(namespace: str) -> None:
    with botwire.Memory(namespace) as memory:
        memory.set("k", 1)
        assert memory.get("k") == 1


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({1, 2}, "not JSON"),
        (b"bytes", "not JSON"),
        (float("nan"), "NaN"),
        ([1.0, float("inf")], "NaN"),
        ({1: "int key"}, "keys must be strings"),
        (object(), "not JSON"),
        ("\ud800", "surrogate"),
    ],
)
def test_non_json_values_are_refused(memory: Any, value: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        memory.set("bad", value)
    assert "bad" not in memory


def test_deep_nesting_is_refused(memory: Any) -> None:
    deep: Any = "leaf"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValidationError, match="nested"):
        memory.set("deep", deep)


def test_value_size_limit(memory: Any) -> None:
    memory.set("big", "x" * (1024 * 1024 - 2))  # exactly 1 MiB encoded with quotes
    with pytest.raises(ValueTooLargeError, match="limit"):
        memory.set("big", "x" * (1024 * 1024))
    assert len(memory.get("big")) == 1024 * 1024 - 2


def test_ttl_hides_expired_keys(memory: Any) -> None:
    memory.set("short", "soon gone", ttl=0.5)
    memory.set("long", "stays", ttl=3600)
    item = memory.get_item("short")
    assert item is not None and item.expires_at is not None
    assert item.expires_at > time.time()
    time.sleep(0.7)
    assert memory.get("short") is None
    assert "short" not in memory
    assert memory.list_keys() == ["long"]
    assert memory.set("short", "again") == 1
    assert memory.get_item("short").expires_at is None


@pytest.mark.parametrize("ttl", [0, -1, "10", True, float("nan")])
def test_invalid_ttl_is_refused(memory: Any, ttl: Any) -> None:
    with pytest.raises(ValidationError, match="ttl"):
        memory.set("k", 1, ttl=ttl)


@pytest.mark.parametrize("if_version", [-1, "1", 1.5, True])
def test_invalid_if_version_is_refused(memory: Any, if_version: Any) -> None:
    with pytest.raises(ValidationError, match="if_version"):
        memory.set("k", 1, if_version=if_version)


def test_namespaces_are_isolated(new_memory: Any) -> None:
    a, b = new_memory(), new_memory()
    a.set("shared-key", "a")
    assert b.get("shared-key") is None
    assert b.list_keys() == []
    b.set("shared-key", "b")
    assert a.get("shared-key") == "a"
