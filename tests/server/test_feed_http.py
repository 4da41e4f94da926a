"""The change feed over HTTP: the route, long-poll, Server-Sent Events, bounds, faults."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from botwire import ChangesExpiredError, Memory, SQLiteStore, UnavailableError
from botwire._http import HTTPStore
from tests.server.conftest import make_client
from tests.servers import ServerProcess, start_server


def test_get_changes_is_the_feed_and_a_key_named_changes_still_works(client: Any) -> None:
    assert client.put("/memory/ns/changes", json={"value": "a key"}).status_code == 200
    feed = client.get("/memory/ns/changes")
    assert feed.status_code == 200
    assert feed.json() == {"namespace": "ns", "changes": [], "next": 1}
    key = client.get("/memory/ns/%63hanges")
    assert key.status_code == 200 and key.json()["value"] == "a key"
    nested = client.put("/memory/ns/changes%2Fx", json={"value": 1})  # not the feed
    assert nested.status_code == 200
    assert client.delete("/memory/ns/changes").status_code == 200


def test_a_long_poll_answers_at_once_with_changes_and_empty_when_wait_runs_out(
    client: Any,
) -> None:
    client.put("/memory/ns/a", json={"value": 1})
    client.put("/memory/ns/b", json={"value": [1, 2]})
    answer = client.get("/memory/ns/changes", params={"since": 0, "wait": 5}).json()
    assert answer["next"] == 2
    assert [
        (c["seq"], c["key"], c["kind"], c["version"], c["value"]) for c in answer["changes"]
    ] == [
        (1, "a", "set", 1, 1),
        (2, "b", "set", 1, [1, 2]),
    ]
    started = time.monotonic()
    empty = client.get("/memory/ns/changes", params={"since": 2, "wait": 0.2}).json()
    assert empty == {"namespace": "ns", "changes": [], "next": 2}
    assert 0.15 < time.monotonic() - started < 5
    only_b = client.get("/memory/ns/changes", params={"since": 0, "prefix": "b", "wait": 0})
    assert [c["key"] for c in only_b.json()["changes"]] == ["b"]


@pytest.mark.parametrize(
    "query", [{"since": "-1"}, {"since": "x"}, {"wait": "61"}, {"wait": "soon"}, {"limit": "0"}]
)
def test_bad_parameters_are_400(client: Any, query: dict[str, str]) -> None:
    answer = client.get("/memory/ns/changes", params=query)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_request"


def test_a_since_past_the_retention_is_410_changes_expired(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", feed_max_changes=2)
    with make_client(store) as client:
        for i in range(5):
            client.put("/memory/ns/k", json={"value": i})
        store.purge_expired()
        answer = client.get("/memory/ns/changes", params={"since": 1, "wait": 0})
        assert answer.status_code == 410 and answer.json()["code"] == "changes_expired"
        sse = client.get(
            "/memory/ns/changes", headers={"accept": "text/event-stream", "last-event-id": "1"}
        )
        assert sse.status_code == 410
    store.close()


def test_watches_past_the_bound_are_429_with_retry_after(store: SQLiteStore) -> None:
    with make_client(store, max_watches=1) as client:
        results: list[int] = []
        waiting = threading.Thread(
            target=lambda: results.append(
                client.get("/memory/ns/changes", params={"since": 0, "wait": 2}).status_code
            )
        )
        waiting.start()
        time.sleep(0.5)
        refused = client.get("/memory/ns/changes", params={"since": 0, "wait": 2})
        waiting.join()
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["code"] == "quota_exceeded"
        assert results == [200]
        # A read that does not wait is not a watch: never refused.
        assert client.get("/memory/ns/changes", params={"wait": 0}).status_code == 200


def test_the_feed_is_in_the_openapi_document(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/memory/{namespace}/changes"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"namespace", "since", "prefix", "wait", "last-event-id"} <= names
    assert "410" in operation["responses"] and "429" in operation["responses"]


def test_the_feed_needs_the_read_right(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    admin = "a" * 32
    with make_client(store, admin_token=admin) as client:
        made = client.post(
            "/admin/tokens",
            json={"namespaces": ["other"], "read": True},
            headers={"authorization": f"Bearer {admin}"},
        ).json()
        headers = {"authorization": f"Bearer {made['token']}"}
        assert client.get("/memory/ns/changes", headers=headers).status_code == 403
        assert client.get("/memory/other/changes", headers=headers).status_code == 200
        assert client.get("/memory/ns/changes").status_code == 401
    store.close()


# -- a real server process: SSE, reconnects --------------------------------------


def _write(url: str, namespace: str, items: list[tuple[str, Any]], delay: float) -> None:
    time.sleep(delay)
    with Memory(namespace, url) as memory:
        for key, value in items:
            memory.set(key, value)


def test_server_sent_events_with_a_real_sse_client_resume_with_last_event_id(
    server: ServerProcess,
) -> None:
    httpx_sse = pytest.importorskip("httpx_sse")
    url, namespace = server.url, f"sse-{time.monotonic_ns()}"
    writer = threading.Thread(
        target=_write, args=(url, namespace, [("a", 1), ("b", 2), ("c", 3)], 0.3)
    )
    writer.start()
    events: list[Any] = []
    with httpx.Client(timeout=10) as http:
        with httpx_sse.connect_sse(http, "GET", f"{url}/memory/{namespace}/changes") as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            for event in source.iter_sse():
                events.append(event)
                if len(events) == 2:
                    break
        writer.join()
        assert [e.json()["key"] for e in events] == ["a", "b"]
        assert [int(e.id) for e in events] == [1, 2]
        resumed: list[Any] = []
        headers = {"last-event-id": events[-1].id}
        with httpx_sse.connect_sse(
            http, "GET", f"{url}/memory/{namespace}/changes", headers=headers
        ) as source:
            for event in source.iter_sse():
                resumed.append(event)
                break
    assert [(int(e.id), e.json()["key"], e.json()["value"]) for e in resumed] == [(3, "c", 3)]


class _Flaky(httpx.BaseTransport):
    """A transport whose every third request fails: the network dropping connections."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if "/changes" in request.url.path and self.sent % 3 == 0:
            raise httpx.ReadError("connection reset by peer (injected)")
        return self.inner.handle_request(request)


