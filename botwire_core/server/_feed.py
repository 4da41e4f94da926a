"""The change feed over HTTP: ``GET /memory/{ns}/changes``, long-poll or Server-Sent Events.

* **Long-poll** (the default): ``?since=<seq>&prefix=&wait=<s>`` answers as soon as
  there is a change after ``since`` (or with an empty ``changes`` list once ``wait``
  runs out): ``{"namespace", "changes": [...], "next"}``; pass ``next`` as the next
  ``since``. Without ``since`` it answers at once, ``next`` being the newest seq:
  the position to start from.
* **Server-Sent Events** with ``Accept: text/event-stream``: one event per change,
  ``id:`` its seq, so a browser ``EventSource`` resumes with ``Last-Event-ID``; a
  comment line every :data:`HEARTBEAT` seconds keeps proxies from closing it.

A waiting watch holds no thread and no store connection: it awaits the store's
wake-up (``wait_change_async``: SQLite's ``data_version`` poller, one thread for
the whole server) or, on an asynchronous store, the store's own wait (PostgreSQL:
``LISTEN``). The watches of a namespace share one reader: after a wake-up one
store read (off the loop) refreshes the namespace's buffer of recent changes and
every watch takes its page from it (``botwire._feedhub``). Open watches are bounded by
``Settings.max_watches``: past it, 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from botwire import _wire
from botwire._errors import BotWireError, QuotaExceededError, ValidationError
from botwire._feedhub import adrive, apoll, wait_plan
from botwire._plans import FEED_PAGE
from botwire._types import ChangePage
from botwire.server import _requests

if TYPE_CHECKING:
    from starlette.types import Receive, Send

    from botwire.server._app import Answer, Call, Server

__all__ = ["HEARTBEAT", "Stream", "read_changes", "watch_changes"]

HEARTBEAT = 15.0
"""Seconds between keep-alive comments on an idle event stream."""
WATCH_RETRY_AFTER = 1
"""``Retry-After`` seconds of a watch refused because too many are open."""


class _Watches:
    """How many watches are open, bounded by ``Settings.max_watches``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def enter(self) -> None:
        if self.open >= self.limit:
            raise QuotaExceededError(
                f"{self.limit} change-feed watches are open on this server (its "
                "max_watches); retry shortly",
                retry_after=WATCH_RETRY_AFTER,
            )
        self.open += 1

    def leave(self) -> None:
        self.open -= 1


def _watches(server: Server) -> _Watches:
    watches: _Watches | None = getattr(server, "_feed_watches", None)
    if watches is None:
        watches = _Watches(server.settings.max_watches)
        server._feed_watches = watches  # type: ignore[attr-defined]
    return watches


async def read_changes(
    server: Server, namespace: str, since: int | None, prefix: str, wait: float, limit: int
) -> ChangePage:
    """Changes after ``since``; waits up to ``wait`` s for a first one, off the loop.

    Waiting watches of a namespace share one reader (``botwire._feedhub``): after a
    wake-up one of them reads the store, and all take their pages from its buffer.
    """
    store: Any = server.store

    async def read(after: int | None, prefix: str, limit: int) -> ChangePage:
        page: ChangePage = await server.run(
            "changes", namespace, since=after, prefix=prefix, limit=limit
        )
        return page

    if wait <= 0:
        return await read(since, prefix, limit)
    if server.runner().is_async:  # the store waits by itself (LISTEN), with its own hub
        page: ChangePage = await server.run(
            "changes", namespace, since=since, prefix=prefix, limit=limit, wait=wait
        )
        return page
    token = getattr(store, "change_token", None)
    waiter = getattr(store, "wait_change_async", None)
    if token is None or waiter is None:  # no wake-up of its own: read again now and then
        return await apoll(read, since, prefix, limit, wait)
    hubs = getattr(store, "feed_hub", None)
    hub = hubs(namespace) if hubs is not None else None
    return await adrive(wait_plan(hub, since, prefix, limit, wait), hub, token, read, waiter)


