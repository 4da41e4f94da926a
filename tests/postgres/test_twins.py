"""The sync and async PostgreSQL stores are twins: same methods, same signatures."""

from __future__ import annotations

import inspect

import pytest

from botwire import AsyncStore, Store
from botwire._postgres import AsyncPostgresStore, PostgresStore

pytestmark = pytest.mark.postgres


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in ("close", "aclose")
    }


def test_twins_have_the_same_methods_and_signatures() -> None:
    sync, coro = _public(PostgresStore), _public(AsyncPostgresStore)
    assert sync.keys() == coro.keys()
    assert {"get", "set", "append", "batch", "namespaces", "purge_expired"} <= sync.keys()
    for name, signature in sync.items():
        assert str(signature) == str(coro[name]), name
        assert inspect.iscoroutinefunction(getattr(AsyncPostgresStore, name)), name
    init_sync = inspect.signature(PostgresStore.__init__).parameters
    init_async = inspect.signature(AsyncPostgresStore.__init__).parameters
    assert list(init_sync) == list(init_async)


def test_twins_implement_the_store_protocols() -> None:
    for name in ("get", "get_list", "set", "delete", "append", "list_keys", "batch", "usage"):
        assert str(inspect.signature(getattr(PostgresStore, name))) == str(
            inspect.signature(getattr(Store, name))
        ), name
        assert str(inspect.signature(getattr(AsyncPostgresStore, name))) == str(
            inspect.signature(getattr(AsyncStore, name))
        ), name
    assert PostgresStore.kind == AsyncPostgresStore.kind == "postgres"
