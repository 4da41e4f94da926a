"""Fan-out: thousands of concurrent calls from one ``AsyncMemory`` (issue 14 item 6).

Over HTTP, concurrent single-key calls that queue up behind the in-flight bound are
coalesced into batch requests (``botwire._coalesce``); each caller still gets
exactly its own result or its own error.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from botwire import (
    AsyncHTTPStore,
    AsyncMemory,
    ConflictError,
    NotAListError,
    ValidationError,
)
from tests.servers import start_server


def _namespace() -> str:
    return f"fan-{uuid.uuid4().hex[:12]}"


def _counting(url: str) -> tuple[AsyncHTTPStore, list[httpx.Request], httpx.AsyncClient]:
    """An ``AsyncHTTPStore`` whose every request sent is recorded."""
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    client = httpx.AsyncClient(
        event_hooks={"request": [record]},
        limits=httpx.Limits(max_connections=64),
        timeout=30.0,
    )
    return AsyncHTTPStore(url, client=client), sent, client


def _batches(sent: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in sent if r.method == "POST" and r.url.path.count("/") == 2]


async def test_a_lone_call_is_sent_at_once_as_its_own_request(
    _servers: dict[str, str],
) -> None:
    store, sent, client = _counting(_servers["sqlite"])
    memory = AsyncMemory(_namespace(), store=store)
    try:
        assert await memory.set("k", 1) == 1
        assert await memory.get("k") == 1
        assert await memory.append("l", "a") == 1
        assert await memory.delete("k") is True
        assert [r.method for r in sent] == ["PUT", "GET", "POST", "DELETE"]
        assert _batches(sent) == []
    finally:
        await client.aclose()


async def test_concurrent_sets_are_coalesced_into_few_requests(
    _servers: dict[str, str],
) -> None:
    store, sent, client = _counting(_servers["sqlite"])
    memory = AsyncMemory(_namespace(), store=store)
    try:
        versions = await asyncio.gather(*(memory.set(f"k{i}", i) for i in range(1000)))
        assert versions == [1] * 1000
        assert len(sent) <= 200, f"{len(sent)} requests for 1,000 calls"
        assert len(_batches(sent)) >= 1
        stored = await memory.get_many([f"k{i}" for i in range(1000)])
        assert stored == {f"k{i}": i for i in range(1000)}
        # and reads coalesce alike
        sent.clear()
        values = await asyncio.gather(*(memory.get(f"k{i}") for i in range(1000)))
        assert values == list(range(1000))
        assert len(sent) <= 200, f"{len(sent)} requests for 1,000 calls"
    finally:
        await client.aclose()


async def test_a_thousand_mixed_concurrent_calls_each_get_their_own_answer(
    _servers: dict[str, str],
) -> None:
    """Sets, gets, deletes, appends and conditional sets at once: every result is
    the caller's own; a conflict or a not-a-list reaches exactly its caller."""
    store, sent, client = _counting(_servers["sqlite"])
    memory = AsyncMemory(_namespace(), store=store)
    try:
        await memory.set_many({f"g{i}": {"n": i} for i in range(100)})
        await memory.set_many({f"d{i}": i for i in range(100)})
        await memory.set_many({f"c{i}": 0 for i in range(100)})  # version 1 each
        await memory.set("scalar", "not a list")

        calls: list[tuple[str, Any, Any]] = []  # (what, coroutine factory, expected)
        for i in range(340):
            calls.append(("set", lambda i=i: memory.set(f"s{i}", [i, "x"]), 1))
        for i in range(100):
            calls.append(("get", lambda i=i: memory.get(f"g{i}"), {"n": i}))
            calls.append(("get missing", lambda i=i: memory.get(f"m{i}", "none"), "none"))
            calls.append(("delete", lambda i=i: memory.delete(f"d{i}"), True))
        for i in range(50):
            calls.append(("delete missing", lambda i=i: memory.delete(f"x{i}"), False))
            calls.append(("cas", lambda i=i: memory.set(f"c{i}", 1, if_version=1), 2))
            calls.append(
                (
                    "cas conflict",
                    lambda i=i: memory.set(f"c{50 + i}", 1, if_version=7),
                    ConflictError,
                )
            )
        for i in range(200):
            calls.append(("append", lambda i=i: memory.append(f"l{i % 10}", i), int))
        for i in range(10):
            calls.append(("not a list", lambda i=i: memory.append("scalar", i), NotAListError))
        random.Random(14).shuffle(calls)
        assert len(calls) == 1000

        results = await asyncio.gather(*(make() for _, make, _ in calls), return_exceptions=True)

        for (what, _, expected), result in zip(calls, results, strict=True):
            if isinstance(expected, type) and issubclass(expected, Exception):
                assert isinstance(result, expected), (what, result)
            elif expected is int:
                assert isinstance(result, int) and 1 <= result <= 20, (what, result)
            else:
                assert result == expected, (what, result)
        assert len(sent) < len(calls)
        # what is stored agrees with what each caller was told
        for n in range(10):
            items = await memory.get_list(f"l{n}")
            assert sorted(items) == list(range(n, 200, 10))
        lengths = sorted(
            r for (what, _, _), r in zip(calls, results, strict=True) if what == "append"
        )
        assert lengths == sorted(list(range(1, 21)) * 10)
        assert await memory.get("scalar") == "not a list"
        assert [await memory.get(f"c{i}") for i in (0, 49, 50, 99)] == [1, 1, 0, 0]
        assert await memory.get_many([f"d{i}" for i in range(100)]) == {}
        assert await memory.get("s7") == [7, "x"]
    finally:
        await client.aclose()


