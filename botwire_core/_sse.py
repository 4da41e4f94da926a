"""Waiting for changes over HTTP on a Server-Sent Events stream (``AsyncHTTPStore``).

A long-poll costs a whole request and answer per change, on the client and on the
server. ``AsyncHTTPStore.changes(wait=...)`` instead reads the change feed's event
stream (``Accept: text/event-stream``) and keeps it open between calls: a watcher
that comes back with ``since`` = the ``next`` it was given continues on the same
stream, so each further change costs one small event. The streams of a store are
kept by position (namespace, prefix, seq): a call that starts elsewhere, or finds
no idle stream there, opens one at its ``since``. A stream nobody read for
:data:`LINGER` seconds is closed (it holds one of the server's ``max_watches``).

Nothing is lost or repeated: a stream starts after ``since`` and hands out its
events in order; a stream that breaks is dropped, and the watcher's next call
opens a new one at its position.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import h11
import httpx

from botwire import _wire
from botwire._errors import BotWireError, UnavailableError
from botwire._notify import wake
from botwire._types import ChangePage, ChangeRecord
from botwire._wire import WireRequest

if TYPE_CHECKING:
    from botwire._http_async import AsyncHTTPStore

__all__ = ["LINGER", "MAX_STREAMS", "MIN_WAIT", "EventStreams"]

LINGER = 5.0
"""Seconds an event stream stays open with nobody reading it."""
MAX_STREAMS = 32
"""Event streams a store keeps open at once; more waiting calls long-poll."""
MIN_WAIT = 1.0
"""Seconds a call must be willing to wait to be answered from a stream."""
_BACKLOG = 10_000  # changes a stream buffers for a slow reader before it gives up
_QUIET = 45.0  # seconds without a byte (the server sends a comment every 15 s): dead


def _plain(url: str) -> bool:
    """Whether ``url`` is plain HTTP that no proxy from the environment takes (httpx's
    ``trust_env``): then a stream may skip httpx."""
    if not url.startswith("http://"):
        return False
    proxies = urllib.request.getproxies()
    if not (proxies.get("http") or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass(httpx.URL(url).host))


async def _receive(reader: asyncio.StreamReader, conn: h11.Connection) -> None:
    """Feed h11 the next bytes from ``reader``; ``_QUIET`` s without one: the peer is dead.

    A timer cancels the reading task, re-armed on each read (no task per read: with a
    hundred streams in one process, each one's cost is paid in turn on the loop).
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    fired: list[bool] = []

    def quiet() -> None:
        fired.append(True)
        task.cancel()

    timer = loop.call_later(_QUIET, quiet)
    try:
        data = await reader.read(1 << 16)
    except asyncio.CancelledError:
        if not fired:
            raise
        raise UnavailableError(
            f"the change feed's event stream was quiet for {_QUIET:g} s"
        ) from None
    finally:
        timer.cancel()
    conn.receive_data(data)


async def _next_event(reader: asyncio.StreamReader, conn: h11.Connection) -> object:
    """The connection's next h11 event, reading as needed."""
    while (event := conn.next_event()) is h11.NEED_DATA:
        await _receive(reader, conn)
    return event


async def _body_chunks(reader: asyncio.StreamReader, conn: h11.Connection) -> AsyncIterator[bytes]:
    """An answer's body as it arrives, until it ends."""
    while isinstance(event := await _next_event(reader, conn), h11.Data):
        yield bytes(event.data)


class _Refused(Exception):
    """The server would not stream (too many watches, or no event streams): long-poll."""

    def __init__(self, always: bool) -> None:
        super().__init__()
        self.always = always


class _Stream:
    """One event stream of a namespace's changes under a prefix, after a position."""

    def __init__(self, store: AsyncHTTPStore, namespace: str, prefix: str, since: int) -> None:
        self.key = (namespace, prefix, since)
        self.position = since
        self.changes: deque[ChangeRecord] = deque()
        self.failure: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None  # the taker waiting for an event
        self.started = asyncio.get_running_loop().create_future()
        self.timer: asyncio.TimerHandle | None = None
        self.task = asyncio.ensure_future(self._read(store, namespace, prefix, since))

    @property
    def alive(self) -> bool:
        return self.failure is None and not self.task.done()

    async def _read(self, store: AsyncHTTPStore, namespace: str, prefix: str, since: int) -> None:
        request = _wire.changes_request(namespace, since, prefix)
        headers = store._headers_for(request)
        headers["accept"] = "text/event-stream"
        try:
            if _plain(store.url):
                await self._read_plain(store, request, headers)
            else:
                await self._read_httpx(store, request, headers)
            raise UnavailableError("the server ended the change feed's event stream")
        except asyncio.CancelledError:
            self._fail(UnavailableError("the change feed's event stream was closed"))
            raise
        except _Refused as exc:
            self._fail(exc)
        except (httpx.HTTPError, OSError, h11.ProtocolError) as exc:
            self._fail(UnavailableError(f"the change feed's event stream broke: {exc!r}"))
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            self._fail(exc)

    def _started(self, status: int, kind: str) -> bool:
        """Whether an answer's head starts the stream (else its body is an error to
        read); a 429 or an answer that is not an event stream is a refusal."""
        if status == 429:
            raise _Refused(always=False)
        if status < 300 and not kind.startswith("text/event-stream"):
            raise _Refused(always=True)
        if status >= 300:
            return False
        self.started.set_result(None)
        return True

    async def _read_httpx(
        self, store: AsyncHTTPStore, request: WireRequest, headers: dict[str, str]
    ) -> None:
        timeout = httpx.Timeout(store.timeout, read=_QUIET, connect=min(store.timeout, 5.0))
        async with store._client.stream(
            "GET", store.url + request.path, headers=headers, timeout=timeout
        ) as response:
            if not self._started(response.status_code, response.headers.get("content-type", "")):
                await response.aread()
                store._check(request, response)
            await self._events(response.aiter_raw())

    async def _read_plain(
        self, store: AsyncHTTPStore, request: WireRequest, headers: dict[str, str]
    ) -> None:
        """The stream on a plain ``http://`` connection of its own, parsed by h11.

        An httpx stream costs its process ~0.1 ms of CPU per event (a cancel scope
        and several generator layers per read), paid in turn by every stream of a
        process with many watchers; this costs a fraction of it. TLS, or a proxy
        from the environment: httpx (:meth:`_read_httpx`).
        """
        url = httpx.URL(store.url + request.path)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(url.host, url.port or 80), min(store.timeout, 5.0)
        )
        try:
            conn = h11.Connection(h11.CLIENT)
            fields = [("host", url.netloc.decode("ascii")), *headers.items()]
            head = h11.Request(method="GET", target=url.raw_path, headers=fields)
            writer.write(conn.send(head) + conn.send(h11.EndOfMessage()))
            answer = await asyncio.wait_for(_next_event(reader, conn), store.timeout)
            if not isinstance(answer, h11.Response):
                raise UnavailableError("the server closed the change feed's event stream")
            kind = dict(answer.headers).get(b"content-type", b"").decode("latin-1")
            if not self._started(answer.status_code, kind):
                body = b"".join([chunk async for chunk in _body_chunks(reader, conn)])
                error = httpx.Response(
                    answer.status_code,
                    headers=list(answer.headers),
                    content=body,
                    request=httpx.Request("GET", url),
                )
                store._check(request, error)
            await self._events(_body_chunks(reader, conn))
        finally:
            writer.close()

    async def _events(self, chunks: AsyncIterator[bytes]) -> None:
        # Raw bytes split on blank lines: a line iterator costs several layers of
        # generators per chunk, paid by each of a hundred watchers on every change.
        pending = b""
        async for chunk in chunks:
            pending += chunk.replace(b"\r\n", b"\n") if b"\r" in chunk else chunk
            end = pending.find(b"\n\n")
            while end >= 0:
                self._event(pending[:end].decode())
                pending = pending[end + 2 :]
                end = pending.find(b"\n\n")

    def _event(self, block: str) -> None:
        event, data = "", ""
        for line in block.split("\n"):
            if line.startswith("data:"):
                data = line[5:].lstrip(" ")
            elif line.startswith("event:"):
                event = line[6:].strip()
        if not data:  # a comment (the stream's keep-alive)
            return
        if event == "error":  # e.g. changes_expired, mid-stream
            raise _wire.error_from_answer(410, {"content-type": "application/json"}, data.encode())
        self.changes.append(_wire.parse_change_event(data))
        self._wake()
        if len(self.changes) > _BACKLOG:
            raise UnavailableError("a change stream's reader fell too far behind")

    def _fail(self, exc: BaseException) -> None:
        self.failure = exc
        if not self.started.done():
            self.started.set_exception(exc)
            self.started.exception()  # retrieved: the caller may have gone
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None:
            wake(self.waiter)

    async def take(self, limit: int, wait: float) -> ChangePage:
        """The changes after :attr:`position` (up to ``limit``), waiting ``wait`` s for one."""
        await asyncio.shield(self.started)  # the answer's head: within the store's timeout
        deadline = time.monotonic() + wait
        loop = asyncio.get_running_loop()
        while not self.changes and self.failure is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ChangePage([], self.position)
            # A future and a timer, not asyncio.wait_for (a task of its own per wait):
            # a hundred streams' watchers wake at once, each one's cost paid in turn.
            self.waiter = loop.create_future()
            timer = loop.call_later(remaining, wake, self.waiter)
            try:
                await self.waiter
            finally:
                timer.cancel()
                self.waiter = None
        if not self.changes:
            assert self.failure is not None
            raise self.failure
        taken = [self.changes.popleft() for _ in range(min(limit, len(self.changes)))]
        self.position = taken[-1].seq
        return ChangePage(taken, self.position)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.task.cancel()


