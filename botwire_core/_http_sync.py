# GENERATED from botwire_core/_http_async.py by scripts/unasync.py: edit that file and run
# `python scripts/unasync.py`; `scripts/test` fails while this copy is stale.
"""``HTTPStore``: generated from ``botwire._http_async`` by ``scripts/unasync.py``."""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx

from botwire import _wire
from botwire._http_base import (
    _PAGE,
    FEED_PAGE,
    RetryPolicy,
    _as_list,
    _Attempts,
    _Base,
    _is_missing,
    _new_id,
)
from botwire._types import (
    AppendResult,
    ChangePage,
    KeyPage,
    Op,
    OpResult,
    Record,
    Usage,
    WriteResult,
)
from botwire._wire import WireRequest

__all__ = ["HTTPStore"]


class HTTPStore(_Base):
    """The :class:`~botwire.Store` of a BotWire server, over HTTP.

    Example:
        >>> from botwire import Memory
        >>> memory = Memory("notes", url="http://127.0.0.1:8080")  # an HTTPStore

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8080``.
        api_key: sent as a bearer token (default ``$BOTWIRE_API_KEY``).
        timeout: seconds to wait for one answer (connecting: at most 5 s).
        client: an ``httpx.Client`` to send through (e.g. over an in-process
            ASGI or WSGI transport); it is not closed by :meth:`close`.
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
        client: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._setup(url, api_key, timeout, retry)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(**self._client_options())

    def _send(
        self, request: WireRequest, tries: _Attempts | None = None, timeout: float | None = None
    ) -> httpx.Response:
        tries = tries or _Attempts()
        url = self.url + request.path
        headers = self._headers_for(request)
        extra = self._send_options(timeout)
        while True:
            try:
                response = self._client.request(
                    request.method, url, content=request.content, headers=headers, **extra
                )
            except httpx.HTTPError as exc:
                wait = self._wait_after_error(request, tries, exc)
            else:
                answered = self._wait_after_answer(request, tries, response)
                if answered is None:
                    return response
                wait = answered
            time.sleep(wait)
            tries.attempt += 1

    def _call(self, request: WireRequest) -> bytes:
        return self._check(request, self._send(request))

    def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None``."""
        return self._get(namespace, key)

    def _get(self, namespace: str, key: str) -> Record | None:
        request = _wire.get_request(namespace, key)
        response = self._send(request)
        if _is_missing(response):
            return None
        return _wire.parse_record_answer(self._check(request, response))

    def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """Return the list at ``key`` (its last ``last`` items if given)."""
        if last is None:
            return _as_list(key, self.get(namespace, key))
        request = _wire.get_request(namespace, key, last)
        response = self._send(request)
        if _is_missing(response):
            return None
        return _wire.parse_record_answer(self._check(request, response))

    def set(
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
        return self._set(namespace, key, raw, ttl, if_version, op_id)

    def _set(
        self,
        namespace: str,
        key: str,
        raw: str,
        ttl: float | None,
        if_version: int | None,
        op_id: str,
    ) -> WriteResult:
        request = _wire.put_request(namespace, key, raw, ttl, if_version, op_id)
        return _wire.parse_write_answer(self._call(request))

    def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        return self._delete(namespace, key)

    def _delete(self, namespace: str, key: str) -> bool:
        request = _wire.delete_request(namespace, key)
        tries = _Attempts()
        response = self._send(request, tries)
        if _is_missing(response):
            return tries.ambiguous  # resent after a lost answer: the first one deleted it
        self._check(request, response)
        return True

    def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """Append items to the list at ``key`` (retried safely: it carries an id)."""
        op_id = id or _new_id()
        return self._append(namespace, key, raws, op_id)

    def _append(self, namespace: str, key: str, raws: Sequence[str], op_id: str) -> AppendResult:
        request = _wire.append_request(namespace, key, raws, op_id)
        return _wire.parse_append_answer(self._call(request))

    def list_keys(
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
            return _wire.parse_keys_answer(self._call(request))
        keys: list[str] = []
        while True:
            page = _wire.parse_keys_answer(
                self._call(_wire.keys_request(namespace, prefix, _PAGE, cursor))
            )
            keys += page.keys
            cursor = page.next_cursor
            if cursor is None:
                return KeyPage(keys, None)

    def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """Run ``ops`` in one transaction on the server."""
        ops = self._with_ids(ops)
        return _wire.parse_batch_answer(ops, self._call(_wire.batch_request(namespace, ops)))

    def usage(self, namespace: str) -> Usage:
        """Return ``namespace``'s live keys, their values' bytes and its stored bytes."""
        return _wire.parse_usage_answer(self._call(_wire.usage_request(namespace)))

    def last_seq(self, namespace: str) -> int:
        """Return the seq of ``namespace``'s newest change (0: none yet)."""
        return (self.changes(namespace, since=None)).next

    def changes(
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
        request, read = self._changes_request(namespace, since, prefix, limit, wait)
        response = self._send(request, None, read)
        return _wire.parse_changes_answer(self._check(request, response))

    def close(self) -> None:
        """Close the connections (not those of a client passed in)."""
        if self._owns_client:
            self._client.close()
