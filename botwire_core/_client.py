"""``Memory`` and ``AsyncMemory``: a namespace-bound facade over a store.

All validation, encoding and result decoding lives in :class:`_BaseMemory`; the two
clients own only the calls that do I/O, so they cannot drift apart (a parity test
compares their public signatures).
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import Any, TypeVar

from botwire._backoff import backoff
from botwire._codec import DEFAULT_MAX_VALUE_BYTES, decode, encode
from botwire._errors import ConflictError, UnavailableError, ValidationError
from botwire._open import open_async_store, open_store
from botwire._store import AsyncFeed, AsyncStore, Feed, Store
from botwire._types import (
    AppendOp,
    AppendResult,
    Change,
    ChangeRecord,
    DeleteOp,
    GetOp,
    Item,
    Op,
    OpResult,
    Record,
    SetOp,
    WriteResult,
)
from botwire._validation import (
    _validate_key,
    check_id,
    check_limit,
    check_prefix,
    check_ttl,
    check_version,
    validate_key,
    validate_namespace,
)

__all__ = ["AsyncMemory", "Memory"]

T = TypeVar("T")

_MISSING: Any = object()
_READ: Any = object()
UPDATE_ATTEMPTS = 1000
"""How many times ``update`` retries a conflicting write before giving up."""


WATCH_SLICE = 25.0
"""Longest single wait for a change (one long-poll request over HTTP): a watch with
no timeout waits slice after slice."""


def _backoff_reconnect(faults: int) -> float:
    """Pause before a watch reconnects after its store gave up: up to 5 s apart."""
    return backoff(faults, 0.2, 5.0)


def _backoff(attempt: int) -> float:
    """Jittered pause between ``update`` attempts: spreads out competing writers."""
    return backoff(attempt, 0.0005, 0.05)


class _BaseMemory:
    """I/O-free logic shared by :class:`Memory` and :class:`AsyncMemory`."""

    namespace: str
    max_value_bytes: int | None

    def _init(self, namespace: str, max_value_bytes: int | None) -> None:
        self.namespace = validate_namespace(namespace)
        self.max_value_bytes = max_value_bytes

    def _encode(self, value: Any) -> str:
        return encode(value, max_bytes=self.max_value_bytes)

    # The checks the server's request parser runs too (botwire._validation).
    _ttl = staticmethod(check_ttl)
    _if_version = staticmethod(check_version)
    _limit = staticmethod(check_limit)
    _prefix = staticmethod(check_prefix)

    def _set_op(
        self, key: str, value: Any, ttl: float | None = None, if_version: int | None = None
    ) -> SetOp:
        return SetOp(
            validate_key(key), self._encode(value), self._ttl(ttl), self._if_version(if_version)
        )

    def _append_op(self, key: str, items: Sequence[Any], id: str | None) -> AppendOp:
        if not items:
            raise ValidationError("append needs at least one item")
        checked_id = check_id(id)
        return AppendOp(validate_key(key), tuple(self._encode(i) for i in items), checked_id)

    def _keys(self, keys: Iterable[str]) -> list[str]:
        if isinstance(keys, (str, bytes)):
            raise ValidationError("pass a list of keys, not a single string")
        return [validate_key(k) for k in keys]

    def _set_many_ops(self, mapping: Mapping[str, Any], ttl: float | None) -> list[Op]:
        if not isinstance(mapping, Mapping):
            raise ValidationError(
                f"set_many takes a mapping of key to value, not {type(mapping).__name__}"
            )
        ttl = self._ttl(ttl)
        return [SetOp(validate_key(k), self._encode(v), ttl) for k, v in mapping.items()]

    @staticmethod
    def _value(record: Record | None, default: Any) -> Any:
        return default if record is None else decode(record.raw)

    @staticmethod
    def _many(results: list[OpResult]) -> dict[str, Any]:
        return {r.key: decode(r.raw) for r in results if isinstance(r, Record)}

    @staticmethod
    def _check_fn(fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise ValidationError("update needs a function that maps the old value to the new")

    # -- the change feed: the rules, shared by both twins ------------------------------

    def _feed(self, cls: type[Any]) -> Any:
        if not isinstance(self.store, cls):
            raise ValidationError(f"{self.store!r} has no change feed (watch, wait_for)")
        return self.store

    @staticmethod
    def _since(since: int | None) -> int | None:
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            raise ValidationError(f"since must be a seq (a whole number) or None, not {since!r}")
        if since is not None and since < 0:
            raise ValidationError(f"since must be >= 0, not {since}")
        return since

    @staticmethod
    def _timeout(timeout: float | None, name: str = "timeout") -> float | None:
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0
        ):
            raise ValidationError(f"{name} must be seconds >= 0 or None, not {timeout!r}")
        return None if timeout is None else float(timeout)

    @staticmethod
    def _slice(deadline: float | None) -> float:
        """How long the next read of the feed may wait (0: the deadline passed)."""
        if deadline is None:
            return WATCH_SLICE
        return max(0.0, min(WATCH_SLICE, deadline - time.monotonic()))

    @staticmethod
    def _deadline(timeout: float | None) -> float | None:
        return None if timeout is None else time.monotonic() + timeout

    @staticmethod
    def _wanted(key: str, change: ChangeRecord, until: Callable[[Any], Any] | None) -> Any:
        """``wait_for``'s verdict on one change: the value, ``_MISSING`` (not yet) or
        ``_READ`` (the change does not carry the whole value: read the key)."""
        if change.key != key or change.kind in ("delete", "expire"):
            return _MISSING
        if change.kind == "append" or change.raw is None:
            return _READ
        value = decode(change.raw)
        return value if until is None or until(value) else _MISSING

    @staticmethod
    def _reconnect(faults: int, deadline: float | None) -> int:
        """Count a lost connection of a watch; re-raise once its timeout has passed."""
        if deadline is not None and time.monotonic() >= deadline:
            raise
        return faults + 1

    @staticmethod
    def _timed_out(key: str, timeout: float | None) -> TimeoutError:
        return TimeoutError(f"{key!r} did not get a wanted value within {timeout} s")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.namespace!r}, store={self.store!r})"

    store: Any


class Memory(_BaseMemory):
    """Durable key-value memory bound to one namespace.

    Example:
        >>> from botwire import Memory
        >>> memory = Memory("user-preferences")
        >>> memory.set("user-42:response_style", "concise")
        1
        >>> memory.get("user-42:response_style")
        'concise'

    Args:
        namespace: 1–128 characters from ``A-Z a-z 0-9 _ - . : @``.
        url: where the data lives; default ``$BOTWIRE_URL``, else the embedded
            SQLite file (``sqlite:///…``, ``postgresql://…``, ``http(s)://…``).
        api_key: token for a server that requires one (default ``$BOTWIRE_API_KEY``).
        timeout: seconds for one request to a server.
        store: an already-open :class:`~botwire.Store` to use instead of ``url``
            (it is not closed by :meth:`close`).
        max_value_bytes: largest encoded value accepted (default 1 MiB).

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
        store: Store | None = None,
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self._init(namespace, max_value_bytes)
        self._owns_store = store is None
        self.store: Store = (
            store if store is not None else open_store(url, api_key=api_key, timeout=timeout)
        )

    # -- single keys ---------------------------------------------------------------

    def set(
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
            return self.store.set(
                self.namespace, key, encode(value, max_bytes=self.max_value_bytes)
            ).version
        op = self._set_op(key, value, ttl, if_version)
        return self.store.set(
            self.namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version
        ).version

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value at ``key``, or ``default`` if it is missing or expired."""
        return self._value(self.store.get(self.namespace, validate_key(key)), default)

    def get_item(self, key: str) -> Item | None:
        """Return the value at ``key`` with its version and timestamps, or ``None``."""
        record = self.store.get(self.namespace, validate_key(key))
        return None if record is None else Item.from_record(record)

    def delete(self, key: str) -> bool:
        """Delete ``key``; return ``True`` if it existed."""
        return self.store.delete(self.namespace, validate_key(key))

    def __contains__(self, key: object) -> bool:
        """``key in memory``: true for any stored value, ``None`` included."""
        if not isinstance(key, str):
            return False
        return self.store.get(self.namespace, validate_key(key)) is not None

    # -- listing -------------------------------------------------------------------

    def list_keys(self, prefix: str = "", limit: int | None = None) -> list[str]:
        """Return keys in order (those starting with ``prefix``; at most ``limit``)."""
        return self.store.list_keys(
            self.namespace, prefix=self._prefix(prefix), limit=self._limit("limit", limit)
        ).keys

    def keys(self) -> list[str]:
        """Every key, in order (the original SDK's name for ``list_keys()``)."""
        return self.list_keys()

    # -- lists ---------------------------------------------------------------------

    def append(self, key: str, *items: Any, id: str | None = None) -> int:
        """Append ``items`` to the list at ``key`` (creating it); return its length.

        O(1) in the list's length; concurrent appenders never lose an item.

        Args:
            id: idempotency id: a second append with the same id is not applied.

        Raises:
            NotAListError: the value at ``key`` is not a list.
        """
        op = self._append_op(key, items, id)
        return self.store.append(self.namespace, op.key, op.raws, id=op.id).length

    def get_list(self, key: str, last: int | None = None) -> list[Any]:
        """Return the list at ``key`` (``[]`` if missing), or its last ``last`` items.

        Raises:
            NotAListError: the value at ``key`` is not a list.
        """
        record = self.store.get_list(self.namespace, validate_key(key), self._limit("last", last))
        return [] if record is None else list(decode(record.raw))

    # -- compare-and-set -----------------------------------------------------------

    def update(self, key: str, fn: Callable[[Any], Any], default: Any = None) -> Any:
        """Atomically replace the value at ``key`` with ``fn(old)``; return the new value.

        ``old`` is ``default`` when the key is missing. ``fn`` may be called more
        than once: on a concurrent write the read-modify-write is retried.

        Example:
            >>> memory.update("visits", lambda n: n + 1, default=0)
            1
        """
        self._check_fn(fn)
        key = validate_key(key)
        for attempt in range(UPDATE_ATTEMPTS):
            record = self.store.get(self.namespace, key)
            new = fn(self._value(record, default))
            op = self._set_op(key, new, None, 0 if record is None else record.version)
            try:
                self.store.set(self.namespace, key, op.raw, if_version=op.if_version)
                return new
            except ConflictError:
                time.sleep(_backoff(attempt))
        raise ConflictError(
            f"update of {key!r} lost the race {UPDATE_ATTEMPTS} times in a row", key=key
        )

    # -- batches -------------------------------------------------------------------

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return ``{key: value}`` for those of ``keys`` that exist, in one read."""
        ops: list[Op] = [GetOp(k) for k in self._keys(keys)]
        return self._many(self.store.batch(self.namespace, ops)) if ops else {}

    def set_many(self, mapping: Mapping[str, Any], *, ttl: float | None = None) -> None:
        """Store every ``key: value`` of ``mapping`` in one transaction."""
        ops = self._set_many_ops(mapping, ttl)
        if ops:
            self.store.batch(self.namespace, ops)

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete ``keys`` in one transaction; return how many existed."""
        ops: list[Op] = [DeleteOp(k) for k in self._keys(keys)]
        return sum(1 for r in self.store.batch(self.namespace, ops) if r is True) if ops else 0

    def batch(self, ops: Sequence[Op]) -> list[OpResult]:
        """Run low-level operations (``botwire.GetOp`` …) in one transaction."""
        return self.store.batch(self.namespace, list(ops))

    # -- the change feed -------------------------------------------------------------

    def last_seq(self) -> int:
        """Return the seq of this namespace's newest change (0: none yet).

        Save it with your work and pass it as ``watch(since=...)`` to resume.
        """
        feed: Feed = self._feed(Feed)
        return feed.last_seq(self.namespace)

    def watch(
        self, prefix: str = "", *, since: int | None = None, timeout: float | None = None
    ) -> Iterator[Change]:
        """Yield every change to keys under ``prefix``, in commit order, as it happens.

        Example:
            >>> for change in memory.watch("task:", timeout=60):
            ...     print(change.seq, change.key, change.kind, change.value)

        Args:
            prefix: only keys starting with this.
            since: resume right after this seq (a ``Change.seq`` you handled, or
                ``last_seq()``); ``None``: from now, changes committed after this call.
            timeout: stop after this many seconds without a change (``None``: never).

        Raises:
            ChangesExpiredError: ``since`` is older than the feed's retention: read the
                keys again and resume from ``last_seq()``.
        """
        feed: Feed = self._feed(Feed)
        prefix, timeout = self._prefix(prefix), self._timeout(timeout)
        since = self._since(since)
        if since is None:
            since = feed.last_seq(self.namespace)
        return self._watch(feed, prefix, since, timeout)

    def _watch(
        self, feed: Feed, prefix: str, since: int, timeout: float | None
    ) -> Iterator[Change]:
        deadline = self._deadline(timeout)
        faults = 0
        while True:
            wait = self._slice(deadline)
            try:
                page = feed.changes(self.namespace, since=since, prefix=prefix, wait=wait)
            except UnavailableError:  # the store's own retries ran out: reconnect, resume
                faults = self._reconnect(faults, deadline)
                time.sleep(_backoff_reconnect(faults))
                continue
            faults = 0
            since = page.next
            for record in page.changes:
                yield Change.from_record(record)
            if page.changes:
                deadline = self._deadline(timeout)
            elif deadline is not None and wait <= 0:
                return

    def wait_for(
        self, key: str, *, until: Callable[[Any], Any] | None = None, timeout: float | None
    ) -> Any:
        """Return the value at ``key`` once it exists (and ``until(value)`` is true).

        Returns at once if it already does; else waits on the change feed (no polling).

        Example:
            >>> result = memory.wait_for("result:task-7", timeout=300)

        Raises:
            TimeoutError: ``timeout`` seconds passed first (``None``: wait forever).
        """
        key, timeout = validate_key(key), self._timeout(timeout)
        feed: Feed = self._feed(Feed)
        deadline = self._deadline(timeout)
        since = feed.last_seq(self.namespace)
        found = self._check_now(key, until)
        while found is _MISSING:
            wait = self._slice(deadline)
            if deadline is not None and wait <= 0:
                raise self._timed_out(key, timeout)
            page = feed.changes(self.namespace, since=since, prefix=key, wait=wait)
            since = page.next
            for record in page.changes:
                found = self._wanted(key, record, until)
                if found is _READ:
                    found = self._check_now(key, until)
                if found is not _MISSING:
                    break
        return found

    def _check_now(self, key: str, until: Callable[[Any], Any] | None) -> Any:
        record = self.store.get(self.namespace, key)
        if record is None:
            return _MISSING
        value = decode(record.raw)
        return value if until is None or until(value) else _MISSING

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Close the store this memory opened (not one passed as ``store=``)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncMemory(_BaseMemory):
    """The asyncio twin of :class:`Memory`: the same methods, awaited.

    Example:
        >>> async with AsyncMemory("user-preferences") as memory:
        ...     await memory.set("user-42:response_style", "concise")
        ...     await memory.get("user-42:response_style")

    The embedded SQLite store runs in worker threads; PostgreSQL and HTTP are
    natively asynchronous.
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
    ) -> None:
        self._init(namespace, max_value_bytes)
        self._owns_store = store is None
        self.store: AsyncStore = (
            store if store is not None else open_async_store(url, api_key=api_key, timeout=timeout)
        )

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

    async def set(
        self, key: str, value: Any, *, ttl: float | None = None, if_version: int | None = None
    ) -> int:
        """Store ``value`` under ``key``; return the new version (see ``Memory.set``)."""
        op = self._set_op(key, value, ttl, if_version)
        result: WriteResult = await self.store.set(
            self.namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version
        )
        return result.version

    async def get(self, key: str, default: Any = None) -> Any:
        """Return the value at ``key``, or ``default``."""
        return self._value(await self.store.get(self.namespace, validate_key(key)), default)

    async def get_item(self, key: str) -> Item | None:
        """Return the value at ``key`` with its version and timestamps, or ``None``."""
        record = await self.store.get(self.namespace, validate_key(key))
        return None if record is None else Item.from_record(record)

    async def delete(self, key: str) -> bool:
        """Delete ``key``; return ``True`` if it existed."""
        return await self.store.delete(self.namespace, validate_key(key))

    async def contains(self, key: str) -> bool:
        """Whether ``key`` holds a value (``None`` included); ``in`` cannot await."""
        return await self.store.get(self.namespace, validate_key(key)) is not None

    async def list_keys(self, prefix: str = "", limit: int | None = None) -> list[str]:
        """Return keys in order (those starting with ``prefix``; at most ``limit``)."""
        page = await self.store.list_keys(
            self.namespace, prefix=self._prefix(prefix), limit=self._limit("limit", limit)
        )
        return page.keys

    async def keys(self) -> list[str]:
        """Every key, in order."""
        return await self.list_keys()

    async def append(self, key: str, *items: Any, id: str | None = None) -> int:
        """Append ``items`` to the list at ``key``; return its length."""
        op = self._append_op(key, items, id)
        result: AppendResult = await self.store.append(self.namespace, op.key, op.raws, id=op.id)
        return result.length

    async def get_list(self, key: str, last: int | None = None) -> list[Any]:
        """Return the list at ``key`` (``[]`` if missing), or its last ``last`` items."""
        record = await self.store.get_list(
            self.namespace, validate_key(key), self._limit("last", last)
        )
        return [] if record is None else list(decode(record.raw))

    async def update(
        self, key: str, fn: Callable[[Any], Any | Awaitable[Any]], default: Any = None
    ) -> Any:
        """Atomically replace the value at ``key`` with ``fn(old)`` (sync or async fn)."""
        self._check_fn(fn)
        key = validate_key(key)
        for attempt in range(UPDATE_ATTEMPTS):
            record = await self.store.get(self.namespace, key)
            new = fn(self._value(record, default))
            if hasattr(new, "__await__"):
                new = await new
            op = self._set_op(key, new, None, 0 if record is None else record.version)
            try:
                await self.store.set(self.namespace, key, op.raw, if_version=op.if_version)
                return new
            except ConflictError:
                import asyncio

                await asyncio.sleep(_backoff(attempt))
        raise ConflictError(
            f"update of {key!r} lost the race {UPDATE_ATTEMPTS} times in a row", key=key
        )

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
        """Run low-level operations in one transaction."""
        return await self.store.batch(self.namespace, list(ops))

    # -- the change feed (see Memory.watch) ------------------------------------------

    async def last_seq(self) -> int:
        """Return the seq of this namespace's newest change (0: none yet)."""
        feed: AsyncFeed = self._feed(AsyncFeed)
        return await feed.last_seq(self.namespace)

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
        deadline = self._deadline(timeout)
        faults = 0
        while True:
            wait = self._slice(deadline)
            try:
                page = await feed.changes(self.namespace, since=since, prefix=prefix, wait=wait)
            except UnavailableError:
                import asyncio

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
        record = await self.store.get(self.namespace, key)
        if record is None:
            return _MISSING
        value = decode(record.raw)
        return value if until is None or until(value) else _MISSING

    async def aclose(self) -> None:
        """Close the store this memory opened (not one passed as ``store=``)."""
        if self._owns_store:
            await self.store.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
