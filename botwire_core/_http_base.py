"""What ``HTTPStore`` and ``AsyncHTTPStore`` share: everything but the sending.

Requests are built and answers read by :mod:`botwire._wire` (shared with the
server); retry decisions live in :class:`RetryPolicy`; URL, headers and error
mapping in :class:`_Base`. ``AsyncHTTPStore`` (``botwire._http_async``) is written
once and ``HTTPStore`` (``botwire._http_sync``) is generated from it by
``scripts/unasync.py``, so they cannot drift apart.

The retry rules (what is resent, and why a resent write is never applied twice)
are described in ``botwire._http``.
"""

from __future__ import annotations

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
    Op,
    Record,
    SetOp,
)
from botwire._wire import WireRequest

__all__ = ["FEED_PAGE", "RetryPolicy"]

_PAGE = 1000  # keys per request when listing a whole namespace

MAX_CONNECTIONS = 64
"""Connections a store's own client opens at most; also how many requests an
``AsyncHTTPStore`` has in flight at once (the others wait their turn in order)."""

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
            "limits": httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=16),
            "headers": {"user-agent": "botwire-python"},
        }

    def _timeouts(self, read: float) -> httpx.Timeout:
        """Timeouts of a request whose answer may take ``read`` seconds (a long-poll)."""
        return httpx.Timeout(read, connect=min(self.timeout, 5.0))

    def _send_options(self, timeout: float | None) -> dict[str, Any]:
        """Extra arguments of one request: only a long-poll names its own timeout (a
        test client may refuse the argument)."""
        return {} if timeout is None else {"timeout": self._timeouts(timeout)}

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
                response.status_code,
                response.headers,
                response.content,
                key=request.key,
                where=self.url,
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
            response.status_code,
            response.headers,
            response.content,
            key=request.key,
            where=self.url,
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