async def test_conditional_writes_are_never_merged(_servers: dict[str, str]) -> None:
    store, sent, client = _counting(_servers["sqlite"])
    memory = AsyncMemory(_namespace(), store=store)
    try:
        await memory.set_many({f"c{i}": 0 for i in range(300)})
        sent.clear()
        results = await asyncio.gather(
            *(memory.set(f"c{i}", 1, if_version=1 + i % 2) for i in range(300)),
            *(memory.set(f"u{i}", 1) for i in range(300)),
            return_exceptions=True,
        )
        assert results[:300:2] == [2] * 150
        assert all(isinstance(r, ConflictError) for r in results[1:300:2])
        assert results[300:] == [1] * 300
        conditional = [r for r in sent if r.method == "PUT" and "if-match" in r.headers]
        assert len(conditional) == 300  # each alone, as its own request
        assert all(b"if_version" not in r.content for r in _batches(sent))
    finally:
        await client.aclose()


async def test_a_batch_refused_for_one_op_is_replayed_op_by_op(tmp_path: Path) -> None:
    """A value over the server's limit fails an all-or-nothing batch: nothing was
    applied, each op is sent again alone, and only the too-large one fails."""
    server = start_server(f"sqlite:///{tmp_path / 'small.db'}", max_value_bytes=1000)
    store, sent, client = _counting(server.url)
    memory = AsyncMemory(_namespace(), store=store)
    try:
        big = "x" * 2000  # over the server's limit, under the client's 1 MiB
        results = await asyncio.gather(
            *(memory.set(f"k{i}", big if i % 50 == 49 else i) for i in range(200)),
            return_exceptions=True,
        )
        for i, result in enumerate(results):
            if i % 50 == 49:
                assert isinstance(result, ValidationError), result
            else:
                assert result == 1, (i, result)
        stored = await memory.get_many([f"k{i}" for i in range(200)])
        assert stored == {f"k{i}": i for i in range(200) if i % 50 != 49}
    finally:
        await client.aclose()
        server.stop()


