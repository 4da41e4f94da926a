"""``traced(AsyncMemory)``: the same spans from the asyncio client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import agentops
import pytest
from opentelemetry.trace import StatusCode

import botwire
from botwire import AsyncMemory
from botwire.agentops import traced

from .conftest import Spans

SECRET = "async-s3cr3t-77"

OPERATIONS: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
    ("get", lambda m: m.get("a")),
    ("get_item", lambda m: m.get_item("a")),
    ("set", lambda m: m.set("a", SECRET)),
    ("delete", lambda m: m.delete("a")),
    ("contains", lambda m: m.contains("a")),
    ("list_keys", lambda m: m.list_keys(prefix="")),
    ("keys", lambda m: m.keys()),
    ("append", lambda m: m.append("l", SECRET)),
    ("get_list", lambda m: m.get_list("l", last=1)),
    ("update", lambda m: m.update("n", lambda n: n + 1)),
    ("get_many", lambda m: m.get_many(["a", "n"])),
    ("set_many", lambda m: m.set_many({"b": SECRET})),
    ("delete_many", lambda m: m.delete_many(["a"])),
    ("batch", lambda m: m.batch([botwire.GetOp("a")])),
]


class NativeAsyncStore:
    """An ``AsyncStore`` that is not a ``ThreadedAsyncStore``, as the HTTP and
    PostgreSQL stores are not: its methods are coroutines of their own."""

    def __init__(self, store: botwire.Store) -> None:
        self.store = store
        self.kind = "native-async"

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            return method(*args, **kwargs)

        return call

    async def aclose(self) -> None:
        self.store.close()


@pytest.fixture(params=["threaded", "native"])
async def aplain(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[AsyncMemory]:
    """An embedded AsyncMemory, or one on a natively asynchronous store."""
    store = None
    if request.param == "native":
        store = NativeAsyncStore(botwire.open_store(db_url))
    memory = AsyncMemory("prefs", db_url, store=store)  # type: ignore[arg-type]
    await memory.set("a", SECRET)
    await memory.set("n", 1)
    await memory.append("l", SECRET)
    yield memory
    await (store.aclose() if store is not None else memory.aclose())


@pytest.mark.parametrize(("op", "call"), OPERATIONS, ids=[op for op, _ in OPERATIONS])
async def test_every_async_operation_opens_one_span(
    aplain: AsyncMemory, spans: Spans, op: str, call: Callable[[Any], Awaitable[Any]]
) -> None:
    memory = traced(aplain)
    spans.clear()

    await call(memory)

    [span] = spans.all()
    attrs = dict(span.attributes or {})
    assert span.name == f"botwire.{op}.tool"
    assert attrs["agentops.span.kind"] == "tool"
    assert attrs["operation.name"] == f"botwire.{op}"
    assert attrs["botwire.namespace"] == "prefs"
    assert attrs["botwire.store"] == aplain.store.kind
    assert SECRET not in json.dumps(attrs, default=str)


async def test_the_embedded_async_store_stays_a_threaded_store(db_url: str) -> None:
    """Adapters reach the blocking store of an embedded AsyncMemory as ``store.sync``."""
    aplain = AsyncMemory("prefs", db_url)
    memory = traced(aplain)

    assert isinstance(memory, AsyncMemory)
    assert isinstance(memory.store, botwire.ThreadedAsyncStore)
    assert memory.store.sync.inner is aplain.store.sync  # type: ignore[attr-defined]
    await aplain.aclose()


async def test_a_native_async_store_is_wrapped_directly(db_url: str) -> None:
    store = NativeAsyncStore(botwire.open_store(db_url))
    memory = traced(AsyncMemory("prefs", store=store))  # type: ignore[arg-type]

    assert memory.store.inner is store  # type: ignore[attr-defined]
    assert memory.store.kind == "native-async"
    await memory.set("k", 1)
    assert await memory.store.get("prefs", "k") is not None  # the Store API is intact
    await store.aclose()


async def test_async_spans_nest_and_record_metadata(aplain: AsyncMemory, spans: Spans) -> None:
    memory = traced(aplain)
    spans.clear()

    with agentops.start_trace("async-chat"):
        assert await memory.get("a") == SECRET
        assert await memory.get("missing") is None
        with pytest.raises(botwire.ConflictError):
            await memory.set("a", "x", if_version=9)

    root = spans.one("async-chat.session")
    hit, miss, conflict = spans.botwire()
    for span in (hit, miss, conflict):
        assert span.parent is not None and span.parent.span_id == root.context.span_id
    assert dict(hit.attributes or {})["botwire.hit"] is True
    assert dict(hit.attributes or {})["botwire.version"] == 1
    assert dict(miss.attributes or {})["botwire.hit"] is False
    assert conflict.status.status_code is StatusCode.ERROR
    assert dict(conflict.attributes or {})["botwire.error.code"] == "version_conflict"


async def test_concurrent_tasks_keep_their_own_parents(aplain: AsyncMemory, spans: Spans) -> None:
    memory = traced(aplain)
    tracer = __import__("opentelemetry.trace", fromlist=["get_tracer"]).get_tracer("test")
    spans.clear()

    async def agent(name: str) -> None:
        with tracer.start_as_current_span(name):
            for _ in range(3):
                await memory.set(f"{name}:step", name)
                await asyncio.sleep(0)

    await asyncio.gather(agent("alpha"), agent("beta"))

    parents = {spans.one(n).context.span_id: n for n in ("alpha", "beta")}
    sets = spans.named("botwire.set.tool")
    assert len(sets) == 6
    for span in sets:
        assert span.parent is not None
        owner = parents[span.parent.span_id]
        assert dict(span.attributes or {})["botwire.key"] == f"{owner}:step"


async def test_async_update_takes_an_async_function(aplain: AsyncMemory, spans: Spans) -> None:
    memory = traced(aplain)
    spans.clear()

    async def bump(n: int) -> int:
        await asyncio.sleep(0)
        return n + 1

    assert await memory.update("n", bump) == 2
    attrs = spans.attrs("botwire.update.tool")
    assert attrs["botwire.version"] == 2 and attrs["botwire.key"] == "n"


async def test_async_record_values(aplain: AsyncMemory, spans: Spans) -> None:
    memory = traced(aplain, record_values=True)
    spans.clear()

    await memory.get("a")

    assert spans.attrs("botwire.get.tool")["botwire.value"] == json.dumps(SECRET)


@pytest.mark.enable_socket  # pytest-socket: this case talks to a loopback server
@pytest.mark.allow_hosts(["127.0.0.1"])
async def test_both_clients_over_a_botwire_server(tmp_path: Path, spans: Spans) -> None:
    pytest.importorskip("fastapi")
    from tests.servers import start_server

    with start_server(f"sqlite:///{tmp_path / 'server.db'}", access_log=False) as server:
        async with AsyncMemory("prefs", server.url) as aplain:
            memory = traced(aplain)
            await memory.set("style", "concise")
            assert await memory.get("style") == "concise"
            with pytest.raises(botwire.ConflictError):
                await memory.set("style", "x", if_version=5)
        with botwire.Memory("prefs", server.url) as plain:
            assert traced(plain).get_many(["style", "nope"]) == {"style": "concise"}

    write, read, conflict, many = spans.botwire()
    assert [s.name for s in (write, read, conflict, many)] == [
        "botwire.set.tool",
        "botwire.get.tool",
        "botwire.set.tool",
        "botwire.get_many.tool",
    ]
    for span in (write, read, conflict, many):
        assert dict(span.attributes or {})["botwire.store"] == "http"
    assert dict(read.attributes or {})["botwire.version"] == 1
    assert dict(conflict.attributes or {})["botwire.error.code"] == "version_conflict"
    assert dict(many.attributes or {})["botwire.count"] == 1
