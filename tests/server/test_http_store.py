"""HTTPStore / AsyncHTTPStore: error mapping, retries, idempotent appends.

The server is the real app; a thin ASGI wrapper in front of it plays a flaky
network or proxy (503s, lost answers, 429s) for the first requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import botwire
from botwire import (
    AsyncMemory,
    ConflictError,
    Memory,
    NotAListError,
    NotFoundError,
    QuotaExceededError,
    ServerError,
    SQLiteStore,
    UnavailableError,
    ValidationError,
    ValueTooLargeError,
)
from botwire._http import AsyncHTTPStore, HTTPStore, RetryPolicy
from botwire.server import Settings, create_app

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


class Flaky:
    """ASGI middleware: answer the first requests from a script, then pass through.

    Script entries: an int status (answer it without running the request),
    ``("lost", status)`` (run the request, then replace its answer, as a proxy
    that loses a response would), or ``("retry-after", seconds)`` (429).
    """

    def __init__(self, app: Any, script: list[Any]) -> None:
        self.app = app
        self.script = list(script)
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.script:
            if scope["type"] == "http":
                self.seen.append(scope["method"])
            await self.app(scope, receive, send)
            return
        self.seen.append(scope["method"])
        step = self.script.pop(0)
        headers = [(b"content-type", b"application/json")]
        if isinstance(step, tuple) and step[0] == "lost":

            async def swallow(message: Any) -> None:
                pass

            await self.app(scope, receive, swallow)
            status, body = step[1], b"<html>bad gateway</html>"
        elif isinstance(step, tuple) and step[0] == "retry-after":
            status = 429
            body = b'{"detail":"slow down please","code":"quota_exceeded"}'
            headers.append((b"retry-after", str(step[1]).encode()))
        else:
            code = b"server_error" if step == 500 else b"unavailable"
            status, body = step, b'{"detail":"the store is restarting","code":"' + code + b'"}'
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def sqlite(tmp_path: Any) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "s.db")
    yield store
    store.close()


def sync_memory(app: Any, retry: RetryPolicy = FAST) -> Memory:
    client = TestClient(app)
    return Memory("ns", store=HTTPStore("http://testserver", client=client, retry=retry))


def async_memory(app: Any, retry: RetryPolicy = FAST) -> AsyncMemory:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    return AsyncMemory("ns", store=AsyncHTTPStore("http://testserver", client=client, retry=retry))


def test_errors_map_to_the_embedded_classes(sqlite: SQLiteStore) -> None:
    memory = sync_memory(create_app(sqlite, Settings(max_value_bytes=100)))
    memory.set("k", "v")
    with pytest.raises(ConflictError) as conflict:
        memory.set("k", "w", if_version=0)
    assert conflict.value.current_version == 1
    assert conflict.value.key == "k"
    memory.set("text", "abc")
    with pytest.raises(NotAListError):
        memory.append("text", 1)
    with pytest.raises(NotAListError):
        memory.get_list("text")
    with pytest.raises(NotAListError):
        memory.get_list("text", last=1)
    # The client checks sizes first; a client allowing more meets the server's 413.
    loose = Memory("ns", store=memory.store, max_value_bytes=None)
    with pytest.raises(ValueTooLargeError, match="limit is 100 bytes"):
        loose.set("big", "x" * 200)
    assert memory.get("big") is None
    assert memory.delete("k") is True
    assert memory.delete("k") is False
    assert memory.get_item("k") is None


def test_a_5xx_is_retried_then_succeeds(sqlite: SQLiteStore) -> None:
    flaky = Flaky(create_app(sqlite), [503, 502, 504])
    memory = sync_memory(flaky)
    assert memory.set("k", "v") == 1
    assert flaky.seen == ["PUT"] * 4
    assert memory.get("k") == "v"


def test_retries_give_up_with_what_was_tried(sqlite: SQLiteStore) -> None:
    flaky = Flaky(create_app(sqlite), [503] * 10)
    memory = sync_memory(flaky)
    # 503 means "unavailable" (its code says so): the error a caller can wait out
    with pytest.raises(UnavailableError, match=r"PUT .*/memory/ns/k tried 4 times .* HTTP 503"):
        memory.set("k", "v")
    assert len(flaky.seen) == 4


def test_a_500_is_not_retried(sqlite: SQLiteStore) -> None:
    flaky = Flaky(create_app(sqlite), [500])
    memory = sync_memory(flaky)
    with pytest.raises(ServerError):
        memory.get("k")
    assert len(flaky.seen) == 1


def test_a_retried_append_is_applied_once(sqlite: SQLiteStore) -> None:
    # The server appends, but the answer is lost on the way back (a proxy's 502):
    # the retry carries the same idempotency id, so the item is not appended twice.
    flaky = Flaky(create_app(sqlite), [("lost", 502), ("lost", 504)])
    memory = sync_memory(flaky)
    assert memory.append("chat", {"role": "user", "content": "hi"}) == 1
    assert flaky.seen == ["POST"] * 3
    assert memory.get_list("chat") == [{"role": "user", "content": "hi"}]
    flaky.script = [("lost", 503)]
    memory.batch([botwire.AppendOp("chat", ('"again"',))])
    assert memory.get_list("chat") == [{"role": "user", "content": "hi"}, "again"]


def test_short_retry_after_is_waited_long_is_raised(sqlite: SQLiteStore) -> None:
    flaky = Flaky(create_app(sqlite), [("retry-after", 0)])
    memory = sync_memory(flaky)
    assert memory.set("k", 1) == 1
    assert len(flaky.seen) == 2

    flaky.script = [("retry-after", 3600)]
    flaky.seen.clear()
    started = time.monotonic()
    with pytest.raises(QuotaExceededError) as info:
        memory.set("k", 2)
    assert info.value.retry_after == 3600
    assert time.monotonic() - started < 1
    assert len(flaky.seen) == 1


def test_unreachable_server() -> None:
    store = HTTPStore("http://127.0.0.1:9", retry=RetryPolicy(attempts=3, base=0.01), timeout=2)
    with pytest.raises(UnavailableError, match=r"GET http://127.0.0.1:9/memory/ns/k tried 3 times"):
        store.get("ns", "k")
    store.close()


def test_a_non_botwire_answer_is_a_clear_error() -> None:
    def teapot(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>hello</html>")

    store = HTTPStore(
        "http://example.test", client=httpx.Client(transport=httpx.MockTransport(teapot))
    )
    with pytest.raises(ServerError, match="not JSON.*BotWire server"):
        store.get("ns", "k")


@pytest.mark.parametrize("url", ["ftp://host", "host:8080", "http://", "http://h/?q=1", 42])
def test_invalid_urls_are_refused(url: Any) -> None:
    with pytest.raises(ValidationError):
        HTTPStore(url)


def test_api_key_is_sent_as_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(404, json={"detail": "no such key here", "code": "not_found"})

    transport = httpx.MockTransport(record)
    HTTPStore("http://h", api_key="k1", client=httpx.Client(transport=transport)).get("ns", "k")
    monkeypatch.setenv("BOTWIRE_API_KEY", "from-env")
    HTTPStore("http://h", client=httpx.Client(transport=transport)).get("ns", "k")
    assert seen == ["Bearer k1", "Bearer from-env"]


async def test_async_store_retries_and_maps_errors(sqlite: SQLiteStore) -> None:
    flaky = Flaky(create_app(sqlite), [503, ("lost", 502)])
    memory = async_memory(flaky)
    assert await memory.append("l", 1, 2) == 2
    assert flaky.seen == ["POST"] * 3
    assert await memory.get_list("l") == [1, 2]
    await memory.set("k", "v")
    with pytest.raises(ConflictError) as info:
        await memory.set("k", "w", if_version=5)
    assert info.value.current_version == 1
    page = await memory.store.list_keys("ns", limit=1)
    assert page.keys == ["k"] and page.next_cursor is not None
    assert (await memory.store.list_keys("ns", limit=1, cursor=page.next_cursor)).keys == ["l"]
    assert (await memory.store.usage("ns")).keys == 2
    await memory.aclose()


def test_list_keys_without_limit_pages_through_everything(sqlite: SQLiteStore) -> None:
    seen: list[str] = []
    app = create_app(sqlite)

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["query_string"].decode())
        await app(scope, receive, send)

    memory = sync_memory(spy)
    memory.set_many({f"k{i:04d}": i for i in range(2500)})
    assert memory.list_keys() == [f"k{i:04d}" for i in range(2500)]
    listing = [q for q in seen if "limit" in q]
    assert len(listing) == 3 and all("limit=1000" in q for q in listing)
    assert json.loads(json.dumps(memory.store.usage("ns").keys)) == 2500


def test_sync_and_async_stores_are_twins() -> None:
    import inspect

    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_") and name not in ("close", "aclose")
        }

    sync, asynchronous = public(HTTPStore), public(AsyncHTTPStore)
    assert set(sync) == set(asynchronous)
    for name, signature in sync.items():
        assert list(signature.parameters) == list(asynchronous[name].parameters), name
        assert inspect.iscoroutinefunction(getattr(AsyncHTTPStore, name)), name
    assert isinstance(HTTPStore("http://h"), botwire.Store)
    assert isinstance(AsyncHTTPStore("http://h"), botwire.AsyncStore)


def test_a_wrong_base_url_is_an_error_not_a_missing_key(sqlite: SQLiteStore) -> None:
    client = TestClient(create_app(sqlite))
    store = HTTPStore("http://testserver/not-botwire", client=client, retry=FAST)
    with pytest.raises(NotFoundError, match="no route"):  # a wrong URL, not a missing key
        store.get("ns", "k")


class ResetAfterSending(httpx.BaseTransport):
    """Deliver the first ``resets`` requests, then fail as a reset connection would."""

    def __init__(self, inner: httpx.BaseTransport, resets: int, error: type = httpx.ReadError):
        self.inner = inner
        self.resets = resets
        self.error = error
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.method)
        response = self.inner.handle_request(request)
        response.read()
        if self.resets:
            self.resets -= 1
            raise self.error("connection reset by peer", request=request)
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


class AsyncResetAfterSending(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`ResetAfterSending`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, resets: int) -> None:
        self.inner = inner
        self.resets = resets

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if self.resets:
            self.resets -= 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


def reset_memory(app: Any, resets: int, error: type = httpx.ReadError) -> Memory:
    transport = ResetAfterSending(TestClient(app)._transport, resets, error)
    client = httpx.Client(transport=transport, base_url="http://localhost")
    return Memory("ns", store=HTTPStore("http://testserver", client=client, retry=FAST))


def test_a_set_whose_answer_was_lost_is_applied_once(sqlite: SQLiteStore) -> None:
    flaky = Flaky(create_app(sqlite), [("lost", 502), ("lost", 504)])
    memory = sync_memory(flaky)
    assert memory.set("k", "v") == 1
    assert flaky.seen == ["PUT"] * 3
    assert memory.get_item("k").version == 1  # type: ignore[union-attr]
    # a compare-and-set that landed: its retry gets the first answer, not a conflict
    flaky.script = [("lost", 503)]
    assert memory.set("k", "w", if_version=1) == 2
    flaky.script = [("lost", 502)]
    memory.set_many({"a": 1, "b": 2})
    assert [memory.get_item(k).version for k in ("k", "a", "b")] == [2, 1, 1]  # type: ignore[union-attr]


@pytest.mark.parametrize("error", [httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout])
def test_an_answer_lost_after_sending_is_retried_and_applied_once(
    sqlite: SQLiteStore, error: type
) -> None:
    memory = reset_memory(create_app(sqlite), 2, error)
    assert memory.set("k", "v") == 1
    memory = reset_memory(create_app(sqlite), 1, error)
    assert memory.append("log", "x") == 1
    memory = reset_memory(create_app(sqlite), 1, error)
    memory.batch([botwire.SetOp("b", '"v"'), botwire.AppendOp("log", ('"y"',))])
    memory = reset_memory(create_app(sqlite), 1, error)
    assert memory.get("k") == "v"
    assert [memory.get_item(k).version for k in ("k", "b")] == [1, 1]  # type: ignore[union-attr]
    assert memory.get_list("log") == ["x", "y"]


def test_a_delete_resent_after_a_lost_answer_reports_the_key_gone(sqlite: SQLiteStore) -> None:
    memory = reset_memory(create_app(sqlite), 0)
    memory.set("k", "v")
    memory = reset_memory(create_app(sqlite), 1)
    assert memory.delete("k") is True  # the first attempt deleted it; the resend finds none
    assert memory.get("k") is None
    assert reset_memory(create_app(sqlite), 0).delete("k") is False


def test_a_reset_outlasting_the_budget_says_the_write_may_have_landed(
    sqlite: SQLiteStore,
) -> None:
    memory = reset_memory(create_app(sqlite), 4)
    with pytest.raises(UnavailableError, match="tried 4 times.*may have been applied"):
        memory.set("k", "v")
    assert memory.get_item("k").version == 1  # type: ignore[union-attr]


async def test_the_async_store_retries_a_reset_and_applies_once(sqlite: SQLiteStore) -> None:
    transport = AsyncResetAfterSending(httpx.ASGITransport(app=create_app(sqlite)), 2)
    client = httpx.AsyncClient(transport=transport)
    store = AsyncHTTPStore("http://testserver", client=client, retry=FAST)
    memory = AsyncMemory("ns", store=store)
    assert await memory.set("k", "v") == 1
    transport.resets = 1
    assert await memory.append("log", 1) == 1
    transport.resets = 1
    assert await memory.delete("k") is True
    assert await memory.get_list("log") == [1]
    await client.aclose()


def test_the_server_reads_idempotency_key_on_put(sqlite: SQLiteStore) -> None:
    with TestClient(create_app(sqlite)) as client:
        headers = {"idempotency-key": "req-1"}
        first = client.put("/memory/ns/k", json={"value": 1}, headers=headers)
        again = client.put("/memory/ns/k", json={"value": 1}, headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert again.json()["version"] == 1
        assert client.put("/memory/ns/k", json={"value": 1}).json()["version"] == 2
        bad = client.put("/memory/ns/k", json={"value": 1}, headers={"idempotency-key": "x" * 129})
        assert bad.status_code == 400
        assert "Idempotency-Key" in bad.json()["detail"]
        ops = {"ops": [{"op": "set", "key": "s", "value": 1, "id": "op-1"}]}
        assert (
            client.post("/memory/ns", json=ops).json() == client.post("/memory/ns", json=ops).json()
        )
        assert client.get("/memory/ns/s").json()["version"] == 1
