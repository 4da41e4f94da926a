"""How the server calls its store: inline, in threads, or awaited; group commit."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from botwire._errors import BotWireError
from botwire._open import open_serving_store
from botwire._store import AsyncStore, AsyncWriteCounter, Store, WriteCounter
from botwire._types import AppendOp, SetOp
from botwire.server._observe import Metrics
from botwire.server._settings import Settings

__all__ = ["POSTGRES_SERVE_TIMEOUT", "Runner", "StoreCounter", "open_store"]

POSTGRES_SERVE_TIMEOUT = 2.0
"""Seconds a served request waits for a PostgreSQL connection (and to connect)."""


class Runner:
    """Calls a store the fastest safe way and times every call.

    * An asynchronous store is awaited.
    * SQLite (``inline``) is called on the event loop: its calls take microseconds,
      writers are serialised by SQLite anyway, and a thread hop would cost more
      than the call. Sets and appends go through :meth:`write` (group commit).
    * Any other synchronous store runs in a thread pool.
    """

    def __init__(self, store: Store | AsyncStore, inline: bool | None, metrics: Metrics) -> None:
        self.store = store
        self.kind: str = getattr(store, "kind", "store")
        self.is_async = inspect.iscoroutinefunction(getattr(store, "get", None))
        self.inline = self.kind == "sqlite" if inline is None else inline
        self.metrics = metrics
        self.counts_writes = isinstance(store, (WriteCounter, AsyncWriteCounter))
        """Whether the store keeps shared daily write counts (see :class:`StoreCounter`)."""
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[str, list[tuple[SetOp | AppendOp, asyncio.Future[Any]]]] = {}
        self._flush_scheduled = False
        if not self.is_async and not self.inline:
            self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="botwire-store")

    async def __call__(self, op: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self.store, op)
        started = time.perf_counter()
        try:
            if self.is_async:
                return await fn(*args, **kwargs)
            if self._pool is None:
                return fn(*args, **kwargs)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, partial(fn, *args, **kwargs))
        finally:
            self.metrics.observe_store(op, time.perf_counter() - started)

    async def write(self, namespace: str, op: SetOp | AppendOp) -> Any:
        """Run one set or append; on an inline store, commit it with its neighbours.

        Writes that arrive in the same event-loop turn for the same namespace are
        committed in one transaction (group commit): each is still committed
        before its answer is sent, and a group that fails (a version conflict,
        a value that is not a list) is re-run one write at a time, so every write
        gets its own result or error.
        """
        if self.is_async or self._pool is not None:
            if isinstance(op, SetOp):
                ids = {} if op.id is None else {"id": op.id}  # stores that predate set ids
                return await self(
                    "set", namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version, **ids
                )
            return await self("append", namespace, op.key, op.raws, id=op.id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.setdefault(namespace, []).append((op, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _single(self, namespace: str, op: SetOp | AppendOp) -> Any:
        store: Any = self.store
        if isinstance(op, SetOp):
            if op.id is None:
                return store.set(namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version)
            return store.set(
                namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version, id=op.id
            )
        return store.append(namespace, op.key, op.raws, id=op.id)

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for namespace, items in pending.items():
            started = time.perf_counter()
            results: list[Any] | None = None
            if len(items) > 1:
                try:
                    results = self.store.batch(namespace, [op for op, _ in items])  # type: ignore[assignment]
                except BotWireError:
                    results = None  # re-run one by one: each write gets its own answer
                except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                    for _, future in items:
                        if not future.done():
                            future.set_exception(exc)
                    continue
            if results is not None:
                for (_, future), result in zip(items, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            else:
                for op, future in items:
                    try:
                        result = self._single(namespace, op)
                    except Exception as exc:  # noqa: BLE001 - raised in the request
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(result)
            label = "group_commit" if len(items) > 1 else items[0][0].op
            self.metrics.observe_store(label, time.perf_counter() - started)

    async def close(self, owned: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        if owned:
            if self.is_async:
                await self.store.aclose()  # type: ignore[union-attr]
            else:
                self.store.close()  # type: ignore[union-attr]


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


def open_store(settings: Settings) -> Store | AsyncStore:
    # Fail fast while PostgreSQL is down: a request waits at most
    # POSTGRES_SERVE_TIMEOUT for a connection, then answers 503 with Retry-After.
    return open_serving_store(
        settings.db, timeout=POSTGRES_SERVE_TIMEOUT, background_checkpoint=True
    )
