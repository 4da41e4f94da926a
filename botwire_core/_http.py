"""``HTTPStore`` and ``AsyncHTTPStore``: a BotWire server behind the Store protocol.

Requests are built and answers read by :mod:`botwire._wire` (shared with the
server); retry decisions live in :class:`RetryPolicy`. The two classes below own
only the sending, so they cannot drift apart.

Transient failures are retried with capped exponential backoff and full jitter:
connection failures, 502/503/504, and 429 answers whose ``Retry-After`` is short.
Every set and append carries an idempotency id (one is generated when none is
given; a set's travels as the ``Idempotency-Key`` header), so a retried write is
never applied twice. That also makes it safe to resend a request whose answer was
lost after it was sent (a reset, a cut answer, a read timeout): such errors are
retried for every request this store sends.

A ``DELETE`` resent after a lost answer may find the key already gone (its first
attempt deleted it): ``delete`` then returns ``True``, since the key was there
when the first attempt ran as far as anyone can tell, and it is gone now either way.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import ssl
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from botwire import _wire
from botwire._backoff import backoff
from botwire._errors import NotAListError, ServerError, UnavailableError, ValidationError
from botwire._plans import FEED_PAGE
from botwire._types import (
    AppendOp,
    AppendResult,
    ChangePage,
    KeyPage,
    Op,
    OpResult,
    Record,
    SetOp,
    Usage,
    WriteResult,
)
from botwire._wire import WireRequest

__all__ = ["AsyncHTTPStore", "HTTPStore", "RetryPolicy"]

_PAGE = 1000  # keys per request when listing a whole namespace

_RETRY_STATUSES = frozenset({502, 503, 504})
# Failures before the request reached the server: always safe to resend.
_RETRY_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request may have been applied (the answer was lost): resent
# only when the request is idempotent (a read, a delete, a write with ids).
_AMBIGUOUS_ERRORS = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a request again.

    Args:
        attempts: how many times a request is sent at most (1: no retries).
        base: first backoff ceiling in seconds; it doubles on each retry...
        cap: ...up to this many seconds (full jitter: a uniform pick below it).
        max_retry_after: a 429/503 ``Retry-After`` longer than this is not waited
            for; the error is raised at once with its ``retry_after``.
    """

    attempts: int = 4
    base: float = 0.1
    cap: float = 2.0
    max_retry_after: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Pause before retry number ``attempt + 1`` (capped, fully jittered)."""
        return backoff(attempt, self.base, self.cap)

    def after_answer(self, attempt: int, status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait before retrying an answer, or ``None`` to keep it."""
        if attempt + 1 >= self.attempts:
            return None
        if status == 429 or status in _RETRY_STATUSES:
            wait = _wire.retry_after(headers)
            if wait is not None:
                if wait > self.max_retry_after:
                    return None
                return wait + random.uniform(0, self.base)
            return None if status == 429 else self.backoff(attempt)
        return None

    def after_error(self, attempt: int) -> float | None:
        """Seconds to wait before retrying a connection failure, or ``None``."""
        return None if attempt + 1 >= self.attempts else self.backoff(attempt)


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one (loading the CA bundle)
    takes longer than a hundred requests, and every ``Memory`` has its own client."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class _Base:
    """Everything but the sending: URL, headers, building, reading, error mapping."""

    kind = "http"

    def _setup(
        self, url: str, api_key: str | None, timeout: float, retry: RetryPolicy | None
    ) -> None:
        if not isinstance(url, str):
            raise ValidationError(f"url must be a string, not {type(url).__name__}")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError(
                f"a BotWire server URL looks like http://host:8080, not {url[:80]!r}"
            )
        if parts.query or parts.fragment:
            raise ValidationError("the server URL must not have a query string or fragment")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValidationError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        if api_key is None:
            api_key = os.environ.get("BOTWIRE_API_KEY") or None
        self._headers: dict[str, str] = {"accept": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def _client_options(self) -> dict[str, Any]:
        return {
            "verify": _tls_context(),
            "timeout": httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            "limits": httpx.Limits(max_connections=64, max_keepalive_connections=16),
            "headers": {"user-agent": "botwire-python"},
        }

    def _timeouts(self, read: float) -> httpx.Timeout:
        """Timeouts of a request whose answer may take ``read`` seconds (a long-poll)."""
        return httpx.Timeout(read, connect=min(self.timeout, 5.0))

    def _changes_request(
        self, namespace: str, since: int | None, prefix: str, limit: int, wait: float
    ) -> tuple[WireRequest, float]:
        wait = min(wait, _wire.MAX_WATCH_WAIT)
        return _wire.changes_request(namespace, since, prefix, wait, limit), wait + self.timeout

    def _headers_for(self, request: WireRequest) -> dict[str, str]:
        headers = dict(self._headers)
        if request.content is not None:
            headers["content-type"] = "application/json"
        if request.headers:
            headers.update(request.headers)
        return headers

    def _wait_after_error(
        self, request: WireRequest, tries: _Attempts, exc: httpx.HTTPError
    ) -> float:
        """Seconds to wait before resending after ``exc``; raises when giving up."""
        wait: float | None = None
        if isinstance(exc, _RETRY_ERRORS):
            wait = self.retry.after_error(tries.attempt)
        elif isinstance(exc, _AMBIGUOUS_ERRORS):
            tries.ambiguous = True
            wait = self.retry.after_error(tries.attempt) if request.idempotent else None
        if wait is None:
            raise self._gave_up(request, tries, exc, None) from exc
        return wait

    def _wait_after_answer(
        self, request: WireRequest, tries: _Attempts, response: httpx.Response
    ) -> float | None:
        """Seconds to wait before resending, or ``None``: this answer is final.

        Raises when a retried request still ends in a server error.
        """
        wait = self.retry.after_answer(tries.attempt, response.status_code, response.headers)
        if wait is None and tries.attempt and response.status_code >= 500:
            raise self._gave_up(request, tries, None, response)
        return wait

    def _gave_up(
        self,
        request: WireRequest,
        tries: _Attempts,
        error: BaseException | None,
        response: httpx.Response | None,
    ) -> Exception:
        attempts = tries.attempt + 1
        tried = (
            f"{request.method} {self.url}{request.path[:200]} tried {attempts} "
            f"time{'s' if attempts > 1 else ''} over {time.monotonic() - tries.started:.1f} s"
        )
        if tries.ambiguous and request.method not in ("GET", "HEAD"):
            tried += " (an answer was lost after sending: it may have been applied)"
        if response is not None:
            exc = _wire.error_from_answer(
                response.status_code, response.headers, response.content, key=request.key
            )
            if isinstance(exc, UnavailableError) or response.status_code in _RETRY_STATUSES:
                return UnavailableError(
                    f"{tried}; the server stayed unavailable, last answer "
                    f"HTTP {response.status_code}: {exc}"
                )
            if isinstance(exc, ServerError):
                return ServerError(f"{tried}; last answer HTTP {response.status_code}: {exc}")
            return exc
        if isinstance(error, httpx.TimeoutException):
            return UnavailableError(
                f"{tried}; no answer within {self.timeout:g} s (raise timeout= if the "
                f"server is slow): {error!r}"
            )
        if isinstance(error, _AMBIGUOUS_ERRORS):
            return UnavailableError(f"{tried}; the connection failed mid-request: {error!r}")
        return UnavailableError(f"{tried}; could not reach the server: {error!r}")

    def _check(self, request: WireRequest, response: httpx.Response) -> bytes:
        if response.status_code < 300:
            return response.content
        raise _wire.error_from_answer(
            response.status_code, response.headers, response.content, key=request.key
        )

    @staticmethod
    def _with_ids(ops: Sequence[Op]) -> list[Op]:
        """Give every set and append an idempotency id, so the batch can be resent."""
        out: list[Op] = []
        for op in ops:
            if isinstance(op, AppendOp) and op.id is None:
                op = AppendOp(op.key, op.raws, _new_id())
            elif isinstance(op, SetOp) and op.id is None:
                op = SetOp(op.key, op.raw, op.ttl, op.if_version, _new_id())
            out.append(op)
        return out


def _new_id() -> str:
    return uuid.uuid4().hex


class _Attempts:
    """Counts the attempts of one request and whether any may have been applied."""

    __slots__ = ("ambiguous", "attempt", "started")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.attempt = 0
        self.ambiguous = False


def _is_missing(response: httpx.Response) -> bool:
    if response.status_code != 404:
        return False
    try:
        data = response.json()
        # "route" in a 404: no such route (a wrong base URL), not a missing key.
        return bool(data.get("code") == "not_found" and "route" not in data)
    except (ValueError, AttributeError):
        return False


def _as_list(key: str, record: Record | None) -> Record | None:
    if record is not None and not record.raw.startswith("["):
        raise NotAListError.at(key, "get_list")
    return record


class HTTPStore(_Base):
    """A :class:`~botwire.Store` on a BotWire server.

    Example:
        >>> from botwire import Memory
        >>> memory = Memory("notes", url="http://127.0.0.1:8080")  # uses an HTTPStore

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8080``.
        api_key: sent as a bearer token (default ``$BOTWIRE_API_KEY``).
        timeout: seconds to wait for one answer (connecting: at most 5 s).
        client: an ``httpx.Client`` to send through (e.g. over ``httpx.ASGITransport``
            or ``httpx.WSGITransport``); it is not closed by :meth:`close`.
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
        # Only a long-poll names its own timeout (a test client may refuse the argument).
        extra: dict[str, Any] = {} if timeout is None else {"timeout": self._timeouts(timeout)}
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
        request = _wire.put_request(namespace, key, raw, ttl, if_version, id or _new_id())
        return _wire.parse_write_answer(self._call(request))

    def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
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
        request = _wire.append_request(namespace, key, raws, id or _new_id())
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
        """Return the live key count and stored bytes of ``namespace``."""
        return _wire.parse_usage_answer(self._call(_wire.usage_request(namespace)))

    def last_seq(self, namespace: str) -> int:
        """Return the seq of ``namespace``'s newest change (0: none yet)."""
        return self.changes(namespace, since=None).next

    def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage:
        """Read the change feed (a long-poll of up to ``wait`` s, capped at 60 s).

        A network fault is retried like any read; ``since`` makes the retry resume
        exactly where the last answer ended, so nothing is lost or repeated.
        """
        request, read = self._changes_request(namespace, since, prefix, limit, wait)
        return _wire.parse_changes_answer(self._check(request, self._send(request, None, read)))

    def close(self) -> None:
        """Close the connections (not those of a client passed in)."""
        if self._owns_client:
            self._client.close()


class AsyncHTTPStore(_Base):
    """The asyncio twin of :class:`HTTPStore` (an :class:`~botwire.AsyncStore`).

    Example:
        >>> from botwire import AsyncMemory
        >>> memory = AsyncMemory("notes", url="http://127.0.0.1:8080")

    Args:
        url: the server's base URL.
        api_key: sent as a bearer token (default ``$BOTWIRE_API_KEY``).
        timeout: seconds to wait for one answer.
        client: an ``httpx.AsyncClient`` to send through (e.g. over
            ``httpx.ASGITransport(app)``); it is not closed by :meth:`aclose`.
        retry: when to retry transient failures.
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

    async def _send(
        self, request: WireRequest, tries: _Attempts | None = None, timeout: float | None = None
    ) -> httpx.Response:
        tries = tries or _Attempts()
        url = self.url + request.path
        headers = self._headers_for(request)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": self._timeouts(timeout)}
        while True:
            try:
                response = await self._client.request(
                    request.method, url, content=request.content, headers=headers, **extra
                )
            except httpx.HTTPError as exc:
                wait = self._wait_after_error(request, tries, exc)
            else:
                answered = self._wait_after_answer(request, tries, response)
                if answered is None:
                    return response
                wait = answered
            await asyncio.sleep(wait)
            tries.attempt += 1

    async def _call(self, request: WireRequest) -> bytes:
        return self._check(request, await self._send(request))

    async def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None``."""
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
        request = _wire.put_request(namespace, key, raw, ttl, if_version, id or _new_id())
        return _wire.parse_write_answer(await self._call(request))

    async def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
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
        request = _wire.append_request(namespace, key, raws, id or _new_id())
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
        """Return the live key count and stored bytes of ``namespace``."""
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
        """Read the change feed (see :meth:`HTTPStore.changes`)."""
        request, read = self._changes_request(namespace, since, prefix, limit, wait)
        response = await self._send(request, None, read)
        return _wire.parse_changes_answer(self._check(request, response))

    async def aclose(self) -> None:
        """Close the connections (not those of a client passed in)."""
        if self._owns_client:
            await self._client.aclose()
