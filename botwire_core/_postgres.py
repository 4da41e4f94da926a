"""The PostgreSQL store: one database shared by many processes and servers.

Usage::

    from botwire import Memory, AsyncMemory

    memory = Memory("user-preferences", url="postgresql://bot:secret@db.internal/botwire")
    memory.append("chat", {"role": "user", "content": "hi"})

    # or directly, e.g. to share one connection pool between namespaces
    from botwire._postgres import PostgresStore

    store = PostgresStore("postgresql://bot@db.internal/botwire", max_size=20)
    notes = Memory("notes", store=store)

Needs the ``postgres`` extra (``pip install "botwire[postgres]"``: psycopg 3 and
psycopg_pool). The tables (``botwire_*``) are created on first start and migrated
when a newer BotWire starts; concurrent first starts are serialised by an advisory
lock. To keep them out of the ``public`` schema, choose one in the URL, e.g.
``postgresql://host/db?options=-csearch_path%3Dbotwire``.

The semantics are those of the embedded SQLite store, statement for statement:

* values are stored as ``TEXT``, so what you set is byte for byte what you get
  (JSON text never holds a raw NUL character, which ``TEXT`` cannot store);
* keys and namespaces are collated ``"C"``: listings are in code point order;
* a list is one row per item, so an append costs the same at any length; the
  appender locks the key's row (``SELECT … FOR UPDATE``), so concurrent appenders
  from any number of processes serialise per key and never lose an item;
* ``set(if_version=…)`` is a single conditional statement, the compare-and-set
  that ``update`` loops on;
* a batch is one transaction (read-only batches see one snapshot).

Sync and async stores share every SQL text and every decision: each operation is
written once as a *plan* in ``botwire._plans`` (with PostgreSQL's SQL from
``botwire._postgres_sql``), a generator that yields
queries and receives their rows. :class:`PostgresStore` runs plans on a psycopg
``ConnectionPool``, :class:`AsyncPostgresStore` on an ``AsyncConnectionPool``;
that, connection handling and the translation of driver errors are all this
module holds.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict

from botwire._backoff import backoff
from botwire._errors import BotWireError, ServerError, UnavailableError, ValidationError
from botwire._feedhub import FeedHubs, adrive, apoll, drive, poll, wait_plan
from botwire._notify import Notifier, wake
from botwire._open import redact
from botwire._plans import (
    FEED_PAGE,
    Plan,
    append_fast_plan,
    append_plan,
    batch_plan,
    changes_plan,
    checked_in_one,
    checked_plan,
    checked_set_plan,
    count_writes_plan,
    delete_plan,
    feed_retention_settings,
    get_plan,
    is_read_only,
    last_seq_plan,
    list_keys_plan,
    namespaces_plan,
    purge_plan,
    quota_error,
    set_plan,
    usage_plan,
    writes_on_plan,
)
from botwire._postgres_sql import DIALECT as _D
from botwire._postgres_sql import FEED_CHANNEL, migrate_plan
from botwire._store import check_count
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

__all__ = ["AsyncPostgresStore", "PostgresStore"]

T = TypeVar("T")

_PURGE_EVERY = 1000  # writes per store between sweeps of expired keys
_DEADLOCK_RETRIES = 8  # a batch locking keys in another order than a concurrent one


class _Base:
    """What both stores share: configuration, error translation, purge schedule."""

    kind = "postgres"

    def __init__(
        self,
        url: str | None,
        timeout: float,
        has_pool: bool,
        clock: Callable[[], float],
        feed_retention: float | None,
        feed_max_changes: int | None,
    ) -> None:
        self._clock = clock
        self.feed_retention, self.feed_max_changes = feed_retention_settings(
            feed_retention, feed_max_changes
        )
        if url is None and not has_pool:
            raise ValidationError("PostgresStore needs a postgresql:// URL or a pool")
        if url is not None and not isinstance(url, str):
            raise ValidationError(f"url must be a string, not {type(url).__name__}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ValidationError(f"timeout must be a positive number of seconds, not {timeout!r}")
        self.url = redact(url) if url is not None else "(the given pool)"
        self._timeout = float(timeout)
        self._secrets: list[str] = []
        self._conninfo = ""
        self._connect_kwargs: dict[str, Any] = {}
        if url is not None:
            self._conninfo, self._connect_kwargs = self._parse(url)
        self._closed = False
        self._writes = 0

    def _parse(self, url: str) -> tuple[str, dict[str, Any]]:
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            raise ValidationError(
                f"invalid PostgreSQL URL {self.url!r}; write postgresql://user@host:5432/dbname"
            ) from None
        password = str(params.get("password") or "")
        if len(password) >= 3:  # libpq never echoes it; scrub anyway, but not "a" or "x"
            self._secrets.append(password)
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in params:  # libpq waits forever by default
            kwargs["connect_timeout"] = max(1, round(self._timeout))
        if "application_name" not in params:
            kwargs["application_name"] = "botwire"
        return url, kwargs

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise ValidationError("this store is closed; create a new one")

    def _wrote(self) -> bool:
        """Count a write; True when it is time to purge expired keys."""
        self._writes += 1
        return self._writes % _PURGE_EVERY == 0

    def _scrub(self, text: str) -> str:
        text = " ".join(text.split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, exc: psycopg.Error) -> BotWireError:
        """Translate a driver error into BotWire's tree (the only place that does)."""
        refused = quota_error(_D, exc)  # a checked batch's save, raised at its COMMIT
        if refused is not None:
            return refused
        message = self._scrub(str(exc)) or type(exc).__name__
        if isinstance(exc, psycopg_pool.PoolTimeout):
            return UnavailableError(
                f"no PostgreSQL connection to {self.url} became free within "
                f"{self._timeout:g} s; the database is unreachable or every connection "
                f"is busy (raise max_size): {message}"
            )
        if isinstance(exc, psycopg_pool.PoolClosed):
            return ValidationError("this store is closed; create a new one")
        if isinstance(exc, psycopg.OperationalError):
            return UnavailableError(f"cannot use PostgreSQL at {self.url}: {message}")
        if isinstance(exc, psycopg.DataError):
            return ValidationError(f"PostgreSQL refused the data: {message}")
        return ServerError(f"PostgreSQL error at {self.url}: {message}")

    @staticmethod
    def _connection_lost(exc: psycopg.Error) -> bool:
        """True if ``exc`` says the connection died (not that a query failed)."""
        return (
            isinstance(exc, psycopg.OperationalError)
            and not isinstance(exc, psycopg_pool.PoolTimeout)
            and (
                exc.sqlstate is None
                or exc.sqlstate.startswith("08")
                or exc.sqlstate.startswith("57P")
            )
        )

    @classmethod
    def _retry_delay(cls, exc: psycopg.Error, attempt: int, idempotent: bool) -> float | None:
        """Seconds to wait before running a plan again, or None to give up.

        Deadlocks and serialization failures applied nothing: every plan runs again.
        A dead connection (the server restarted) is retried once for reads only, as
        a write may have been applied before the connection broke.
        """
        if exc.sqlstate is not None and exc.sqlstate.startswith("40"):
            if attempt <= _DEADLOCK_RETRIES:
                return backoff(attempt, 0.002, 0.002 * 2**_DEADLOCK_RETRIES)
            return None
        if idempotent and attempt == 1 and cls._connection_lost(exc):
            return 0.0
        return None


