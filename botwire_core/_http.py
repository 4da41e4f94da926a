"""``HTTPStore`` and ``AsyncHTTPStore``: a BotWire server behind the Store protocol.

Requests are built and answers read by :mod:`botwire._wire` (shared with the
server); retry decisions live in :class:`RetryPolicy` and everything else that is
free of I/O in ``botwire._http_base``. ``AsyncHTTPStore`` (``botwire._http_async``)
is written once and ``HTTPStore`` (``botwire._http_sync``) generated from it by
``scripts/unasync.py``: they own only the sending, and cannot drift apart.

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

from botwire._http_async import AsyncHTTPStore
from botwire._http_base import RetryPolicy
from botwire._http_sync import HTTPStore

__all__ = ["AsyncHTTPStore", "HTTPStore", "RetryPolicy"]