async def test_a_server_without_batches_gets_single_requests(
    _servers: dict[str, str],
) -> None:
    """A server of the original API (no ``POST /memory/{ns}``): once a batch is
    refused, every call goes alone, and every call still succeeds."""
    upstream = httpx.AsyncClient(base_url=_servers["sqlite"], timeout=30.0)
    refused = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal refused
        if request.method == "POST" and request.url.path.count("/") == 2:
            refused += 1
            return httpx.Response(405, json={"detail": "Method Not Allowed"})
        answer = await upstream.request(
            request.method,
            request.url.raw_path.decode(),
            # the upstream's own Host: a loopback server refuses foreign ones
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            content=request.content,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    memory = AsyncMemory(_namespace(), store=AsyncHTTPStore("http://old", client=client))
    try:
        assert await asyncio.gather(*(memory.set(f"k{i}", i) for i in range(300))) == [1] * 300
        assert 1 <= refused <= 64  # the batches sent before the first refusal came back
        refused = 0
        assert await asyncio.gather(*(memory.get(f"k{i}") for i in range(300))) == list(range(300))
        assert refused == 0
    finally:
        await client.aclose()
        await upstream.aclose()


async def test_batches_stay_within_the_ops_and_body_limits(_servers: dict[str, str]) -> None:
    """Merged bodies never exceed MAX_BYTES (below any server's body limit) nor
    MAX_OPS; an op over MAX_OP_BYTES travels alone, as its own PUT."""
    from botwire._coalesce import MAX_BYTES, MAX_OP_BYTES, MAX_OPS

    store, sent, client = _counting(_servers["sqlite"])
    memory = AsyncMemory(_namespace(), store=store)
    try:
        mid, big = "m" * 3000, "b" * (MAX_OP_BYTES + 1)
        values = [big if i % 200 == 0 else mid if i % 2 else i for i in range(2000)]
        versions = await asyncio.gather(*(memory.set(f"k{i}", v) for i, v in enumerate(values)))
        assert versions == [1] * 2000
        batches = _batches(sent)
        assert batches and all(len(r.content) <= MAX_BYTES for r in batches)
        assert all(r.content.count(b'"op":') <= MAX_OPS for r in batches)
        assert all(big.encode() not in r.content for r in batches)
        assert sum(1 for r in sent if r.method == "PUT" and big.encode() in r.content) == 10
        small = await asyncio.gather(*(memory.set(f"s{i}", i) for i in range(5000)))
        assert small == [1] * 5000
        assert all(r.content.count(b'"op":') <= MAX_OPS for r in _batches(sent))
        stored = await memory.get_many([f"k{i}" for i in range(0, 2000, 7)])
        assert stored == {f"k{i}": values[i] for i in range(0, 2000, 7)}
    finally:
        await client.aclose()


async def test_callers_cancelled_while_waiting_leave_the_others_alone(
    _servers: dict[str, str],
) -> None:
    store, sent, client = _counting(_servers["sqlite"])
    memory = AsyncMemory(_namespace(), store=store)
    try:
        tasks = [asyncio.create_task(memory.set(f"k{i}", i)) for i in range(600)]
        await asyncio.sleep(0)  # every call issued; those past the first 64 wait
        for task in tasks[100:600:2]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        kept = [i for i in range(600) if i < 100 or i % 2]
        assert [results[i] for i in kept] == [1] * len(kept)
        cancelled = [i for i in range(100, 600, 2)]
        assert all(isinstance(results[i], asyncio.CancelledError) for i in cancelled)
        stored = await memory.get_many([f"k{i}" for i in range(600)])
        assert {int(k[1:]) for k in stored} == set(kept)  # nothing cancelled was sent
        assert await memory.set("after", 1) == 1  # and the store still works
    finally:
        await client.aclose()


@pytest.mark.slow
async def test_ten_thousand_concurrent_sets_complete_on_every_door(backend_url: str) -> None:
    memory = AsyncMemory(_namespace(), backend_url)
    try:
        results = await asyncio.gather(
            *(memory.set(f"k{i}", i) for i in range(10_000)), return_exceptions=True
        )
        assert [r for r in results if isinstance(r, BaseException)][:3] == []
        assert results == [1] * 10_000
        keys = [f"k{i}" for i in range(0, 10_000, 97)]
        assert await memory.get_many(keys) == {k: int(k[1:]) for k in keys}
    finally:
        await memory.aclose()