class PostgresStore(_Base):
    """A :class:`~botwire.Store` in a PostgreSQL database, on a connection pool.

    Example:
        >>> store = PostgresStore("postgresql://postgres@127.0.0.1:5432/test")
        >>> from botwire import Memory
        >>> memory = Memory("notes", store=store)

    Args:
        url: a libpq URL, ``postgresql://user:password@host:5432/dbname?…``.
        min_size: connections the pool keeps open.
        max_size: most connections the pool opens (concurrent operations).
        timeout: seconds to wait for a connection (and to connect).
        pool: an open ``psycopg_pool.ConnectionPool`` to use instead of ``url``
            (for example one a server shares); it is not closed by :meth:`close`.
        clock: the time in Unix seconds, for timestamps and TTLs (default
            ``time.time``); tests pass a fake one to expire keys without sleeping.
            The change feed uses it too: whether a deleted key had expired (kind
            ``"expire"``, else ``"delete"``) and each change's time for retention.
        feed_retention: seconds a change stays in the change feed (default
            ``$BOTWIRE_FEED_RETENTION``, else 86400: one day).
        feed_max_changes: changes the feed keeps per namespace (default
            ``$BOTWIRE_FEED_MAX_CHANGES``, else 100000). Trimming runs with the
            sweep of expired keys (every 1000 writes, or :meth:`purge_expired`).

    Raises:
        UnavailableError: the database cannot be reached.
        ValidationError: the URL or an argument is invalid.
        ServerError: the database refused to create or migrate the tables.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        pool: psycopg_pool.ConnectionPool[Any] | None = None,
        clock: Callable[[], float] = time.time,
        feed_retention: float | None = None,
        feed_max_changes: int | None = None,
    ) -> None:
        super().__init__(url, timeout, pool is not None, clock, feed_retention, feed_max_changes)
        _check_sizes(min_size, max_size)
        self._sizes = (min_size, max_size)
        self._owns_pool = pool is None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        if pool is None:
            self._migrate_direct()  # fails fast, with libpq's own reason
            pool = self._new_pool()
        self._pool: psycopg_pool.ConnectionPool[Any] = pool
        self.feed_hub = FeedHubs()
        """The shared reader of each namespace's feed (``botwire._feedhub``)."""
        self._feed_listener = _SyncListener(self._listen)
        if not self._owns_pool:
            self._run(lambda _now: migrate_plan(), transaction=True)

    def _new_pool(self) -> psycopg_pool.ConnectionPool[Any]:
        pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            self._conninfo,
            kwargs=self._connect_kwargs,
            min_size=self._sizes[0],
            max_size=self._sizes[1],
            timeout=self._timeout,
            name="botwire",
            open=False,
        )
        pool.open(wait=False)
        return pool

    def _migrate_direct(self) -> None:
        try:
            with psycopg.connect(self._conninfo, **self._connect_kwargs) as conn:
                with conn.transaction():
                    _drive(conn, migrate_plan())
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _ready(self) -> psycopg_pool.ConnectionPool[Any]:
        self._check_open()
        if self._pid != os.getpid() and self._owns_pool:
            # A forked child must not touch its parent's sockets: open its own pool.
            # (psycopg never closes an inherited connection in the child.)
            with self._lock:
                if self._pid != os.getpid():
                    self._pool = self._new_pool()
                    self._pid = os.getpid()
        return self._pool

    def _run(
        self,
        plan: Callable[[float], Plan[T]],
        *,
        transaction: bool = False,
        idempotent: bool = False,
        pipeline: bool = False,
    ) -> T:
        pool = self._ready()
        attempt = 0
        while True:
            try:
                with pool.connection() as conn:
                    if pipeline:
                        return _drive_pipelined(conn, plan(self._clock()))
                    if transaction:
                        with conn.transaction():
                            return _drive(conn, plan(self._clock()))
                    return _drive(conn, plan(self._clock()))
            except psycopg.Error as exc:
                attempt += 1
                if self._connection_lost(exc):
                    pool.check()  # replace every dead connection, not just this one
                delay = self._retry_delay(exc, attempt, idempotent)
                if delay is None:
                    raise self._error(exc) from exc
                time.sleep(delay)

    def _write(
        self, plan: Callable[[float], Plan[T]], *, transaction: bool = False, pipeline: bool = False
    ) -> T:
        result = self._run(plan, transaction=transaction, pipeline=pipeline)
        self._count_write()
        return result

    def _count_write(self) -> None:
        if self._wrote():
            self.purge_expired()

    def close(self) -> None:
        """Close the connection pool (unless it was passed in)."""
        if self._closed:
            return
        self._closed = True
        self._feed_listener.close(join=1.0)
        if self._owns_pool and self._pid == os.getpid():
            self._pool.close()

    def purge_expired(self) -> int:
        """Delete expired keys and stale idempotency ids now; return keys deleted.

        Expired keys are already invisible; this only reclaims their space. It runs
        by itself every thousand writes.
        """
        return self._run(
            lambda now: purge_plan(_D, now, self.feed_retention, self.feed_max_changes)
        )

    # -- the Store interface --------------------------------------------------------

    def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None`` (one statement, one snapshot)."""
        return self._run(lambda now: get_plan(_D, namespace, key, now), idempotent=True)

    def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """Return the list at ``key`` (its last ``last`` items if given)."""
        return self._run(
            lambda now: get_plan(_D, namespace, key, now, last, want_list=True), idempotent=True
        )

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
        """Store ``raw`` under ``key`` (one statement, committed on return).

        With an ``id``, the write and its id commit together (one transaction) and
        an id seen before returns the first result again.
        """
        return self._write(
            lambda now: set_plan(_D, namespace, key, raw, ttl, if_version, now, id),
            transaction=id is not None,
        )

    def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        return self._write(lambda now: delete_plan(_D, namespace, key, now))

    def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """Append items to the list at ``key`` (one statement if it is a stored list)."""
        result = self._run(lambda now: append_fast_plan(_D, namespace, key, raws, id, now))
        if result is not None:
            self._count_write()
            return result
        return self._write(
            lambda now: append_plan(_D, namespace, key, raws, id, now), transaction=True
        )

    def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """Return live keys in code point order, ``limit`` at a time."""
        return self._run(
            lambda now: list_keys_plan(_D, namespace, prefix, limit, cursor, now), idempotent=True
        )

    def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """Run ``ops`` in one transaction; a failing op rolls all of them back."""
        plan = lambda now: batch_plan(_D, namespace, ops, now)  # noqa: E731
        if is_read_only(ops):
            return self._run(plan, transaction=True, idempotent=True)
        # Pipelined: a statement whose answer the plan does not read goes with the next
        # (BEGIN with the first, the last writes with the COMMIT): fewer round trips.
        return self._write(plan, pipeline=True)

    def batch_within(self, namespace: str, ops: Sequence[Op], max_bytes: int) -> list[OpResult]:
        """Run ``ops`` in one transaction unless ``namespace`` would then hold more
        than ``max_bytes`` stored bytes (see :class:`~botwire._store.SizeLimit`).

        Raises:
            QuotaExceededError: the batch would pass ``max_bytes``; nothing was written.
        """
        if checked_in_one(_D, ops):  # one autocommit statement
            return self._write(lambda now: checked_set_plan(_D, namespace, ops, now, max_bytes))
        # Pipelined: BEGIN goes with the check's start, the save with the COMMIT.
        return self._write(
            lambda now: checked_plan(_D, namespace, ops, now, max_bytes), pipeline=True
        )

    def usage(self, namespace: str) -> Usage:
        """Return ``namespace``'s live keys, their values' bytes and its stored bytes."""
        return self._run(lambda now: usage_plan(_D, namespace, now), idempotent=True)

    def namespaces(self) -> list[str]:
        """Return every namespace that holds at least one live key, in order."""
        return self._run(lambda now: namespaces_plan(_D, now), idempotent=True)

    # -- the change feed (botwire._store.Feed) -------------------------------------

    def last_seq(self, namespace: str) -> int:
        """Return the seq of ``namespace``'s newest change (0: none yet)."""
        return self._run(lambda _now: last_seq_plan(_D, namespace), idempotent=True)

    def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage:
        r"""Return changes after ``since`` to keys under ``prefix``, in commit order.

        With ``wait``, wait up to that many seconds for a first change: woken by the
        store's one connection that ``LISTEN``\ s for the commits' notifications
        (shared by every waiting call; or, with a pool passed in, reading again
        every 50 ms). Waiting calls of a namespace share its feed buffer
        (``botwire._feedhub``): one read per wake-up, whatever their number.
        """

        def read(after: int | None, prefix: str, limit: int) -> ChangePage:
            return self._run(
                lambda _now: changes_plan(_D, namespace, after, prefix, limit), idempotent=True
            )

        if wait <= 0:
            return read(since, prefix, limit)
        if not self._conninfo:  # a pool passed in: no URL to LISTEN on
            return poll(read, since, prefix, limit, wait)
        hub = self.feed_hub(namespace)
        plan = wait_plan(hub, since, prefix, limit, wait)
        return drive(plan, hub, self._feed_token, read, self._feed_listener.wait)

    def _feed_token(self) -> int:
        self._check_open()
        try:
            return self._feed_listener.token()
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _listen(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._conninfo, **self._connect_kwargs)
        try:
            conn.execute(f"LISTEN {FEED_CHANNEL}")
        except BaseException:
            conn.close()
            raise
        return conn

    # -- the WriteCounter capability (botwire._store.WriteCounter) --------------------

    def count_writes(
        self, namespace: str, writes: int, *, limit: int | None, day: int
    ) -> int | None:
        """Add ``writes`` to ``namespace``'s count of UTC day ``day``, unless past ``limit``.

        One statement, committed on return; atomic across every process on the database.

        Returns:
            The new count, or ``None`` if it would pass ``limit`` (nothing counted).
        """
        check_count(writes, limit, day)
        return self._run(lambda _now: count_writes_plan(_D, namespace, writes, limit, day))

    def writes_on(self, namespace: str, day: int) -> int:
        """Return the writes counted for ``namespace`` on UTC day ``day`` (0 if none)."""
        return self._run(lambda _now: writes_on_plan(_D, namespace, day), idempotent=True)


