# unasync: begin async-only
"""``AsyncHTTPStore``, the source of both HTTP stores: ``HTTPStore`` is generated from it.

``scripts/unasync.py`` writes ``botwire._http_sync`` from this file; edit this one.
The shared, I/O-free part (URL, headers, retry decisions, error mapping) is
``botwire._http_base``.
"""
# unasync: end
# sync: """``HTTPStore``: generated from ``botwire._http_async`` by ``scripts/unasync.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from botwire import _wire
from botwire._coalesce import Coalescer  # unasync: async-only
from botwire._http_base import (
    _PAGE,
    FEED_PAGE,
    MAX_CONNECTIONS,
    RetryPolicy,
    _as_list,
    _Attempts,
    _Base,
    _is_missing,
    _new_id,
)
from botwire._sse import EventStreams  # unasync: async-only
from botwire._types import (
    AppendOp,
    AppendResult,
    ChangePage,
    DeleteOp,
    GetOp,
    KeyPage,
    Op,
    OpResult,
    Record,
    SetOp,
    Usage,
    WriteResult,
)
from botwire._wire import WireRequest

__all__ = ["AsyncHTTPStore"]


class AsyncHTTPStore(_Base):
    """The :class:`~botwire.AsyncStore` of a BotWire server, over HTTP.

    Example:
        >>> from botwire import AsyncMemory
        >>> memory = AsyncMemory("notes", url="http://127.0.0.1:8080")  # an AsyncHTTPStore

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8080``.
        api_key: sent as a bearer token (default ``$BOTWIRE_API_KEY``).
        timeout: seconds to wait for one answer (connecting: at most 5 s).
        client: an ``httpx.AsyncClient`` to send through (e.g. over an in-process
            ASGI or WSGI transport); it is not closed by :meth:`aclose`.
        retry: when to retry transient failures (default :class:`RetryPolicy`).

    Raises:
        ValidationError: the URL or timeout is invalid.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._setup(url, api_key, timeout, retry)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(**self._client_options())
        # unasync: begin async-only
        self._in_flight: asyncio.Semaphore | None = None
        self._coalescer: Coalescer | None = None
        self._batches = True  # False once the server turned out to have no batch route
        self._streams = EventStreams()
        # unasync: end

    async def _send(
        self, request: WireRequest, tries: _Attempts | None = None, timeout: float | None = None
    ) -> httpx.Response:
        tries = tries or _Attempts()
        url = self.url + request.path
        headers = self._headers_for(request)
        extra = self._send_options(timeout)
        while True:
            try:
                # unasync: begin async-only
                # Thousands of concurrent calls: at most MAX_CONNECTIONS requests in
                # flight, the rest wait here in order. Left to httpx's pool, every
                # waiter is re-examined on each release and they time out (PoolTimeout).
                async with self._slots():
                    response = await self._client.request(
                        request.method, url, content=request.content, headers=headers, **extra
                    )
                # unasync: end
                # sync: response = self._client.request(
                # sync:     request.method, url, content=request.content, headers=headers, **extra
                # sync: )
            except httpx.HTTPError as exc:
                wait = self._wait_after_error(request, tries, exc)
            else:
                answered = self._wait_after_answer(request, tries, response)
                if answered is None:
                    return response
                wait = answered
            await asyncio.sleep(wait)
            tries.attempt += 1

    # unasync: begin async-only
    def _slots(self) -> asyncio.Semaphore:
        if self._in_flight is None:  # made on first use, inside the running loop
            self._in_flight = asyncio.Semaphore(MAX_CONNECTIONS)
        return self._in_flight

    async def _coalesced(
        self, namespace: str, op: Op, single: Callable[[], Awaitable[Any]], alone: bool = False
    ) -> Any:
        """Run a single-key op; merged into a batch with others if it has to wait.

        ``single`` sends it alone. The rules are in ``botwire._coalesce``.
        """
        loop = asyncio.get_running_loop()
        if self._coalescer is None or self._coalescer.loop is not loop:
            self._coalescer = Coalescer(self._coalesced_batch, MAX_CONNECTIONS)
        alone = alone or not self._batches
        return await self._coalescer.run(namespace, op, single, alone=alone)

    async def _coalesced_batch(self, namespace: str, ops: list[Op]) -> list[OpResult] | None:
        """Send merged calls as one batch; ``None``: refused for one op, nothing applied."""
        request = _wire.batch_request(namespace, ops)  # every set and append has an id
        tries = _Attempts()
        response = await self._send(request, tries)
        if response.status_code >= 500:
            self._check(request, response)  # raises: the same error for every caller
        if response.status_code >= 300:
            if response.status_code in (404, 405) and not _is_missing(response):
                self._batches = False  # a server of the original API: no batches
            return None
        results = _wire.parse_batch_answer(ops, response.content)
        if tries.ambiguous:  # resent after a lost answer: the first one deleted it
            results = [
                True if isinstance(op, DeleteOp) else result
                for op, result in zip(ops, results, strict=True)
            ]
        return results

    # unasync: end
    async def _call(self, request: WireRequest) -> bytes:
        return self._check(request, await self._send(request))

    async def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None``."""
        # unasync: begin async-only
        return await self._coalesced(namespace, GetOp(key), lambda: self._get(namespace, key))  # type: ignore[no-any-return]
        # unasync: end
        # sync: return self._get(namespace, key)

    async def _get(self, namespace: str, key: str) -> Record | None:
        request = _wire.get_request(namespace, key)
        response = await self._send(request)
        if _is_missing(response):
            return None
        return _wire.parse_record_answer(self._check(request, response))

    async def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """Return the list at ``key`` (its last ``last`` items if given)."""
        if last is None:
            return _as_list(key, await self.get(namespace, key))
        request = _wire.get_request(namespace, key, last)
        response = await self._send(request)
        if _is_missing(response):
            return None
        return _wire.parse_record_answer(self._check(request, response))

    async def set(
        self,
        namespace: str,
        key: str,
        raw: str,
        *,
        ttl: float | None = None,
        if_version: int | None = None,
        id: str | None = None,
    ) -> WriteResult:
        """Store ``raw`` under ``key`` (retried safely: it carries an idempotency id)."""
        op_id = id or _new_id()
        # unasync: begin async-only
        # A conditional write is never merged: in an all-or-nothing batch its
        # ConflictError would fail the others. It keeps its place in the queue.
        return await self._coalesced(  # type: ignore[no-any-return]
            namespace,
            SetOp(key, raw, ttl, if_version, op_id),
            lambda: self._set(namespace, key, raw, ttl, if_version, op_id),
            alone=if_version is not None,
        )
        # unasync: end
        # sync: return self._set(namespace, key, raw, ttl, if_version, op_id)

    async def _set(
        self,
        namespace: str,
        key: str,
        raw: str,
        ttl: float | None,
        if_version: int | None,
        op_id: str,
    ) -> WriteResult:
        request = _wire.put_request(namespace, key, raw, ttl, if_version, op_id)
        return _wire.parse_write_answer(await self._call(request))

    async def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        # unasync: begin async-only
        return await self._coalesced(  # type: ignore[no-any-return]
            namespace, DeleteOp(key), lambda: self._delete(namespace, key)
        )
        # unasync: end
        # sync: return self._delete(namespace, key)

    async def _delete(self, namespace: str, key: str) -> bool:
        request = _wire.delete_request(namespace, key)
        tries = _Attempts()
        response = await self._send(request, tries)
        if _is_missing(response):
            return tries.ambiguous  # resent after a lost answer: the first one deleted it
        self._check(request, response)
        return True

    async def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """Append items to the list at ``key`` (retried safely: it carries an id)."""
        op_id = id or _new_id()
        # unasync: begin async-only
        items = tuple(raws)
        return await self._coalesced(  # type: ignore[no-any-return]
            namespace,
            AppendOp(key, items, op_id),
            lambda: self._append(namespace, key, items, op_id),
        )
        # unasync: end
        # sync: return self._append(namespace, key, raws, op_id)

    async def _append(
        self, namespace: str, key: str, raws: Sequence[str], op_id: str
    ) -> AppendResult:
        request = _wire.append_request(namespace, key, raws, op_id)
        return _wire.parse_append_answer(await self._call(request))

    async def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """Return keys in order; with no ``limit``, every key (fetched page by page)."""
        if limit is not None:
            request = _wire.keys_request(namespace, prefix, limit, cursor)
            return _wire.parse_keys_answer(await self._call(request))
        keys: list[str] = []
        while True:
            page = _wire.parse_keys_answer(
                await self._call(_wire.keys_request(namespace, prefix, _PAGE, cursor))
            )
            keys += page.keys
            cursor = page.next_cursor
            if cursor is None:
                return KeyPage(keys, None)

    async def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """Run ``ops`` in one transaction on the server."""
        ops = self._with_ids(ops)
        return _wire.parse_batch_answer(ops, await self._call(_wire.batch_request(namespace, ops)))

    async def usage(self, namespace: str) -> Usage:
        """Return ``namespace``'s live keys, their values' bytes and its stored bytes."""
        return _wire.parse_usage_answer(await self._call(_wire.usage_request(namespace)))

    async def last_seq(self, namespace: str) -> int:
        """Return the seq of ``namespace``'s newest change (0: none yet)."""
        return (await self.changes(namespace, since=None)).next

    async def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage:
        """Read the change feed, waiting up to ``wait`` s for a first change.

        The blocking store long-polls (capped at 60 s); the async one, on a client of
        its own, waits on an event stream kept open between calls (``botwire._sse``),
        and long-polls when the server will not stream.
        A network fault is retried like any read; ``since`` makes the retry resume
        exactly where the last answer ended, so nothing is lost or repeated.
        """
        # unasync: begin async-only
        # On a client of its own (a test's in-process transport would buffer a stream
        # whole), wait on an event stream kept open between calls: one small event per
        # change instead of a request and an answer (see botwire._sse).
        if wait > 0 and since is not None and self._owns_client and not self._streams.refused:
            page = await self._streams.changes(self, namespace, since, prefix, limit, wait)
            if page is not None:
                return page
        # unasync: end
        request, read = self._changes_request(namespace, since, prefix, limit, wait)
        response = await self._send(request, None, read)
        return _wire.parse_changes_answer(self._check(request, response))

    async def aclose(self) -> None:
        """Close the connections (not those of a client passed in)."""
        await self._streams.aclose()  # unasync: async-only
        if self._owns_client:
            await self._client.aclose()