def _wait_param(query: dict[str, str], since: int | None) -> float:
    text = query.get("wait")
    if text is None:
        return float(_wire.DEFAULT_WATCH_WAIT) if since is not None else 0.0
    try:
        wait = float(text)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= _wire.MAX_WATCH_WAIT:
        raise ValidationError(
            f"?wait= must be seconds from 0 to {_wire.MAX_WATCH_WAIT}, not {text[:20]!r}",
            code="invalid_request",
        )
    return wait


def _seq(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise ValidationError(
            f"{where} must be a seq (a whole number >= 0), not {text[:20]!r}",
            code="invalid_request",
        )
    return int(text)


async def watch_changes(call: Call) -> Answer | Stream:
    """The namespace's change feed, in commit order: a long-poll (``?since=&wait=``)
    answered as soon as there is a change, or Server-Sent Events with
    ``Accept: text/event-stream`` (``id:`` = seq; ``Last-Event-ID`` resumes).
    Without ``since``, a long-poll answers at once with ``next`` = the newest seq.
    A ``since`` older than the retention answers 410 ``changes_expired``."""
    from botwire.server._app import Answer

    server, namespace = call.server, call.namespace
    query = _requests.query_of(call.scope)
    since = _seq(query.get("since"), "?since=")
    prefix = query.get("prefix", "")
    limit = _requests.int_param(query, "limit", 1, FEED_PAGE) or FEED_PAGE
    resume = _seq(call.header(b"last-event-id"), "Last-Event-ID")
    if "text/event-stream" in (call.header(b"accept") or ""):
        since = resume if resume is not None else since
        if since is None:
            since = await server.run("last_seq", namespace)
        # Refuse a resume past the retention with a plain 410, before the stream starts.
        first = await read_changes(server, namespace, since, prefix, 0.0, limit)
        watches = _watches(server)
        watches.enter()
        return Stream(server, namespace, prefix, limit, first, call.receive, watches)
    wait = _wait_param(query, since)
    if wait <= 0:
        page = await read_changes(server, namespace, since, prefix, 0.0, limit)
        return Answer(200, _wire.changes_answer(namespace, page))
    watches = _watches(server)
    watches.enter()
    try:
        page = await read_changes(server, namespace, since, prefix, wait, limit)
    finally:
        watches.leave()
    return Answer(200, _wire.changes_answer(namespace, page))


class Stream:
    """An event stream the pipeline hands the ASGI ``send`` to (see ``Server._http``)."""

    status = 200

    def __init__(
        self,
        server: Server,
        namespace: str,
        prefix: str,
        limit: int,
        first: ChangePage,
        receive: Receive,
        watches: _Watches,
    ) -> None:
        self.server, self.namespace, self.prefix, self.limit = server, namespace, prefix, limit
        self.first, self.receive, self.watches = first, receive, watches
        self.sent = 0

    async def send_to(self, send: Send) -> None:
        """Stream events until the client goes away (or the feed expires under it)."""
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-cache"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            # The client going away cancels the events' task: no race set up per event
            # (with a hundred streams, each one's cost is paid in turn on the loop).
            events = asyncio.ensure_future(self._events(send))
            gone = asyncio.ensure_future(self._disconnected())
            gone.add_done_callback(lambda _: events.cancel())
            try:
                await events
            except asyncio.CancelledError:
                if not gone.done() or gone.cancelled():
                    raise  # cancelled from outside (the server stopping)
                return
            finally:
                gone.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the connection went away mid-send
            pass
        finally:
            self.watches.leave()

    async def _disconnected(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass

    async def _events(self, send: Send) -> None:
        page = self.first
        body = b": botwire change feed\n\n"
        while True:
            body += b"".join(_wire.change_event(c) for c in page.changes)
            await send({"type": "http.response.body", "body": body, "more_body": True})
            self.sent += len(body)
            try:
                page = await read_changes(
                    self.server, self.namespace, page.next, self.prefix, HEARTBEAT, self.limit
                )
            except BotWireError as exc:  # e.g. changes_expired: say so, then end
                error = json.dumps({"code": exc.code, "detail": str(exc)})
                body = f"event: error\ndata: {error}\n\n".encode()
                await send({"type": "http.response.body", "body": body, "more_body": True})
                return
            body = b"" if page.changes else b": keep-alive\n\n"
