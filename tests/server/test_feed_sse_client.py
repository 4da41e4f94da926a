"""``AsyncHTTPStore`` waits for changes on the feed's event stream, kept open between
calls (``botwire._sse``): one request for many changes, resumed without loss or
repeats after the network drops it, and closed with the store. Each test runs with
both readers: its own h11 connection (plain ``http://``) and httpx (TLS, proxies)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path

import httpx
import pytest

from botwire import AsyncHTTPStore, AsyncMemory, ChangesExpiredError, UnavailableError, _sse
from tests.servers import start_server

PLAIN = _sse._plain  # the real test, whichever reader a test's fixture picked


@pytest.fixture(autouse=True, params=["plain", "httpx"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which reader the event streams use: a connection of their own, or httpx's."""
    if request.param == "httpx":
        monkeypatch.setattr(_sse, "_plain", lambda url: False)
    return str(request.param)


def _feed_requests(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.findall(
        r'^botwire_http_requests_total\{[^}]*route="[^"]*changes"[^}]*\} (\S+)$', text, re.M
    )
    return sum(float(n) for n in found)


async def _write(url: str, namespace: str, count: int, gap: float) -> None:
    writer = AsyncMemory(namespace, url)
    for i in range(count):
        await asyncio.sleep(gap)
        await writer.set(f"k{i}", i)
    await writer.aclose()


async def test_an_async_watch_reads_many_changes_from_one_event_stream(tmp_path: Path) -> None:
    with start_server(f"sqlite:///{tmp_path / 's.db'}") as server:
        memory = AsyncMemory("ns", server.url)
        since = await memory.last_seq()
        before = await asyncio.to_thread(_feed_requests, server.url)
        writing = asyncio.ensure_future(_write(server.url, "ns", 20, 0.02))
        seen = []
        async for change in memory.watch(since=since, timeout=10):
            seen.append(change.value)
            if len(seen) == 20:
                break
        await writing
        await memory.aclose()
        for _ in range(20):  # an event stream is counted once the server saw it end
            requests = await asyncio.to_thread(_feed_requests, server.url) - before
            if requests:
                break
            await asyncio.sleep(0.1)
    assert seen == list(range(20))
    assert 1 <= requests <= 2, f"{requests} requests to the feed for 20 changes"  # long-polls: 20


class _Proxy:
    """A TCP proxy to the server whose connections can all be cut at once."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def aclose(self) -> None:
        self.cut()
        self.server.close()


async def test_a_watch_resumes_after_the_network_cuts_its_stream(tmp_path: Path) -> None:
    with start_server(f"sqlite:///{tmp_path / 's.db'}") as server:
        proxy = _Proxy(int(server.url.rsplit(":", 1)[1]))
        memory = AsyncMemory("ns", await proxy.start())
        since = await memory.last_seq()
        writing = asyncio.ensure_future(_write(server.url, "ns", 30, 0.02))
        seen = []
        async for change in memory.watch(since=since, timeout=10):
            seen.append(change.value)
            if len(seen) in (10, 20):
                proxy.cut()  # mid-stream, while changes keep coming
            if len(seen) == 30:
                break
        await writing
        await memory.aclose()
        await proxy.aclose()
    assert seen == list(range(30))


async def test_closing_the_store_frees_its_watch_on_the_server(tmp_path: Path) -> None:
    with start_server(f"sqlite:///{tmp_path / 's.db'}", env={"BOTWIRE_MAX_WATCHES": "1"}) as server:
        memory = AsyncMemory("ns", server.url)
        since = await memory.last_seq()
        writing = asyncio.ensure_future(_write(server.url, "ns", 1, 0.2))
        async for change in memory.watch(since=since, timeout=10):
            assert change.key == "k0"
            break
        await writing
        await memory.aclose()
        deadline, status = time.monotonic() + 5, 0
        async with httpx.AsyncClient(base_url=server.url) as client:
            while time.monotonic() < deadline:
                answer = await client.get("/memory/ns/changes", params={"since": 0, "wait": 0.1})
                status = answer.status_code
                if status == 200:
                    break
                await asyncio.sleep(0.1)
    assert status == 200  # the stream's slot of max_watches=1 was given back


async def test_an_expired_since_on_the_event_stream_raises_the_typed_error(tmp_path: Path) -> None:
    with start_server(
        f"sqlite:///{tmp_path / 'e.db'}", env={"BOTWIRE_FEED_MAX_CHANGES": "2"}
    ) as server:
        memory = AsyncMemory("ns", server.url)
        await memory.set_many({f"k{i}": i for i in range(3)})
        for i in range(1001):  # the sweep runs every 1000 writes
            await memory.set("k", i)
        with pytest.raises(ChangesExpiredError):
            async for _ in memory.watch(since=1, timeout=5):
                pass
        await memory.aclose()


def test_plain_http_without_a_proxy_skips_httpx(
    reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reader == "httpx":
        pytest.skip("the test of the choice itself runs once")
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert PLAIN("http://127.0.0.1:8080")
    assert not PLAIN("https://memory.example")  # TLS: httpx
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert not PLAIN("http://memory.internal:8080")  # through the proxy: httpx
    monkeypatch.setenv("NO_PROXY", "memory.internal")
    assert PLAIN("http://memory.internal:8080")


async def test_a_silent_stream_is_given_up(reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer that sends the head and then nothing (not even the 15 s comments) is
    dead after ``_QUIET`` s: the waiting call raises ``UnavailableError``."""
    monkeypatch.setattr(_sse, "_QUIET", 0.5)

    done = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader_.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        await done.wait()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = AsyncHTTPStore(f"http://127.0.0.1:{port}")
    started = time.monotonic()
    try:
        with pytest.raises(UnavailableError):
            await store.changes("ns", since=0, wait=10)
    finally:
        await store.aclose()
        done.set()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
    assert time.monotonic() - started < 5