class AsyncPostgresStore(_Base):
    """An :class:`~botwire.AsyncStore` in PostgreSQL, on an asyncio connection pool.

    The twin of :class:`PostgresStore`: same SQL, same results. The pool opens
    (and the tables are created) on first use, inside the running event loop.

    Example:
        >>> store = AsyncPostgresStore("postgresql://postgres@127.0.0.1:5432/test")
        >>> from botwire import AsyncMemory
        >>> memory = AsyncMemory("notes", store=store)

    Args:
        url: a libpq URL, ``postgresql://user:password@host:5432/dbname?…``.
        min_size: connections the pool keeps open.
        max_size: most connections the pool opens (concurrent operations).
        timeout: seconds to wait for a connection (and to connect).
        pool: a ``psycopg_pool.AsyncConnectionPool`` to use instead of ``url``
            (opened here if needed); it is not closed by :meth:`aclose`.
        clock: the time in Unix seconds, for timestamps and TTLs (default
            ``time.time``), and for the change feed's deletes, as in
            :class:`PostgresStore`.
        feed_retention: seconds a change stays in the change feed (default
            ``$BOTWIRE_FEED_RETENTION``, else 86400).
        feed_max_changes: changes the feed keeps per namespace (default
            ``$BOTWIRE_FEED_MAX_CHANGES``, else 100000).

    Raises:
        ValidationError: the URL or an argument is invalid.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        pool: psycopg_pool.AsyncConnectionPool[Any] | None = None,
        clock: Callable[[], float] = time.time,
        feed_retention: float | None = None,
        feed_max_changes: int | None = None,
    ) -> None:
        super().__init__(url, timeout, pool is not None, clock, feed_retention, feed_max_changes)
        _check_sizes(min_size, max_size)
        self._owns_pool = pool is None
        if pool is None:
            pool = psycopg_pool.AsyncConnectionPool(
                self._conninfo,
                kwargs=self._connect_kwargs,
                min_size=min_size,
                max_size=max_size,
                timeout=self._timeout,
                name="botwire",
                open=False,
            )
        self._pool: psycopg_pool.AsyncConnectionPool[Any] = pool
        self._started = False
        self._start_lock = asyncio.Lock()
        # Thousands of concurrent calls: at most one per pooled connection in flight,
        # the rest wait here in order, however long, instead of timing out in the
        # pool's queue after `timeout` seconds (PoolTimeout).
        self._in_flight = asyncio.Semaphore(pool.max_size)
        self._feed_listener: _Listener | None = None
        self.feed_hub = FeedHubs()
        """The shared reader of each namespace's feed (``botwire._feedhub``)."""

    async def _ready(self) -> psycopg_pool.AsyncConnectionPool[Any]:
        self._check_open()
        if not self._started:
            async with self._start_lock:
                if not self._started:
                    await self._start()
                    self._started = True
        return self._pool

    async def _start(self) -> None:
        if self._owns_pool:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, **self._connect_kwargs)
                async with conn:
                    async with conn.transaction():
                        await _adrive(conn, migrate_plan())
            except psycopg.Error as exc:
                raise self._error(exc) from exc
            await self._pool.open(wait=False)
        else:
            if self._pool.closed:
                await self._pool.open(wait=False)
            await self._run_on(self._pool, lambda _now: migrate_plan(), True, False)

    async def _run(
        self,
        plan: Callable[[float], Plan[T]],
        *,
        transaction: bool = False,
        idempotent: bool = False,
        pipeline: bool = False,
    ) -> T:
        pool = await self._ready()
        async with self._in_flight:
            return await self._run_on(pool, plan, transaction, idempotent, pipeline)

    async def _run_on(
        self,
        pool: psycopg_pool.AsyncConnectionPool[Any],
        plan: Callable[[float], Plan[T]],
        transaction: bool,
        idempotent: bool,
        pipeline: bool = False,
    ) -> T:
        attempt = 0
        while True:
            try:
                async with pool.connection() as conn:
                    if pipeline:
                        return await _adrive_pipelined(conn, plan(self._clock()))
                    if transaction:
                        async with conn.transaction():
                            return await _adrive(conn, plan(self._clock()))
                    return await _adrive(conn, plan(self._clock()))
            except psycopg.Error as exc:
                attempt += 1
                if self._connection_lost(exc):
                    await pool.check()  # replace every dead connection, not just this one
                delay = self._retry_delay(exc, attempt, idempotent)
                if delay is None:
                    raise self._error(exc) from exc
                await asyncio.sleep(delay)

    async def _write(
        self, plan: Callable[[float], Plan[T]], *, transaction: bool = False, pipeline: bool = False
    ) -> T:
        result = await self._run(plan, transaction=transaction, pipeline=pipeline)
        await self._count_write()
        return result

    async def _count_write(self) -> None:
        if self._wrote():
            await self.purge_expired()

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in)."""
        if self._feed_listener is not None:
            await self._feed_listener.close()
        if self._closed:
            return
        self._closed = True
        if self._owns_pool:
            await self._pool.close()

    async def purge_expired(self) -> int:
        """Delete expired keys and stale idempotency ids now; return keys deleted."""
        return await self._run(
            lambda now: purge_plan(_D, now, self.feed_retention, self.feed_max_changes)
        )

    # -- the AsyncStore interface ----------------------------------------------------

    async def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None``."""
        return await self._run(lambda now: get_plan(_D, namespace, key, now), idempotent=True)

    async def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """Return the list at ``key`` (its last ``last`` items if given)."""
        return await self._run(
            lambda now: get_plan(_D, namespace, key, now, last, want_list=True), idempotent=True
        )

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
        """Store ``raw`` under ``key`` (once per ``id``, if given)."""
        return await self._write(
            lambda now: set_plan(_D, namespace, key, raw, ttl, if_version, now, id),
            transaction=id is not None,
        )

    async def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        return await self._write(lambda now: delete_plan(_D, namespace, key, now))

    async def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """Append items to the list at ``key`` (one statement if it is a stored list)."""
        result = await self._run(lambda now: append_fast_plan(_D, namespace, key, raws, id, now))
        if result is not None:
            await self._count_write()
            return result
        return await self._write(
            lambda now: append_plan(_D, namespace, key, raws, id, now), transaction=True
        )

    async def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """Return live keys in code point order, ``limit`` at a time."""
        return await self._run(
            lambda now: list_keys_plan(_D, namespace, prefix, limit, cursor, now), idempotent=True
        )

    async def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """Run ``ops`` in one transaction; a failing op rolls all of them back."""
        plan = lambda now: batch_plan(_D, namespace, ops, now)  # noqa: E731
        if is_read_only(ops):
            return await self._run(plan, transaction=True, idempotent=True)
        # Pipelined, as in PostgresStore.batch.
        return await self._write(plan, pipeline=True)

    async def batch_within(
        self, namespace: str, ops: Sequence[Op], max_bytes: int
    ) -> list[OpResult]:
        """Run ``ops`` within ``max_bytes`` (see :meth:`PostgresStore.batch_within`)."""
        if checked_in_one(_D, ops):  # one autocommit statement
            return await self._write(
                lambda now: checked_set_plan(_D, namespace, ops, now, max_bytes)
            )
        return await self._write(
            lambda now: checked_plan(_D, namespace, ops, now, max_bytes), pipeline=True
        )

    async def usage(self, namespace: str) -> Usage:
        """Return ``namespace``'s live keys, their values' bytes and its stored bytes."""
        return await self._run(lambda now: usage_plan(_D, namespace, now), idempotent=True)

    async def namespaces(self) -> list[str]:
        """Return every namespace that holds at least one live key, in order."""
        return await self._run(lambda now: namespaces_plan(_D, now), idempotent=True)

    # -- the change feed (botwire._store.AsyncFeed) ---------------------------------

    async def last_seq(self, namespace: str) -> int:
        """Return the seq of ``namespace``'s newest change (0: none yet)."""
        return await self._run(lambda _now: last_seq_plan(_D, namespace), idempotent=True)

    async def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage:
        """Return changes after ``since`` (see :meth:`PostgresStore.changes`)."""

        async def read(after: int | None, prefix: str, limit: int) -> ChangePage:
            return await self._run(
                lambda _now: changes_plan(_D, namespace, after, prefix, limit), idempotent=True
            )

        if wait <= 0:
            return await read(since, prefix, limit)
        if not self._conninfo:  # a pool passed in: no URL to LISTEN on
            return await apoll(read, since, prefix, limit, wait)
        listener = await self._listener()
        hub = self.feed_hub(namespace)
        plan = wait_plan(hub, since, prefix, limit, wait)
        return await adrive(plan, hub, lambda: listener.generation, read, listener.wait)

    async def _listener(self) -> _Listener:
        """The store's one ``LISTEN`` connection, shared by every waiting watch."""
        if self._feed_listener is None:
            self._feed_listener = _Listener(self._conninfo, self._connect_kwargs)
        try:
            await self._feed_listener.start()
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        return self._feed_listener

    # -- the AsyncWriteCounter capability (botwire._store.AsyncWriteCounter) -----------

    async def count_writes(
        self, namespace: str, writes: int, *, limit: int | None, day: int
    ) -> int | None:
        """Add ``writes`` to ``namespace``'s count of UTC day ``day``, unless past ``limit``.

        Returns:
            The new count, or ``None`` if it would pass ``limit`` (nothing counted).
        """
        check_count(writes, limit, day)
        return await self._run(lambda _now: count_writes_plan(_D, namespace, writes, limit, day))

    async def writes_on(self, namespace: str, day: int) -> int:
        """Return the writes counted for ``namespace`` on UTC day ``day`` (0 if none)."""
        return await self._run(lambda _now: writes_on_plan(_D, namespace, day), idempotent=True)


