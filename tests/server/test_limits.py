"""Limits and quotas (DESIGN.md §6): 413 for values, 429 + Retry-After for quotas."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from botwire import Memory, QuotaExceededError, SQLiteStore, ValueTooLargeError
from botwire._http import HTTPStore, RetryPolicy
from botwire.server import Settings
from botwire.server._settings import Settings as SettingsClass
from tests.server.conftest import make_client


def memory_on(client: TestClient, namespace: str = "ns") -> Memory:
    store = HTTPStore("http://testserver", client=client, retry=RetryPolicy(attempts=1))
    return Memory(namespace, store=store, max_value_bytes=None)


def seconds_to_utc_midnight() -> float:
    now = time.time()
    return 86400 - now % 86400


def test_writes_per_day(store: SQLiteStore) -> None:
    with make_client(store, writes_per_day=3) as client:
        memory = memory_on(client)
        memory.set("a", 1)
        memory.append("l", 1, 2)
        memory.delete("a")  # deletes only free space: not counted
        memory.set_many({"b": 1})
        with pytest.raises(QuotaExceededError, match="3 writes for today") as info:
            memory.set("c", 1)
        assert info.value.retry_after == pytest.approx(seconds_to_utc_midnight(), abs=5)

        answer = client.put("/memory/ns/c", json={"value": 1})
        assert answer.status_code == 429
        assert answer.json()["code"] == "quota_exceeded"
        assert int(answer.headers["retry-after"]) == pytest.approx(seconds_to_utc_midnight(), abs=5)
        assert memory.get("b") == 1  # reads are unlimited
        assert memory.list_keys() == ["b", "l"]
        other = memory_on(client, "other-ns")  # quotas are per namespace
        assert other.set("x", 1) == 1

        usage = client.get("/namespaces/ns").json()
        assert usage["writes_today"] == 3
        assert usage["limits"]["writes_per_day"] == 3
        assert "botwire_quota_refusals_total 2.0" in client.get("/metrics").text


def test_batch_over_the_quota_is_refused_whole(store: SQLiteStore) -> None:
    with make_client(store, writes_per_day=2) as client:
        memory = memory_on(client)
        with pytest.raises(QuotaExceededError):
            memory.set_many({"a": 1, "b": 2, "c": 3})
        assert memory.list_keys() == []
        memory.set_many({"a": 1, "b": 2})
        assert memory.get_many(["a", "b"]) == {"a": 1, "b": 2}


def test_namespace_size(store: SQLiteStore) -> None:
    with make_client(store, max_namespace_bytes=1000) as client:
        memory = memory_on(client)
        memory.set("a", "x" * 500)
        memory.set("a", "y" * 500)  # an overwrite does not count twice
        with pytest.raises(QuotaExceededError, match="limit of 1000 bytes") as info:
            memory.set("b", "x" * 600)
        assert info.value.retry_after == 60
        with pytest.raises(QuotaExceededError):
            memory.append("l", "x" * 600)
        memory.set("b", "x" * 400)
        assert memory.delete("a") is True
        memory.set("c", "x" * 500)  # room again after the delete
        assert client.get("/namespaces/ns").json()["bytes"] == 904
        assert memory_on(client, "other").set("big", "x" * 900) == 1


def test_value_size_limit_is_configurable(store: SQLiteStore) -> None:
    with make_client(store, max_value_bytes=64) as client:
        memory = memory_on(client)
        memory.set("ok", "x" * 62)
        with pytest.raises(ValueTooLargeError):
            memory.set("big", "x" * 63)
        with pytest.raises(ValueTooLargeError):
            memory.append("list", "x" * 63)
        response = client.put("/memory/ns/big", json={"value": "x" * 100})
        assert response.status_code == 413
        assert response.json()["code"] == "value_too_large"


def test_settings_from_environment() -> None:
    settings = SettingsClass.from_env(
        {
            "BOTWIRE_WRITES_PER_DAY": "1_000",
            "BOTWIRE_MAX_NAMESPACE_BYTES": "unlimited",
            "BOTWIRE_MAX_VALUE_BYTES": "2048",
            "BOTWIRE_ACCESS_LOG": "off",
            "BOTWIRE_DB": "sqlite:////srv/x.db",
            "BOTWIRE_PORT": "9000",
        }
    )
    assert settings == Settings(
        port=9000,
        db="sqlite:////srv/x.db",
        writes_per_day=1000,
        max_value_bytes=2048,
        max_namespace_bytes=None,
        access_log=False,
    )
    assert SettingsClass.from_env({}, port=1234).port == 1234
    with pytest.raises(ValueError, match="BOTWIRE_WRITES_PER_DAY must be an integer"):
        SettingsClass.from_env({"BOTWIRE_WRITES_PER_DAY": "lots"})
    with pytest.raises(ValueError, match="writes_per_day must be a positive integer"):
        Settings(writes_per_day=0)


def test_limits_reported(client: Any) -> None:
    assert client.get("/namespaces/fresh").json()["limits"] == {
        "max_value_bytes": 1024 * 1024,
        "max_namespace_bytes": 50_000_000,
        "writes_per_day": None,
    }
