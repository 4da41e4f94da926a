# unasync: begin async-only
"""``AsyncMemory``, the source of both clients: ``Memory`` is generated from it.

``scripts/unasync.py`` writes ``botwire._memory_sync`` from this file (``async def``
becomes ``def``, ``await x`` becomes ``x``, ``AsyncStore`` becomes ``Store``…), and
``scripts/test`` fails while the generated copy is stale: edit this file only.
Lines marked ``# unasync: async-only`` stay out of ``Memory``; ``# sync:`` comment
lines are code of ``Memory`` only.
"""
# unasync: end
# sync: """``Memory``: generated from ``botwire._memory_async`` by ``scripts/unasync.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botwire._codec import DEFAULT_MAX_VALUE_BYTES, decode, encode
from botwire._errors import ConflictError, UnavailableError, ValidationError
from botwire._memory_base import (
    _MISSING,
    _READ,
    UPDATE_ATTEMPTS,
    _backoff,
    _backoff_reconnect,
    _BaseMemory,
)
from botwire._open import open_async_store
from botwire._store import AsyncFeed, AsyncStore
from botwire._types import Change, DeleteOp, GetOp, Item, Op, OpResult
from botwire._validation import _validate_key, validate_key

if TYPE_CHECKING:  # unasync: async-only
    from botwire._memory_sync import Memory  # unasync: async-only

__all__ = ["AsyncMemory"]


