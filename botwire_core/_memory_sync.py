# GENERATED from botwire_core/_memory_async.py by scripts/unasync.py: edit that file and run
# `python scripts/unasync.py`; `scripts/test` fails while this copy is stale.
"""``Memory``: generated from ``botwire._memory_async`` by ``scripts/unasync.py``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from botwire._codec import DEFAULT_MAX_VALUE_BYTES, decode, encode
from botwire._errors import ConflictError, UnavailableError
from botwire._memory_base import (
    _MISSING,
    _READ,
    UPDATE_ATTEMPTS,
    _backoff,
    _backoff_reconnect,
    _BaseMemory,
)
from botwire._open import open_store
from botwire._store import Feed, Store
from botwire._types import Change, DeleteOp, GetOp, Item, Op, OpResult
from botwire._validation import _validate_key, validate_key

__all__ = ["Memory"]


class Memory(_BaseMemory):
    """Durable key-value memory bound to one namespace.

    Example:
        >>> with Memory("user-preferences") as memory:
        ...     memory.set("user-42:response_style", "concise")
        ...     memory.get("user-42:response_style")
        1
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
        store: Store | None = None,
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
        base_url: str | None = None,
    ) -> None:
        url = self._legacy_url(url, base_url)
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
            raw = encode(value, max_bytes=self.max_value_bytes)
            return (self.store.set(self.namespace, key, raw)).version
        op = self._set_op(key, value, ttl, if_version)
        result = self.store.set(
            self.namespace, op.key, op.raw, ttl=op.ttl, if_version=op.if_version
        )
        return result.version

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
        page = self.store.list_keys(
            self.namespace, prefix=self._prefix(prefix), limit=self._limit("limit", limit)
        )
        return page.keys

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
        return (self.store.append(self.namespace, op.key, op.raws, id=op.id)).length

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
        if not ops:
            return 0
        return sum(1 for r in self.store.batch(self.namespace, ops) if r is True)

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
        return self._found(self.store.get(self.namespace, key), until)

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Close the store this memory opened (not one passed as ``store=``)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
