"""Limits and quotas (DESIGN.md §6): 413 for values, 429 + Retry-After for quotas."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from botwire import Memory, QuotaExceededError, SQLiteStore, ThreadedAsyncStore, ValueTooLargeError
from botwire._http import HTTPStore, RetryPolicy
from botwire._types import Usage
from botwire.server import Settings
from botwire.server._limits import Quotas
from botwire.server._settings import Settings as SettingsClass
from tests.conftest import postgres_url
from tests.server.conftest import make_client
from tests.servers import start_server


def memory_on(client: TestClient, namespace: str = "ns") -> Memory:
    store = HTTPStore("http://testserver", client=client, retry=RetryPolicy(attempts=1))
    return Memory(namespace, store=store, max_value_bytes=None)


def seconds_to_utc_midnight() -> float:
    now = time.time()
    return 86400 - now % 86400


@pytest.mark.parametrize("inline", [None, False], ids=["inline", "threads"])
def test_writes_per_day(store: SQLiteStore, inline: bool | None) -> None:
    with make_client(store, writes_per_day=3, inline_store=inline) as client:
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
    # Counted in the store (the SQLite file), where every server process on it sees it.
    today = int(time.time() // 86400)
    assert store.writes_on("ns", today) == 3
    assert store.writes_on("other-ns", today) == 1
    with make_client(store, writes_per_day=3) as client:  # a second server on the file
        assert client.get("/namespaces/ns").json()["writes_today"] == 3
        assert client.put("/memory/ns/c", json={"value": 1}).status_code == 429


def test_without_a_daily_limit_nothing_is_counted_in_the_store(store: SQLiteStore) -> None:
    with make_client(store) as client:
        memory = memory_on(client)
        memory.set("a", 1)
        memory.append("l", 1)
        # This process still reports the writes it made, as before.
        assert client.get("/namespaces/ns").json()["writes_today"] == 2
    assert store.writes_on("ns", int(time.time() // 86400)) == 0


def test_batch_over_the_quota_is_refused_whole(store: SQLiteStore) -> None:
    with make_client(store, writes_per_day=2) as client:
        memory = memory_on(client)
        with pytest.raises(QuotaExceededError):
            memory.set_many({"a": 1, "b": 2, "c": 3})
        assert memory.list_keys() == []
        memory.set_many({"a": 1, "b": 2})
        assert memory.get_many(["a", "b"]) == {"a": 1, "b": 2}


def test_namespace_size(store: SQLiteStore) -> None:
    # What is stored counts: key + value, and each write's idempotency id (the HTTP
    # client sends a 32-character one) with its key, for as long as it is kept.
    per_id = 1 + 32
    with make_client(store, max_namespace_bytes=1000) as client:
        memory = memory_on(client)
        memory.set("a", "x" * 500)  # 1 + 502 + 33 = 536
        memory.set("a", "y" * 500)  # an overwrite counts its new id only: 569
        with pytest.raises(QuotaExceededError, match="limit of 1000 bytes") as info:
            memory.set("b", "x" * 600)
        assert info.value.retry_after == 60
        with pytest.raises(QuotaExceededError):
            memory.append("l", "x" * 600)
        memory.set("b", "x" * 380)  # 1 + 382 + 33: 985
        assert memory.delete("a") is True  # its value and both its ids go: 416
        memory.set("c", "x" * 500)  # room again after the delete
        usage = client.get("/namespaces/ns").json()
        assert usage["bytes"] == 382 + 502  # the live values
        assert usage["stored_bytes"] == 2 * (1 + per_id) + 382 + 502
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


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "BOTWIRE_WRITES_PER_DAY": "1_000",
        "BOTWIRE_MAX_NAMESPACE_BYTES": "unlimited",
        "BOTWIRE_MAX_VALUE_BYTES": "2048",
        "BOTWIRE_ACCESS_LOG": "off",
        "BOTWIRE_DB": "sqlite:////srv/x.db",
        "BOTWIRE_PORT": "9000",
    }.items():
        monkeypatch.setenv(name, value)
    settings = SettingsClass.from_env()
    assert (settings.port, settings.db, settings.writes_per_day) == (
        9000,
        "sqlite:////srv/x.db",
        1000,
    )
    assert (settings.max_value_bytes, settings.max_namespace_bytes) == (2048, None)
    assert settings.access_log is False
    assert SettingsClass.from_env(port=1234).port == 1234  # an argument wins over a variable
    monkeypatch.setenv("BOTWIRE_WRITES_PER_DAY", "lots")
    with pytest.raises(ValueError, match="BOTWIRE_WRITES_PER_DAY"):
        SettingsClass.from_env()
    monkeypatch.delenv("BOTWIRE_WRITES_PER_DAY")
    with pytest.raises(ValueError, match="writes_per_day"):
        Settings(writes_per_day=0)


def test_limits_reported(client: Any) -> None:
    assert client.get("/namespaces/fresh").json()["limits"] == {
        "max_value_bytes": 1024 * 1024,
        "max_namespace_bytes": 50_000_000,
        "writes_per_day": None,
    }


def _two_servers_share_one_quota(db_url: str, namespace: str) -> None:
    with (
        start_server(db_url, writes_per_day=5, access_log=False) as a,
        start_server(db_url, writes_per_day=5, access_log=False) as b,
        httpx.Client(timeout=10) as http,
    ):
        on_a, on_b = f"{a.url}/memory/{namespace}", f"{b.url}/memory/{namespace}"
        for n in range(3):
            assert http.put(f"{on_a}/a{n}", json={"value": n}).status_code == 200
        assert http.post(f"{on_b}/log", json={"append": [1]}).status_code == 200
        assert http.put(f"{on_b}/b", json={"value": 1}).status_code == 200
        refused = [
            http.put(f"{on_a}/late", json={"value": 1}),
            http.put(f"{on_b}/late", json={"value": 1}),
            http.post(f"{on_b}/log", json={"append": [2]}),
            http.post(on_a, json={"ops": [{"op": "set", "key": "x", "value": 1}]}),
        ]
        for answer in refused:
            assert answer.status_code == 429, answer.text
            assert answer.json()["code"] == "quota_exceeded"
            retry_after = int(answer.headers["retry-after"])
            assert retry_after == pytest.approx(seconds_to_utc_midnight(), abs=5)
        for server in (a, b):
            usage = http.get(f"{server.url}/namespaces/{namespace}").json()
            assert usage["writes_today"] == 5
            assert usage["keys"] == 5
        assert http.get(f"{on_a}/late").status_code == 404
        other = f"{namespace}-other"  # the quota is per namespace
        assert http.put(f"{b.url}/memory/{other}/k", json={"value": 1}).status_code == 200


@pytest.mark.slow
def test_two_server_processes_on_one_sqlite_file_share_the_daily_quota(tmp_path: Path) -> None:
    _two_servers_share_one_quota(f"sqlite:///{tmp_path / 'shared.db'}", "ns")


@pytest.mark.slow
@pytest.mark.postgres
def test_two_server_processes_on_one_postgres_database_share_the_daily_quota() -> None:
    _two_servers_share_one_quota(postgres_url(), f"quota-{uuid.uuid4().hex[:16]}")


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_shared_count_follows_the_quotas_clock(store: SQLiteStore) -> None:
    async def usage(namespace: str) -> Usage:
        return Usage(0, 0)

    day = 20_000
    clock = FakeClock(day * 86400 + 86400 - 30)  # 30 s before midnight UTC
    shared = ThreadedAsyncStore(store)
    # Two servers (two Quotas) on one store: one count between them.
    first = Quotas(3, None, usage, clock, counter=lambda: shared)
    second = Quotas(3, None, usage, clock, counter=lambda: shared)
    await first.admit("ns", 2, 10)
    await second.admit("ns", 1, 10)
    with pytest.raises(QuotaExceededError, match="3 writes for today") as info:
        await first.admit("ns", 1, 10)
    assert info.value.retry_after == pytest.approx(30)
    assert await second.writes_today("ns") == 3
    assert store.writes_on("ns", day) == 3  # the day of the fake clock, not of time.time()
    clock.now += 60  # past midnight: a new day, a new count
    await second.admit("ns", 3, 10)
    assert await first.writes_today("ns") == 3
    assert store.writes_on("ns", day + 1) == 3
    assert store.writes_on("ns", day) == 0


async def test_a_write_refused_for_size_is_not_counted(store: SQLiteStore) -> None:
    held = Usage(0, 900)

    async def usage(namespace: str) -> Usage:
        return held

    clock = FakeClock(20_000 * 86400.0)
    quotas = Quotas(2, 1000, usage, clock, counter=lambda: ThreadedAsyncStore(store))
    await quotas.admit("ns", 1, 50)
    with pytest.raises(QuotaExceededError, match="limit of 1000 bytes"):
        await quotas.admit("ns", 1, 200)
    assert await quotas.writes_today("ns") == 1  # the refused write took no quota
    await quotas.admit("ns", 1, 50)
    # Past both limits: the daily count is reported, as it is checked first.
    with pytest.raises(QuotaExceededError, match="2 writes for today"):
        await quotas.admit("ns", 1, 200)
    # Past the daily count only: refused, and the room it took is given back.
    room = quotas._sizes["ns"].bytes
    with pytest.raises(QuotaExceededError, match="2 writes for today"):
        await quotas.admit("ns", 1, 10)
    assert quotas._sizes["ns"].bytes == room
    assert await quotas.writes_today("ns") == 2


@pytest.mark.parametrize("counter", [None, "a store without one"])
async def test_without_a_store_counter_this_process_counts(counter: Any) -> None:
    async def usage(namespace: str) -> Usage:
        return Usage(0, 900)

    clock = FakeClock(20_000 * 86400.0)
    quotas = Quotas(2, 1000, usage, clock, counter=None if counter is None else lambda: None)
    await quotas.admit("ns", 1, 50)
    with pytest.raises(QuotaExceededError, match="limit of 1000 bytes"):
        await quotas.admit("ns", 1, 200)
    assert await quotas.writes_today("ns") == 1
    await quotas.admit("ns", 1, 10)
    with pytest.raises(QuotaExceededError, match="2 writes for today"):
        await quotas.admit("ns", 1, 10)
    assert await quotas.writes_today("ns") == 2
    clock.now += 86400
    assert await quotas.writes_today("ns") == 0
    await quotas.admit("ns", 2, 0)
