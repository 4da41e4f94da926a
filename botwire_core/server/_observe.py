"""Prometheus metrics and the structured access log line.

The pipeline (``_app``) calls :meth:`Metrics.observe_request` and
:func:`log_request` once per request, labelled by the route template of its
match; metric children are cached per label set.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Scope

__all__ = ["ACCESS_LOGGER", "AccessLogHandler", "Metrics", "log_request"]

T = TypeVar("T")

ACCESS_LOGGER = "botwire.access"

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The server's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "botwire_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "botwire_http_request_duration_seconds",
            "Time from receiving a request to sending the end of its answer.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.store_latency = Histogram(
            "botwire_store_operation_duration_seconds",
            "Time a store operation took, by operation.",
            ["op"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.refusals = Counter(
            "botwire_quota_refusals",
            "Writes refused by a quota.",
            registry=self.registry,
        )
        self._requests: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}
        self._store: dict[str, Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (method, route, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(method, route, str(status))
        counter.inc()
        pair = (method, route)
        histogram = self._latency.get(pair)
        if histogram is None:
            histogram = self._latency[pair] = self.latency.labels(method, route)
        histogram.observe(seconds)

    def observe_store(self, op: str, seconds: float) -> None:
        """Record how long one store operation took."""
        histogram = self._store.get(op)
        if histogram is None:
            histogram = self._store[op] = self.store_latency.labels(op)
        histogram.observe(seconds)

    async def timed(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        """Await ``call()`` and record its duration under ``op``."""
        started = time.perf_counter()
        try:
            return await call()
        finally:
            self.observe_store(op, time.perf_counter() - started)


class AccessLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Access log lines to stderr through a buffer flushed every 0.2 s.

    One write (and flush) per request cost a quarter of the server's throughput;
    a line reaches stderr at most 0.2 s late, and everything is flushed at exit.
    While it is the access logger's only handler, the middleware hands it lines
    directly (:meth:`write_line`), skipping the ``LogRecord`` each ``logger.info``
    builds; any other logging setup gets ordinary records.
    """

    def __init__(self) -> None:
        stream = open(  # noqa: SIM115 - lives as long as the process
            sys.stderr.fileno(), "w", buffering=1 << 16, encoding="utf-8", closefd=False
        )
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(message)s"))
        threading.Thread(target=self._flush_every, daemon=True, name="botwire-log").start()

    def write_line(self, line: str) -> None:
        """Write one already formatted line (what ``emit`` does, minus the record)."""
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + "\n")

    def flush(self) -> None:
        """Skip the flush after each line; :meth:`_flush_every` does it."""

    def _flush_every(self) -> None:
        while True:
            time.sleep(0.2)
            with self.lock:  # type: ignore[union-attr]
                self.stream.flush()

    def close(self) -> None:
        """Flush what is buffered, then close."""
        with self.lock:  # type: ignore[union-attr]
            self.stream.flush()
        super().close()


def log_request(
    logger: logging.Logger,
    scope: Scope,
    route: str,
    status: int,
    seconds: float,
    sent: int,
    namespace: str | None,
    token: str | None,
    code: str | None,
) -> None:
    """Write one access log line (the only place one is written).

    Built by hand: this runs for every request, and json.dumps with options builds
    a new encoder per call. Strings from the client go through ``_text``. The
    query string is logged without its values' secrets: an ``api_key`` is elided.
    """
    client = scope.get("client")
    raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
    path = raw.split(b"?", 1)[0].decode("ascii", "replace")[:300]
    query = scope.get("query_string", b"")
    if query:
        path += "?" + _safe_query(query)
    line = (
        f'{{"ts":{time.time():.3f},"method":{_text(scope["method"])},"path":{_text(path)},'
        f'"route":{_text(route)},"status":{status},"ms":{seconds * 1000:.3f},'
        f'"bytes":{sent},"client":'
        + (_text(f"{client[0]}:{client[1]}") if client else "null")
        + ("" if namespace is None else f',"namespace":{_text(namespace)}')
        + ("" if token is None else f',"token":{_text(token)}')
        + ("" if code is None else f',"code":{_text(code)}')
        + "}"
    )
    handlers = logger.handlers
    if len(handlers) == 1 and type(handlers[0]) is AccessLogHandler and not logger.filters:
        handlers[0].write_line(line)
    else:
        logger.info(line)


def _safe_query(query: bytes) -> str:
    text = query.decode("ascii", "replace")[:200]
    if "api_key" not in text.lower():
        return text
    parts = []
    for part in text.split("&"):
        name = part.partition("=")[0]
        parts.append(f"{name}=…" if name.lower() == "api_key" else part)
    return "&".join(parts)


_text = json.JSONEncoder(ensure_ascii=True).encode