class EventStreams:
    """The open event streams of one ``AsyncHTTPStore``, idle ones by position."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Stream]] = {}
        self._open: set[_Stream] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refused = False  # the server streams no events: long-poll from now on

    async def changes(
        self,
        store: AsyncHTTPStore,
        namespace: str,
        since: int,
        prefix: str,
        limit: int,
        wait: float,
    ) -> ChangePage | None:
        """Changes after ``since`` from a stream; None: long-poll instead."""
        if wait < MIN_WAIT:  # a last short wait: not worth opening a stream for
            return None
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # the store moved to another loop: its streams stay
            self._forget()
            self._loop = loop
        stream = self._claim((namespace, prefix, since))
        if stream is None:
            if len(self._open) >= MAX_STREAMS:
                return None
            stream = _Stream(store, namespace, prefix, since)
            self._open.add(stream)
        try:
            page = await stream.take(limit, wait)
        except _Refused as refused:
            self._drop(stream)
            self.refused = refused.always
            return None
        except BaseException:
            self._drop(stream)
            raise
        if not stream.alive and not stream.changes:
            self._drop(stream)  # broken after its last events: the next call reopens
        else:
            self._park(stream)
        return page

    def _claim(self, key: tuple[str, str, int]) -> _Stream | None:
        idle = self._idle.get(key)
        while idle:
            stream = idle.pop()
            if not idle:
                del self._idle[key]
            if stream.timer is not None:
                stream.timer.cancel()
                stream.timer = None
            if stream.alive or stream.changes:
                return stream
            self._drop(stream)
            idle = self._idle.get(key)
        return None

    def _park(self, stream: _Stream) -> None:
        stream.key = (stream.key[0], stream.key[1], stream.position)
        self._idle.setdefault(stream.key, []).append(stream)
        loop = asyncio.get_running_loop()
        stream.timer = loop.call_later(LINGER, self._expire, stream)

    def _expire(self, stream: _Stream) -> None:
        idle = self._idle.get(stream.key)
        if idle is not None and stream in idle:
            idle.remove(stream)
            if not idle:
                del self._idle[stream.key]
        self._drop(stream)

    def _drop(self, stream: _Stream) -> None:
        self._open.discard(stream)
        stream.close()

    def _forget(self) -> None:
        """Close the streams of another loop, from its own thread (if it still runs)."""
        streams, self._open, self._idle = list(self._open), set(), {}
        for stream in streams:
            try:
                stream.task.get_loop().call_soon_threadsafe(stream.close)
            except RuntimeError:  # that loop is closed, and its tasks with it
                pass

    async def aclose(self) -> None:
        """Close every stream."""
        if self._loop is not asyncio.get_running_loop():
            self._forget()
            return
        streams, self._open, self._idle = list(self._open), set(), {}
        for stream in streams:
            stream.close()
        for stream in streams:
            try:
                await stream.task
            except (asyncio.CancelledError, BotWireError, Exception):  # noqa: BLE001
                pass