def test_http_watch_survives_network_faults_without_loss_or_repeats(
    server: ServerProcess,
) -> None:
    namespace = f"flaky-{time.monotonic_ns()}"
    transport = _Flaky()
    http = httpx.Client(transport=transport, timeout=10)
    store = HTTPStore(server.url, client=http)
    memory = Memory(namespace, store=store)
    since = memory.last_seq()
    items = [(f"k{i}", i) for i in range(40)]
    writer = threading.Thread(target=_write, args=(server.url, namespace, items, 0.1))
    writer.start()
    seen = []
    for change in memory.watch(since=since, timeout=5):
        seen.append(change.value)
        if len(seen) == len(items):
            break
    writer.join()
    assert seen == list(range(40)) and transport.sent > 3
    memory.close()
    http.close()
    transport.inner.close()


def test_a_watch_keeps_reconnecting_until_its_timeout(tmp_path: Path) -> None:
    first = start_server(f"sqlite:///{tmp_path / 'restart.db'}")
    memory = Memory("restart", first.url)
    since = memory.last_seq()
    memory.set("before", 1)
    assert next(memory.watch(since=since, timeout=30)).key == "before"
    first.stop()
    started = time.monotonic()
    with pytest.raises(UnavailableError):  # still down when the watch's timeout passed
        next(memory.watch(since=1, timeout=1.0))
    assert time.monotonic() - started >= 0.9
    memory.close()


def test_expired_since_over_http_raises_the_typed_error(tmp_path: Path) -> None:
    with start_server(
        f"sqlite:///{tmp_path / 'e.db'}", env={"BOTWIRE_FEED_MAX_CHANGES": "2"}
    ) as process:
        memory = Memory("ns", process.url)
        for i in range(1003):  # the sweep runs every 1000 writes
            memory.set("k", i)
        with pytest.raises(ChangesExpiredError):
            list(memory.watch(since=1, timeout=0.1))
        memory.close()