_LISTEN_ROUND = 0.1  # seconds between a sync listener's checks that it is still wanted


class _SyncListener(Notifier):
    """The ``LISTEN`` connection of a :class:`PostgresStore`, in a daemon thread:
    one for every waiting call (and task), opened by the first, closed with the
    store or after :data:`~botwire._notify.LINGER` s without waiters."""

    name = "botwire-feed-listen"

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        super().__init__()
        self._connect = connect

    def _open(self) -> psycopg.Connection[Any]:
        return self._connect()

    def _run(self, conn: psycopg.Connection[Any]) -> None:
        try:
            with conn:
                while not self._done():
                    for _ in conn.notifies(timeout=_LISTEN_ROUND):
                        self._bump()
        except psycopg.Error:  # the connection dropped: waiters read again, next use reopens
            self._ended()


class _Listener:
    """One ``LISTEN`` connection that wakes every waiting watch of an async store.

    Each notification (a commit that wrote) bumps :attr:`generation`; a watch takes
    the generation before it reads the feed and, if it found nothing, waits for the
    generation to move. If the connection drops, waiters wake (and read again) and
    the next wait reconnects.
    """

    def __init__(self, conninfo: str, kwargs: dict[str, Any]) -> None:
        self._conninfo, self._kwargs = conninfo, kwargs
        self.generation = 0
        self._waiters: set[asyncio.Future[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            if self._task is None or self._task.done():
                conn = await psycopg.AsyncConnection.connect(self._conninfo, **self._kwargs)
                await conn.execute(f"LISTEN {FEED_CHANNEL}")
                self._task = asyncio.ensure_future(self._listen(conn))
                self._wake()  # commits while nobody listened went unnoticed: stale buffers

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            async with conn:
                async for _ in conn.notifies():
                    self._wake()
        except psycopg.Error:
            pass  # the connection dropped: waiters read again; the next wait reconnects
        finally:
            self._wake()

    def _wake(self) -> None:
        self.generation += 1
        for future in self._waiters:
            if not future.done():
                future.set_result(None)

    async def wait(self, token: int, timeout: float) -> None:
        if self.generation != token:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.add(future)
        timer = loop.call_later(timeout, wake, future)  # cheaper than asyncio.wait_for
        try:
            await future
        finally:
            timer.cancel()
            self._waiters.discard(future)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, psycopg.Error):
                pass


def _check_sizes(min_size: int, max_size: int) -> None:
    for name, value in (("min_size", min_size), ("max_size", max_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValidationError(f"{name} must be a whole number >= 0, not {value!r}")
    if max_size < max(min_size, 1):
        raise ValidationError(
            f"max_size ({max_size}) must be at least min_size ({min_size}) and at least 1"
        )


# -- runners: the only code that differs between sync and async --------------------


def _drive(conn: psycopg.Connection[Any], plan: Plan[T]) -> T:
    """Execute ``plan``'s queries on ``conn`` in order; return its result."""
    try:
        query = next(plan)
        while True:
            try:
                cursor = conn.cursor()
                if query.each is not None:
                    cursor.executemany(query.sql, query.each)
                else:
                    cursor.execute(query.sql, query.params)
            except psycopg.Error as exc:
                query = plan.throw(exc)  # the plan may expect it; else it propagates
                continue
            fetch = query.fetch
            answer: Any = None
            if fetch == "one" or fetch == "written":
                answer = cursor.fetchone()
                if fetch == "written" and answer is not None:
                    answer = answer[0]
            elif fetch == "all":
                answer = cursor.fetchall()
            elif fetch == "rowcount":
                answer = cursor.rowcount
            query = plan.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result


def _drive_pipelined(conn: psycopg.Connection[Any], plan: Plan[T]) -> T:
    """Run ``plan`` in a transaction in pipeline mode: a query without an answer is
    sent with the next one (BEGIN with the first, the last ones with the COMMIT).

    A driver error may then reach the plan at a later query than the one that
    failed, or only here at the end: plans run this way expect none but deadlocks
    (retried whole) and the refusal of a checked write (``quota_error``).
    """
    try:
        with conn.pipeline():
            conn.execute("BEGIN")
            result = _drive(conn, plan)
            conn.execute("COMMIT")
        return result
    except BaseException:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        raise


async def _adrive_pipelined(conn: psycopg.AsyncConnection[Any], plan: Plan[T]) -> T:
    """The async twin of :func:`_drive_pipelined`."""
    try:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            result = await _adrive(conn, plan)
            await conn.execute("COMMIT")
        return result
    except BaseException:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            await conn.execute("ROLLBACK")
        raise


async def _adrive(conn: psycopg.AsyncConnection[Any], plan: Plan[T]) -> T:
    """The async twin of :func:`_drive`."""
    try:
        query = next(plan)
        while True:
            try:
                cursor = conn.cursor()
                if query.each is not None:
                    await cursor.executemany(query.sql, query.each)
                else:
                    await cursor.execute(query.sql, query.params)
            except psycopg.Error as exc:
                query = plan.throw(exc)  # the plan may expect it; else it propagates
                continue
            fetch = query.fetch
            answer: Any = None
            if fetch == "one" or fetch == "written":
                answer = await cursor.fetchone()
                if fetch == "written" and answer is not None:
                    answer = answer[0]
            elif fetch == "all":
                answer = await cursor.fetchall()
            elif fetch == "rowcount":
                answer = cursor.rowcount
            query = plan.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result
