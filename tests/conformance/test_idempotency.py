"""Request idempotency ids: a write sent twice with one id is applied once.

The HTTP store gives every set and append an id so that a retry after a lost
answer returns the first result; every store must honour them, alone and in batches.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from botwire import AppendOp, ConflictError, SetOp
from botwire._types import WriteResult


def test_a_set_repeated_with_its_id_returns_the_first_result(memory: Any) -> None:
    store, ns = memory.store, memory.namespace
    first = store.set(ns, "k", '{"a":1}', id="set-1")
    assert first == WriteResult(1, 7)
    assert store.set(ns, "k", '{"a":1}', id="set-1") == first
    assert memory.get_item("k").version == 1  # not applied twice
    assert store.set(ns, "k", '"other"', id="set-2").version == 2
    assert memory.get("k") == "other"


def test_a_repeated_conditional_set_is_not_a_conflict(memory: Any) -> None:
    store, ns = memory.store, memory.namespace
    memory.set("k", 1)
    landed = store.set(ns, "k", "2", if_version=1, id="cas-1")
    assert landed.version == 2
    # the retry of a compare-and-set that landed: the first result, no ConflictError
    assert store.set(ns, "k", "2", if_version=1, id="cas-1") == landed
    with pytest.raises(ConflictError):  # without the id it is a stale write
        store.set(ns, "k", "3", if_version=1)
    create = store.set(ns, "new", "0", if_version=0, id="create-1")
    assert store.set(ns, "new", "0", if_version=0, id="create-1") == create


def test_a_refused_set_does_not_remember_its_id(memory: Any) -> None:
    store, ns = memory.store, memory.namespace
    memory.set("k", 1)
    with pytest.raises(ConflictError):
        store.set(ns, "k", "5", if_version=9, id="late")
    assert store.set(ns, "k", "5", if_version=1, id="late").version == 2
    assert memory.get("k") == 5


def test_a_batch_repeated_with_its_ids_is_applied_once(memory: Any) -> None:
    ops = [SetOp("s", '"v"', id="b-set"), AppendOp("log", ('"x"',), id="b-append")]
    first = memory.batch(ops)
    assert memory.batch(ops) == first
    assert memory.get_item("s").version == 1
    assert memory.get("log") == ["x"]


def test_a_set_without_id_still_writes_every_time(memory: Any) -> None:
    store, ns = memory.store, memory.namespace
    store.set(ns, "k", "1")
    assert store.set(ns, "k", "1").version == 2


def test_concurrent_repeats_of_one_set_apply_it_once(memory: Any) -> None:
    # A client that timed out resends while its first attempt is still running:
    # the repeats wait for the first one and return its result.
    store, ns = memory.store, memory.namespace
    results: list[Any] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            results.append(store.set(ns, "k", '"v"', if_version=0, id="same"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == [WriteResult(1, 3)] * 6
    assert memory.get_item("k").version == 1