class AsyncMemory(_BaseMemory):
    """Durable key-value memory bound to one namespace.

    Example:
        >>> async with AsyncMemory("user-preferences") as memory:
        ...     await memory.set("user-42:response_style", "concise")
        ...     await memory.get("user-42:response_style")
        1
        'concise'

    Args:
        namespace: 1–128 characters from ``A-Z a-z 0-9 _ - . : @``.
        url: where the data lives; default ``$BOTWIRE_URL``, else the embedded
            SQLite file (``sqlite:///…``, ``postgresql://…``, ``http(s)://…``).
        api_key: token for a server that requires one (default ``$BOTWIRE_API_KEY``).
        timeout: seconds for one request to a server.
        store: an already-open :class:`~botwire.AsyncStore` to use instead of ``url``
            (it is not closed by :meth:`aclose`).
        max_value_bytes: largest encoded value accepted (default 1 MiB).
        base_url: the 0.2.x name of ``url``; accepted with a ``DeprecationWarning``.

    Raises:
        ValidationError: the namespace or URL is invalid.
    """

    def __init__(
        self,
        namespace: str,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        store: AsyncStore | None = None,
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
        base_url: str | None = None,
    ) -> None:
        url = self._legacy_url(url, base_url)
        self._init(namespace, max_value_bytes)
        self._owns_store = store is None
        self.store: AsyncStore = (
            store if store is not None else open_async_store(url, api_key=api_key, timeout=timeout)
        )

    # unasync: begin async-only
    @classmethod
    def from_sync(cls, memory: Memory) -> AsyncMemory:
        """An ``AsyncMemory`` over ``memory``'s namespace and store, run in worker threads.

        For code that needs the async client while you hold a ``Memory`` (an
        adapter's ``a``-methods). Closing it leaves the store open: ``memory``
        owns it.

        Example:
            >>> amemory = AsyncMemory.from_sync(Memory("user-preferences"))

        Raises:
            ValidationError: ``memory`` is not a :class:`Memory`.
        """
        from botwire._memory_sync import Memory
        from botwire._store import ThreadedAsyncStore

        if not isinstance(memory, Memory):
            raise ValidationError(
                f"AsyncMemory.from_sync takes a botwire.Memory, not {type(memory).__name__}"
            )
        return cls(
            memory.namespace,
            store=ThreadedAsyncStore(memory.store),
            max_value_bytes=memory.max_value_bytes,
        )

    # unasync: end

    # -- single keys ---------------------------------------------------------------

    async def set(
        self, key: str, value: Any, *, ttl: float | None = None, if_version: int | None = None
    ) -> int:
        """Store ``value`` (any JSON value) under ``key``; return the new version.

        Args:
            ttl: seconds until the key expires (default: never).
            if_version: write only if the current version is this (0: only if absent).

        Raises:
            ConflictError: ``if_version`` did not match.
            ValidationError: invalid key or value, or the value is too large.
        """
        if ttl is None and if_version is None:  # the hot path: no option objects
            key = _validate_key(key) if type(key) is str else validate_key(key)
            raw = encode(value, max_bytes=self.max_value_bytes)
            return (await self.store.set(self.namespace, key, raw)).version
        op = self._set_op(key, value, ttl, if_version)
        result = await self.store.set(
            self.namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version
        )
        return result.version

    async def get(self, key: str, default: Any = None) -> Any:
        """Return the value at ``key``, or ``default`` if it is missing or expired."""
        return self._value(await self.store.get(self.namespace, validate_key(key)), default)

    async def get_item(self, key: str) -> Item | None:
        """Return the value at ``key`` with its version and timestamps, or ``None``."""
        record = await self.store.get(self.namespace, validate_key(key))
        return None if record is None else Item.from_record(record)

    async def delete(self, key: str) -> bool:
        """Delete ``key``; return ``True`` if it existed."""
        return await self.store.delete(self.namespace, validate_key(key))

    # unasync: begin async-only
    async def contains(self, key: str) -> bool:
        """Whether ``key`` holds a value (``None`` included); ``in`` cannot await."""
        return await self.store.get(self.namespace, validate_key(key)) is not None

    # unasync: end

    # sync: def __contains__(self, key: object) -> bool:
    # sync:     """``key in memory``: true for any stored value, ``None`` included."""
    # sync:     if not isinstance(key, str):
    # sync:         return False
    # sync:     return self.store.get(self.namespace, validate_key(key)) is not None

    # -- listing -------------------------------------------------------------------

    async def list_keys(self, prefix: str = "", limit: int | None = None) -> list[str]:
        """Return keys in order (those starting with ``prefix``; at most ``limit``)."""
        page = await self.store.list_keys(
            self.namespace, prefix=self._prefix(prefix), limit=self._limit("limit", limit)
        )
        return page.keys

    async def keys(self) -> list[str]:
        """Every key, in order (the original SDK's name for ``list_keys()``)."""
        return await self.list_keys()

    # -- lists ---------------------------------------------------------------------

    async def append(self, key: str, *items: Any, id: str | None = None) -> int:
        """Append ``items`` to the list at ``key`` (creating it); return its length.

        O(1) in the list's length; concurrent appenders never lose an item.

        Args:
            id: idempotency id: a second append with the same id is not applied.

        Raises:
            NotAListError: the value at ``key`` is not a list.
        """
        op = self._append_op(key, items, id)
        return (await self.store.append(self.namespace, op.key, op.raws, id=op.id)).length

    async def get_list(self, key: str, last: int | None = None) -> list[Any]:
        """Return the list at ``key`` (``[]`` if missing), or its last ``last`` items.

        Raises:
            NotAListError: the value at ``key`` is not a list.
        """
        record = await self.store.get_list(
            self.namespace, validate_key(key), self._limit("last", last)
        )
        return [] if record is None else list(decode(record.raw))

    # -- compare-and-set -----------------------------------------------------------

    async def update(
        self, key: str, fn: Callable[[Any], Any | Awaitable[Any]], default: Any = None
    ) -> Any:
        """Atomically replace the value at ``key`` with ``fn(old)``; return the new value.

        ``old`` is ``default`` when the key is missing. ``fn`` may be called more
        than once: on a concurrent write the read-modify-write is retried.

        Example:
            >>> await memory.update("visits", lambda n: n + 1, default=0)
            1
        """
        self._check_fn(fn)
        key = validate_key(key)
        for attempt in range(UPDATE_ATTEMPTS):
            record = await self.store.get(self.namespace, key)
            new = fn(self._value(record, default))
            if hasattr(new, "__await__"):  # a coroutine function  # unasync: async-only
                new = await new  # unasync: async-only
            op = self._set_op(key, new, None, 0 if record is None else record.version)
            try:
                await self.store.set(self.namespace, key, op.raw, if_version=op.if_version)
                return new
            except ConflictError:
                await asyncio.sleep(_backoff(attempt))
        raise ConflictError(
            f"update of {key!r} lost the race {UPDATE_ATTEMPTS} times in a row", key=key
        )

    # -- batches -------------------------------------------------------------------

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return ``{key: value}`` for those of ``keys`` that exist, in one read."""
        ops: list[Op] = [GetOp(k) for k in self._keys(keys)]
        return self._many(await self.store.batch(self.namespace, ops)) if ops else {}

    async def set_many(self, mapping: Mapping[str, Any], *, ttl: float | None = None) -> None:
        """Store every ``key: value`` of ``mapping`` in one transaction."""
        ops = self._set_many_ops(mapping, ttl)
        if ops:
            await self.store.batch(self.namespace, ops)

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Delete ``keys`` in one transaction; return how many existed."""
        ops: list[Op] = [DeleteOp(k) for k in self._keys(keys)]
        if not ops:
            return 0
        return sum(1 for r in await self.store.batch(self.namespace, ops) if r is True)

    async def batch(self, ops: Sequence[Op]) -> list[OpResult]:
        """Run low-level operations (``botwire.GetOp`` …) in one transaction."""
        return await self.store.batch(self.namespace, list(ops))

    # -- the change feed -------------------------------------------------------------

    async def last_seq(self) -> int:
        """Return the seq of this namespace's newest change (0: none yet).

        Save it with your work and pass it as ``watch(since=...)`` to resume.
        """
        feed: AsyncFeed = self._feed(AsyncFeed)
        return await feed.last_seq(self.namespace)

    # unasync: begin async-only
    async def watch(
        self, prefix: str = "", *, since: int | None = None, timeout: float | None = None
    ) -> AsyncIterator[Change]:
        """Yield every change to keys under ``prefix`` as it happens (``async for``).

        ``since=None`` starts from the first iteration. See :meth:`Memory.watch`.
        """
        feed: AsyncFeed = self._feed(AsyncFeed)
        prefix, timeout = self._prefix(prefix), self._timeout(timeout)
        since = self._since(since)
        if since is None:
            since = await feed.last_seq(self.namespace)
        async for change in self._watch(feed, prefix, since, timeout):
            yield change

    # unasync: end

    # sync: def watch(
    # sync:     self, prefix: str = "", *, since: int | None = None, timeout: float | None = None
    # sync: ) -> Iterator[Change]:
    # sync:     """Yield every change to keys under ``prefix``, in commit order, as it happens.
    # sync:
    # sync:     Example:
    # sync:         >>> for change in memory.watch("task:", timeout=60):
    # sync:         ...     print(change.seq, change.key, change.kind, change.value)
    # sync:
    # sync:     Args:
    # sync:         prefix: only keys starting with this.
    # sync:         since: resume right after this seq (a ``Change.seq`` you handled, or
    # sync:             ``last_seq()``); ``None``: from now, changes committed after this call.
    # sync:         timeout: stop after this many seconds without a change (``None``: never).
    # sync:
    # sync:     Raises:
    # sync:         ChangesExpiredError: ``since`` is older than the feed's retention: read the
    # sync:             keys again and resume from ``last_seq()``.
    # sync:     """
    # sync:     feed: Feed = self._feed(Feed)
    # sync:     prefix, timeout = self._prefix(prefix), self._timeout(timeout)
    # sync:     since = self._since(since)
    # sync:     if since is None:
    # sync:         since = feed.last_seq(self.namespace)
    # sync:     return self._watch(feed, prefix, since, timeout)

    async def _watch(
        self, feed: AsyncFeed, prefix: str, since: int, timeout: float | None
    ) -> AsyncIterator[Change]:
        deadline = self._deadline(timeout)
        faults = 0
        while True:
            wait = self._slice(deadline)
            try:
                page = await feed.changes(self.namespace, since=since, prefix=prefix, wait=wait)
            except UnavailableError:  # the store's own retries ran out: reconnect, resume
                faults = self._reconnect(faults, deadline)
                await asyncio.sleep(_backoff_reconnect(faults))
                continue
            faults = 0
            since = page.next
            for record in page.changes:
                yield Change.from_record(record)
            if page.changes:
                deadline = self._deadline(timeout)
            elif deadline is not None and wait <= 0:
                return

    async def wait_for(
        self, key: str, *, until: Callable[[Any], Any] | None = None, timeout: float | None
    ) -> Any:
        """Return the value at ``key`` once it exists (and ``until(value)`` is true).

        Returns at once if it already does; else waits on the change feed (no polling).

        Example:
            >>> result = await memory.wait_for("result:task-7", timeout=300)

        Raises:
            TimeoutError: ``timeout`` seconds passed first (``None``: wait forever).
        """
        key, timeout = validate_key(key), self._timeout(timeout)
        feed: AsyncFeed = self._feed(AsyncFeed)
        deadline = self._deadline(timeout)
        since = await feed.last_seq(self.namespace)
        found = await self._check_now(key, until)
        while found is _MISSING:
            wait = self._slice(deadline)
            if deadline is not None and wait <= 0:
                raise self._timed_out(key, timeout)
            page = await feed.changes(self.namespace, since=since, prefix=key, wait=wait)
            since = page.next
            for record in page.changes:
                found = self._wanted(key, record, until)
                if found is _READ:
                    found = await self._check_now(key, until)
                if found is not _MISSING:
                    break
        return found

    async def _check_now(self, key: str, until: Callable[[Any], Any] | None) -> Any:
        return self._found(await self.store.get(self.namespace, key), until)

    # -- lifetime ------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the store this memory opened (not one passed as ``store=``)."""
        if self._owns_store:
            await self.store.aclose()

    close = aclose  # unasync: async-only

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
