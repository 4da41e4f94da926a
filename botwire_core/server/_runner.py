"""How the server calls its store: off the event loop (threads or awaited); group commit."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import Any

from botwire._errors import BotWireError
from botwire._open import open_serving_store
from botwire._plans import is_read_only
from botwire._store import AsyncStore, AsyncWriteCounter, SizeLimit, Store, WriteCounter
from botwire._types import AppendOp, DeleteOp, GetOp, SetOp
from botwire.server._observe import Metrics
from botwire.server._settings import Settings

__all__ = [
    "POSTGRES_SERVE_TIMEOUT",
    "READS",
    "Runner",
    "StoreCounter",
    "open_store",
    "with_lock_timeout",
]

POSTGRES_SERVE_TIMEOUT = 2.0
"""Seconds a served request waits for a PostgreSQL connection (and to connect)."""


READS = frozenset(
    {"get", "get_list", "list_keys", "usage", "writes_on", "namespaces", "changes", "last_seq"}
)
"""Store operations that only read: on SQLite they run in the reader pool."""

READER_THREADS = 4


class Runner:
    """Calls a store off the event loop and times every call.

    * An asynchronous store (``AsyncPostgresStore``) is awaited: its I/O never
      blocks the loop.
    * A synchronous store runs in threads, never on the loop: reads in a small
      reader pool, and everything that writes in **one writer thread**. On
      SQLite that thread is the only one that ever waits for the file's write
      lock (another process may hold it for seconds: the wait is bounded by the
      store's ``lock_timeout``, after which the write fails with
      ``UnavailableError``/503), so a held lock stalls writes, never the loop,
      ``/healthz`` or reads.
    * Sets and appends go through :meth:`write`: those queued while the writer
      is busy commit together (group commit).
    * With ``max_bytes`` and a store that checks sizes (``SizeLimit``), every
      write (sets, appends, batches, deletes) runs as ``batch_within``: the store
      checks the namespace's size in the write's own transaction.
    """

    def __init__(
        self, store: Store | AsyncStore, metrics: Metrics, *, max_bytes: int | None = None
    ) -> None:
        self.store = store
        self.kind: str = getattr(store, "kind", "store")
        self.is_async = inspect.iscoroutinefunction(getattr(store, "get", None))
        self.metrics = metrics
        self.counts_writes = isinstance(store, (WriteCounter, AsyncWriteCounter))
        """Whether the store keeps shared daily write counts (see :class:`StoreCounter`)."""
        self.max_bytes = max_bytes if isinstance(store, SizeLimit) else None
        """The namespace size limit the store checks on every write (``None``: it
        does not; the server's own estimate is all there is)."""
        self._lock = threading.Lock()
        self._pending: dict[str, list[tuple[SetOp | AppendOp, Future[Any]]]] = {}
        self._flush_queued = False
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        if not self.is_async:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="botwire-writer")
            readers = READER_THREADS if self.kind == "sqlite" else 16
            self._readers = ThreadPoolExecutor(readers, thread_name_prefix="botwire-reader")

    def _pool_for(self, op: str, args: tuple[Any, ...]) -> ThreadPoolExecutor:
        assert self._writer is not None and self._readers is not None
        if op in READS:
            return self._readers
        if op == "batch" and all(isinstance(o, GetOp) for o in args[1]):
            return self._readers
        return self._writer

    async def __call__(self, op: str, *args: Any, **kwargs: Any) -> Any:
        if self.max_bytes is not None:
            if op == "delete":  # always fits; keeps the store's count of the namespace
                ops = [DeleteOp(args[1])]
                (deleted,) = await self("batch_within", args[0], ops, self.max_bytes)
                return deleted
            if op == "batch" and not is_read_only(args[1]):
                return await self("batch_within", *args, self.max_bytes)
        fn = getattr(self.store, op)
        started = time.perf_counter()
        try:
            if self.is_async:
                return await fn(*args, **kwargs)
            pool = self._pool_for(op, args)
            return await asyncio.wrap_future(pool.submit(fn, *args, **kwargs))
        finally:
            self.metrics.observe_store(op, time.perf_counter() - started)

    async def write(self, namespace: str, op: SetOp | AppendOp) -> Any:
        """Run one set or append; on a synchronous store, commit it with its neighbours.

        Writes queued for the same namespace while the writer thread is busy are
        committed in one transaction (group commit): each is still committed
        before its answer is sent, and a group that fails (a version conflict,
        a value that is not a list) is re-run one write at a time, so every write
        gets its own result or error.
        """
        if self.is_async and self.max_bytes is not None:
            (result,) = await self("batch_within", namespace, [op], self.max_bytes)
            return result
        if self.is_async:
            if isinstance(op, SetOp):
                ids = {} if op.id is None else {"id": op.id}  # stores that predate set ids
                return await self(
                    "set", namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version, **ids
                )
            return await self("append", namespace, op.key, op.raws, id=op.id)
        assert self._writer is not None
        future: Future[Any] = Future()
        with self._lock:
            self._pending.setdefault(namespace, []).append((op, future))
            queue = not self._flush_queued
            self._flush_queued = True
        if queue:
            self._writer.submit(self._flush)
        return await asyncio.wrap_future(future)

    def _batch(self, namespace: str, ops: list[SetOp | AppendOp]) -> list[Any]:
        """In the writer thread: ``ops`` in one transaction, size-checked if the store
        checks sizes."""
        store: Any = self.store
        results: list[Any] = (
            store.batch_within(namespace, ops, self.max_bytes)
            if self.max_bytes is not None
            else store.batch(namespace, ops)
        )
        return results

    def _single(self, namespace: str, op: SetOp | AppendOp) -> Any:
        store: Any = self.store
        if self.max_bytes is not None:
            return self._batch(namespace, [op])[0]
        if isinstance(op, SetOp):
            if op.id is None:
                return store.set(namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version)
            return store.set(
                namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version, id=op.id
            )
        return store.append(namespace, op.key, op.raws, id=op.id)

    def _flush(self) -> None:
        """In the writer thread: commit every queued write, a group per namespace."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flush_queued = False
        for namespace, items in pending.items():
            started = time.perf_counter()
            results: list[Any] | None = None
            if len(items) > 1:
                try:
                    results = self._batch(namespace, [op for op, _ in items])
                except BotWireError:
                    results = None  # re-run one by one: each write gets its own answer
                except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                    for _, future in items:
                        _settle(future, error=exc)
                    continue
            if results is not None:
                for (_, future), result in zip(items, results, strict=True):
                    _settle(future, result)
            else:
                for op, future in items:
                    try:
                        result = self._single(namespace, op)
                    except Exception as exc:  # noqa: BLE001 - raised in the request
                        _settle(future, error=exc)
                    else:
                        _settle(future, result)
            label = "group_commit" if len(items) > 1 else items[0][0].op
            self.metrics.observe_store(label, time.perf_counter() - started)

    async def close(self, owned: bool) -> None:
        for pool in (self._writer, self._readers):
            if pool is not None:
                await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
        if owned:
            if self.is_async:
                await self.store.aclose()  # type: ignore[union-attr]
            else:
                self.store.close()  # type: ignore[union-attr]


def _settle(future: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    """Hand a result to a waiting request (one that went away has cancelled its future)."""
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass


class StoreCounter:
    """The store's shared daily write counts (an ``AsyncWriteCounter``), through a runner.

    Args:
        run: calls a store operation by name on the server's current runner (for a
            store whose runner's :attr:`Runner.counts_writes` is true).
    """

    def __init__(self, run: Callable[..., Awaitable[Any]]) -> None:
        self._run = run

    async def count_writes(
        self, namespace: str, writes: int, *, limit: int | None, day: int
    ) -> int | None:
        result: int | None = await self._run(
            "count_writes", namespace, writes, limit=limit, day=day
        )
        return result

    async def writes_on(self, namespace: str, day: int) -> int:
        result: int = await self._run("writes_on", namespace, day)
        return result


def with_lock_timeout(url: str, seconds: float) -> str:
    """``url`` with PostgreSQL's ``lock_timeout`` set for its sessions, unless it sets ``options``.

    Example:
        >>> with_lock_timeout("postgresql://u@db/app", 1.5)
        'postgresql://u@db/app?options=-c%20lock_timeout%3D1500'
    """
    from urllib.parse import parse_qsl, quote, urlsplit

    query = urlsplit(url).query
    if any(name == "options" for name, _ in parse_qsl(query)):
        return url  # the operator's own session options win
    option = quote(f"-c lock_timeout={max(1, round(seconds * 1000))}", safe="")
    return f"{url}{'&' if query else '?'}options={option}"


def open_store(settings: Settings) -> Store | AsyncStore:
    from urllib.parse import urlsplit

    url = settings.db
    if url and urlsplit(url).scheme.lower() in ("postgresql", "postgres"):
        # A lock another client holds is waited for at most lock_timeout, then the
        # request answers 503 (SQLite gets the same bound through the store).
        url = with_lock_timeout(url, settings.lock_timeout)
    # Fail fast while PostgreSQL is down: a request waits at most
    # POSTGRES_SERVE_TIMEOUT for a connection, then answers 503 with Retry-After;
    # SQLite checkpoints in a background thread, so no request pays for one.
    return open_serving_store(
        url,
        timeout=POSTGRES_SERVE_TIMEOUT,
        background_checkpoint=True,
        lock_timeout=settings.lock_timeout,
    )
