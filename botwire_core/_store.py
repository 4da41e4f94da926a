"""The store interface every backend implements (DESIGN.md §3).

A store speaks in namespaces, keys and *encoded* values (JSON text): the client
validates and encodes once, and a store never re-validates on its hot path.
Every store passes the conformance suite in ``tests/conformance``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from botwire._plans import FEED_PAGE
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

__all__ = [
    "AsyncFeed",
    "AsyncSizeLimit",
    "AsyncStore",
    "AsyncWriteCounter",
    "Feed",
    "SizeLimit",
    "Store",
    "ThreadedAsyncStore",
    "WriteCounter",
]


T = TypeVar("T")


@runtime_checkable
class Store(Protocol):
    """A synchronous key-value store with versions, lists, TTLs and batches.

    Semantics, shared by every implementation:

    * ``set`` creates a key at version 1 and adds 1 on every write;
      ``if_version=n`` writes only if the current version is ``n`` (``0``: only
      if absent), else raises :class:`~botwire.ConflictError`. An ``id`` (request
      idempotency id) seen before for the same key returns the first result again
      instead of writing twice (no ``ConflictError`` for a retried ``if_version``).
    * ``append`` adds items to a list value in O(1), creating it if absent;
      an ``id`` seen before for the same key returns the first result again.
    * Expired keys are invisible at once.
    * ``batch`` runs all its operations in one transaction: all or nothing.
    """

    kind: str
    """Short name of the backend: ``"sqlite"``, ``"postgres"`` or ``"http"``."""

    def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None`` if absent or expired."""
        ...

    def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """Return the list at ``key`` (its last ``last`` items if given).

        Raises:
            NotAListError: the value is not a list.
        """
        ...

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
        """Store JSON text ``raw`` under ``key`` (once per ``id``, if given)."""
        ...

    def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        ...

    def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """Append JSON-text items to the list at ``key``."""
        ...

    def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """Return live keys in key (code point) order, one page at a time."""
        ...

    def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """Run ``ops`` in one transaction and return their results in order."""
        ...

    def usage(self, namespace: str) -> Usage:
        """Return ``namespace``'s live keys, their values' bytes and its stored bytes."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class AsyncStore(Protocol):
    """The asynchronous twin of :class:`Store`: same methods, awaited."""

    kind: str

    async def get(self, namespace: str, key: str) -> Record | None: ...  # noqa: D102

    async def get_list(
        self, namespace: str, key: str, last: int | None = None
    ) -> Record | None: ...

    async def set(
        self,
        namespace: str,
        key: str,
        raw: str,
        *,
        ttl: float | None = None,
        if_version: int | None = None,
        id: str | None = None,
    ) -> WriteResult: ...

    async def delete(self, namespace: str, key: str) -> bool: ...

    async def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult: ...

    async def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage: ...

    async def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]: ...

    async def usage(self, namespace: str) -> Usage: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class WriteCounter(Protocol):
    """An optional store capability: daily write counts shared by every process.

    Not part of :class:`Store` (third-party stores need not have it); check with
    ``isinstance(store, WriteCounter)``. ``SQLiteStore`` and ``PostgresStore`` have
    it: the count lives in the database, so every process (and server) using the
    same file or database shares it, exactly. The server's ``--writes-per-day``
    quota uses it when its store has it (``botwire.server._limits.Quotas``).

    Days are UTC day numbers, ``int(unix_time // 86400)``, chosen by the caller
    (so that a test can pass its own clock). A namespace keeps one count, of one
    day: counting on a later day restarts it from 0. A count for an earlier day
    than the stored one (a caller whose clock lags another's around midnight)
    is added to the stored, later day rather than resetting it.
    """

    def count_writes(
        self, namespace: str, writes: int, *, limit: int | None, day: int
    ) -> int | None:
        """Add ``writes`` to ``namespace``'s count of ``day`` unless it would pass ``limit``.

        Atomic: of any number of concurrent callers, in any process, exactly as
        many are admitted as fit under ``limit``.

        Args:
            namespace: the namespace whose writes are counted.
            writes: how many writes to add (``>= 0``).
            limit: the most writes the day may count, or ``None``: no limit.
            day: the UTC day number, ``int(unix_time // 86400)``.

        Returns:
            The new count, or ``None`` if it would pass ``limit`` (nothing is counted).
        """
        ...

    def writes_on(self, namespace: str, day: int) -> int:
        """Return the writes counted for ``namespace`` on ``day`` (0 if none)."""
        ...


@runtime_checkable
class AsyncWriteCounter(Protocol):
    """The asynchronous twin of :class:`WriteCounter`: same methods, awaited."""

    async def count_writes(
        self, namespace: str, writes: int, *, limit: int | None, day: int
    ) -> int | None: ...

    async def writes_on(self, namespace: str, day: int) -> int: ...


@runtime_checkable
class SizeLimit(Protocol):
    """An optional store capability: writes checked against a namespace size limit.

    ``SQLiteStore``, ``PostgresStore`` and ``AsyncPostgresStore`` have it; the
    server's ``--max-namespace-bytes`` quota uses it when its store has it. Check
    with ``isinstance(store, SizeLimit)``.
    """

    def batch_within(self, namespace: str, ops: Sequence[Op], max_bytes: int) -> list[OpResult]:
        """Run ``ops`` as :meth:`Store.batch` does, within ``max_bytes`` stored bytes.

        The check and the writes are one transaction, atomic across processes:
        of any number of concurrent callers, exactly as many are admitted as fit.
        The size is :attr:`~botwire.Usage.stored_bytes` (keys, values, list items,
        idempotency ids). A batch that does not grow the namespace always fits.

        Raises:
            QuotaExceededError: the namespace would hold more than ``max_bytes``;
                nothing was written.
        """
        ...


@runtime_checkable
class AsyncSizeLimit(Protocol):
    """The asynchronous twin of :class:`SizeLimit`: same method, awaited."""

    async def batch_within(
        self, namespace: str, ops: Sequence[Op], max_bytes: int
    ) -> list[OpResult]: ...


@runtime_checkable
class Feed(Protocol):
    """An optional store capability: the change feed (``Memory.watch``, ``wait_for``).

    Every write is recorded in its namespace's feed in the writing transaction,
    with a ``seq`` that strictly increases in commit order (not necessarily by 1).
    ``SQLiteStore``, ``PostgresStore`` and ``HTTPStore`` have it.
    """

    def last_seq(self, namespace: str) -> int:
        """Return the seq of ``namespace``'s newest change (0: none yet)."""
        ...

    def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage:
        """Return changes after ``since`` (``None``: from now) to keys under ``prefix``.

        Blocks up to ``wait`` seconds for a first change when there is none yet.
        ``next`` of the page is the ``since`` of the next call.

        Raises:
            ChangesExpiredError: changes after ``since`` are past the retention.
        """
        ...


@runtime_checkable
class AsyncFeed(Protocol):
    """The asynchronous twin of :class:`Feed`: same methods, awaited."""

    async def last_seq(self, namespace: str) -> int: ...

    async def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage: ...


def check_count(writes: int, limit: int | None, day: int) -> None:
    """Validate the arguments of :meth:`WriteCounter.count_writes` (for stores)."""
    checked = {"writes": writes, "day": day}
    if limit is not None:
        checked["limit"] = limit
    for name, value in checked.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            from botwire._errors import ValidationError

            raise ValidationError(f"{name} must be a whole number >= 0, not {value!r}")


async def _to_thread(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    import asyncio  # lazily: importing botwire must stay fast for sync users

    return await asyncio.to_thread(fn, *args, **kwargs)


class ThreadedAsyncStore:
    """Run a blocking :class:`Store` in worker threads behind the async interface.

    Used for SQLite, whose driver has no async API; the store must be safe to use
    from several threads (``SQLiteStore`` keeps one connection per thread).

    If the store is a :class:`WriteCounter`, so is the wrapper (an
    :class:`AsyncWriteCounter`): ``ThreadedAsyncStore(store)`` then returns an
    instance of a subclass that forwards ``count_writes`` and ``writes_on``.
    """

    def __new__(cls, store: Store) -> ThreadedAsyncStore:  # noqa: D102
        if cls is ThreadedAsyncStore and isinstance(store, WriteCounter):
            cls = _ThreadedAsyncCounter
        return object.__new__(cls)

    def __init__(self, store: Store) -> None:
        self.sync = store
        self.kind = store.kind

    async def get(self, namespace: str, key: str) -> Record | None:
        return await _to_thread(self.sync.get, namespace, key)

    async def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        return await _to_thread(self.sync.get_list, namespace, key, last)

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
        if id is None:
            return await _to_thread(
                self.sync.set, namespace, key, raw, ttl=ttl, if_version=if_version
            )
        return await _to_thread(
            self.sync.set, namespace, key, raw, ttl=ttl, if_version=if_version, id=id
        )

    async def delete(self, namespace: str, key: str) -> bool:
        return await _to_thread(self.sync.delete, namespace, key)

    async def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        return await _to_thread(self.sync.append, namespace, key, raws, id=id)

    async def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        return await _to_thread(
            self.sync.list_keys, namespace, prefix=prefix, limit=limit, cursor=cursor
        )

    async def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        return await _to_thread(self.sync.batch, namespace, ops)

    async def usage(self, namespace: str) -> Usage:
        return await _to_thread(self.sync.usage, namespace)

    async def last_seq(self, namespace: str) -> int:
        result: int = await _to_thread(self._feed().last_seq, namespace)
        return result

    async def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage:
        """Read the feed in a worker thread; wait for a change without holding one
        where the store can (``wait_change_async``), else in the thread. Waiting
        tasks share the store's feed buffer (``feed_hub``) with its waiting threads."""
        feed = self._feed()
        waiter = getattr(feed, "wait_change_async", None)
        if waiter is None or wait <= 0:
            result: ChangePage = await _to_thread(
                feed.changes, namespace, since=since, prefix=prefix, limit=limit, wait=wait
            )
            return result
        from botwire._feedhub import adrive, wait_plan

        hubs = getattr(feed, "feed_hub", None)
        hub = hubs(namespace) if hubs is not None else None

        def blocking(after: int | None, prefix: str, limit: int) -> ChangePage:
            return feed.changes(namespace, since=after, prefix=prefix, limit=limit)

        async def read(after: int | None, prefix: str, limit: int) -> ChangePage:
            return await _to_thread(blocking, after, prefix, limit)

        token = getattr(feed, "change_token")  # noqa: B009 - present with the waiter
        plan = wait_plan(hub, since, prefix, limit, wait)
        return await adrive(plan, hub, token, read, waiter, blocking=blocking)

    def _feed(self) -> Feed:
        if not isinstance(self.sync, Feed):
            from botwire._errors import ValidationError

            raise ValidationError(f"{self.sync!r} has no change feed")
        return self.sync

    async def aclose(self) -> None:
        self.sync.close()


class _ThreadedAsyncCounter(ThreadedAsyncStore):
    """A :class:`ThreadedAsyncStore` around a store that counts writes: forwards them."""

    sync: Any

    async def count_writes(
        self, namespace: str, writes: int, *, limit: int | None, day: int
    ) -> int | None:
        result: int | None = await _to_thread(
            self.sync.count_writes, namespace, writes, limit=limit, day=day
        )
        return result

    async def writes_on(self, namespace: str, day: int) -> int:
        result: int = await _to_thread(self.sync.writes_on, namespace, day)
        return result
