"""The embedded store: one SQLite file, safe for many threads and processes.

Discipline borrowed from diskcache: one connection per thread, reopened after a
fork; autocommit connections with explicit ``BEGIN IMMEDIATE`` for multi-statement
writes; WAL journal; "database is locked" retried within a deadline.

Lists are stored one row per item (``list_items``) so an append costs the same at
the 10,000th item as at the first. A list written whole with ``set`` stays one
JSON text until its first ``append``, which splits it into rows once.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from botwire._backoff import backoff
from botwire._errors import BotWireError, ServerError, UnavailableError, ValidationError
from botwire._feedhub import FeedHubs, drive, wait_plan
from botwire._notify import FileNotifier
from botwire._plans import (
    FEED_PAGE,
    Plan,
    append_plan,
    batch_plan,
    changes_plan,
    checked_plan,
    count_writes_plan,
    delete_plan,
    feed_retention_settings,
    get_plan,
    is_read_only,
    last_seq_plan,
    list_keys_plan,
    namespaces_plan,
    purge_plan,
    set_plan,
    usage_plan,
    writes_on_plan,
)
from botwire._sqlite_sql import DIALECT as _D
from botwire._sqlite_sql import MIGRATIONS, SCHEMA_VERSION, SET_VALUE_SQL
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

__all__ = ["SQLiteStore"]

T = TypeVar("T")

# Connection settings. WAL lets readers run beside one writer and makes a commit
# one sequential write; synchronous=NORMAL keeps every committed write through a
# process crash (power loss may drop the last commits); FULL also survives that.
# The most one statement waits inside the driver for another process's lock; the
# retry loop (SQLiteStore._retry) waits the rest, so that lock_timeout bounds the
# whole wait of an operation and not each attempt's. Short, so an operation that
# first meets the lock in a fast path loses at most this much of its budget.
_ATTEMPT_WAIT = 0.1
# Every write commits two b-tree pages or more (its entry and its change-feed record),
# so SQLite's default checkpoint every 1000 WAL pages would copy the WAL back (and
# sync the file) every few hundred writes: one every WAL_AUTOCHECKPOINT pages
# (40 MB of WAL at 4 KiB pages) costs a fraction. The WAL file keeps that size.
WAL_AUTOCHECKPOINT = 10_000
_PRAGMAS = {
    "busy_timeout": int(_ATTEMPT_WAIT * 1000),  # first: journal_mode may wait for a lock
    "journal_mode": "wal",
    "synchronous": "NORMAL",
    "foreign_keys": "OFF",
    "temp_store": "MEMORY",
    "wal_autocheckpoint": WAL_AUTOCHECKPOINT,
}


class _Connection(sqlite3.Connection):
    """A connection that hands back the version a statement wrote (see ``_sqlite_sql``)."""

    new_version = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.create_function("botwire_new_version", 1, self._saw_version)
        self.set_cursor = self.cursor()  # reused: a new cursor per set costs ~1 us

    def _saw_version(self, version: int) -> int:
        self.new_version = version
        return version

    def written(self, sql: str, params: Mapping[str, Any]) -> int | None:
        """Run a "written" statement; the version it wrote, or ``None`` if no row changed."""
        self.new_version = 1  # an insert does not call botwire_new_version()
        cursor = self.set_cursor
        cursor.execute(sql, params)
        return self.new_version if cursor.rowcount == 1 else None


_process = [os.getpid()]
"""This process's id, kept current after a fork: connections are never shared across one."""
if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=lambda: _process.__setitem__(0, os.getpid()))

CHECKPOINT_INTERVAL = 0.5  # seconds between background WAL checkpoints
_PURGE_EVERY = 1000  # writes between sweeps of expired keys
_write_result = tuple.__new__  # WriteResult((version, size)) minus a Python-level call


def _statements(script: str) -> Iterator[str]:
    """Split a SQL script into statements (triggers keep their inner semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""


class SQLiteStore:
    """A :class:`~botwire.Store` in one SQLite file.

    Example:
        >>> store = SQLiteStore("/tmp/agent-memory.db")
        >>> from botwire import Memory
        >>> memory = Memory("notes", store=store)

    Args:
        path: the database file; its folder is created if missing.
        synchronous: ``"NORMAL"`` (default; durable through process crashes) or
            ``"FULL"`` (also through power loss, slower writes).
        lock_timeout: the most one operation waits, in all, while another process
            holds the lock (within ~0.1 s); then it raises ``UnavailableError``.
        background_checkpoint: move WAL checkpoints off the write path: writes never
            copy the WAL back into the database themselves; a daemon thread does it
            every ``CHECKPOINT_INTERVAL`` seconds. The server uses it, so one
            request's checkpoint does not stall every request in flight.
        clock: the time in Unix seconds, for timestamps and TTLs (default
            ``time.time``); tests pass a fake one to expire keys without sleeping.
            The change feed uses it too: whether a deleted key had expired (kind
            ``"expire"``, else ``"delete"``) and each change's time for retention.
        feed_retention: seconds a change stays in the change feed (default
            ``$BOTWIRE_FEED_RETENTION``, else 86400: one day).
        feed_max_changes: changes the feed keeps per namespace (default
            ``$BOTWIRE_FEED_MAX_CHANGES``, else 100000). Trimming runs with the
            sweep of expired keys (every 1000 writes, or :meth:`purge_expired`).
    """

    kind = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        lock_timeout: float = 60.0,
        background_checkpoint: bool = False,
        clock: Callable[[], float] = time.time,
        feed_retention: float | None = None,
        feed_max_changes: int | None = None,
    ) -> None:
        self._clock = clock
        self.feed_retention, self.feed_max_changes = feed_retention_settings(
            feed_retention, feed_max_changes
        )
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValidationError(
                f"synchronous must be NORMAL or FULL (or OFF, EXTRA), not {synchronous!r}"
            )
        self.path = Path(path).expanduser().resolve()
        self._pragmas: dict[str, object] = dict(_PRAGMAS, synchronous=synchronous.upper())
        if background_checkpoint:
            self._pragmas["wal_autocheckpoint"] = 0
        # The driver's own wait per attempt; lock_timeout bounds the sum (see _retry).
        self._attempt_wait = min(_ATTEMPT_WAIT, max(lock_timeout, 0.0))
        self._pragmas["busy_timeout"] = int(self._attempt_wait * 1000)
        self._lock_timeout = lock_timeout
        self._local = threading.local()
        self._writes = itertools.count(1)  # writes so far, to purge every _PURGE_EVERY
        self._all: list[_Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._notifier = FileNotifier(self._open_watcher)
        self.feed_hub = FeedHubs()
        """The shared reader of each namespace's feed (``botwire._feedhub``)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UnavailableError(
                f"cannot create the folder for the SQLite file {self.path}: {exc}"
            ) from exc
        self._conn()  # open now, so a bad path fails here and not at first use
        if background_checkpoint:
            threading.Thread(
                target=self._checkpoint_forever, name="botwire-checkpoint", daemon=True
            ).start()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- connections -------------------------------------------------------------

    def _conn(self) -> _Connection:
        local = self._local
        conn: _Connection | None = getattr(local, "conn", None)
        if conn is not None and local.pid == _process[0]:
            return conn
        if self._closed:
            raise ValidationError("this store is closed; create a new one")
        conn = self._open()
        local.conn, local.pid = conn, _process[0]
        return conn

    def _open(self) -> _Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self._attempt_wait,
                factory=_Connection,
            )
        except sqlite3.Error as exc:
            raise UnavailableError(f"cannot open the SQLite file {self.path}: {exc}") from exc
        # The feed's delete trigger (migration 6) reads the time from botwire_now():
        # this store's clock, as its TTLs. Every connection that can delete a key is
        # opened here (the feed's polling connection only reads a pragma); a plain
        # sqlite3 connection without it cannot delete from ``entries``.
        conn.create_function("botwire_now", 0, self._clock)
        try:
            for name, value in self._pragmas.items():
                statement = f"PRAGMA {name} = {value}"
                self._retry(lambda: conn.execute(statement), conn)  # noqa: B023 (called at once)
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        (current,) = conn.execute("PRAGMA user_version").fetchone()
        if current >= SCHEMA_VERSION:
            if current > SCHEMA_VERSION:
                raise ServerError(
                    f"{self.path} was written by a newer BotWire (schema {current}, this "
                    f"one knows {SCHEMA_VERSION}); upgrade botwire"
                )
            return

        def run() -> None:
            with self._transaction(conn):
                (now,) = conn.execute("PRAGMA user_version").fetchone()
                for version in range(now + 1, SCHEMA_VERSION + 1):
                    for statement in _statements(MIGRATIONS[version]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version}")

        self._retry(run, conn)

    def _checkpoint_forever(self) -> None:
        """Copy the WAL into the database now and then, beside the writers."""
        while not self._closed:
            time.sleep(CHECKPOINT_INTERVAL)
            try:
                if not self._closed:
                    self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except (sqlite3.Error, BotWireError):
                pass  # a busy or closing database: the next round tries again

    def _open_watcher(self) -> sqlite3.Connection:
        """A plain connection for the feed's polling thread (it only reads a pragma)."""
        return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)

    def close(self) -> None:
        """Close every connection this store opened, in every thread."""
        self._closed = True
        self._notifier.close()
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    # -- helpers -----------------------------------------------------------------

    def _retry(self, fn: Callable[[], T], conn: sqlite3.Connection | None = None) -> T:
        """Run ``fn``, retrying while SQLite reports the file locked or busy.

        The whole wait is bounded by ``lock_timeout`` (plus one attempt's driver
        wait, at most ``_ATTEMPT_WAIT``): each attempt waits in the driver at most
        ``_ATTEMPT_WAIT`` (the connection's ``busy_timeout``), lowered for the last
        attempt to what is left, and the pauses between attempts never pass the
        deadline. The first attempt costs nothing extra: no clock read, no pragma.
        ``conn`` is the connection ``fn`` uses (default: this thread's).
        """
        try:
            return fn()
        except sqlite3.Error as exc:
            self._raise_unless_locked(exc)
            last = exc
        # The first attempt may have spent its driver wait already: count it as spent.
        deadline = time.monotonic() + self._lock_timeout - self._attempt_wait
        if conn is None:
            conn = self._conn()
        attempt = 0
        lowered = False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UnavailableError(
                        f"{self.path} stayed locked by another writer for "
                        f"{self._lock_timeout:g} s; is a process stuck holding it?"
                    ) from last
                time.sleep(min(left, backoff(attempt, 0.002, 0.1)))  # full jitter
                attempt += 1
                left = deadline - time.monotonic()
                if left < self._attempt_wait:
                    conn.execute(f"PRAGMA busy_timeout = {max(0, int(left * 1000))}")
                    lowered = True
                try:
                    return fn()
                except sqlite3.Error as exc:
                    self._raise_unless_locked(exc)
                    last = exc
        finally:
            if lowered:
                with suppress(sqlite3.Error):  # closed meanwhile: nothing to restore
                    conn.execute(f"PRAGMA busy_timeout = {int(self._attempt_wait * 1000)}")

    def _raise_unless_locked(self, exc: sqlite3.Error) -> None:
        """Translate a driver error at the boundary, unless it is worth a retry."""
        message = str(exc)
        if isinstance(exc, sqlite3.OperationalError):
            if "locked" in message or "busy" in message:
                return
            raise UnavailableError(f"SQLite error on {self.path}: {message}") from exc
        raise ServerError(f"SQLite error on {self.path}: {message}") from exc

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection, write: bool = True) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _after_write(self) -> None:
        self._notifier.poke()
        if next(self._writes) % _PURGE_EVERY == 0:
            self.purge_expired()

    def backup(self, destination: str | os.PathLike[str]) -> Path:
        """Copy the whole database to ``destination`` while it stays in use.

        Uses SQLite's online backup in one step: in WAL mode it reads one consistent
        snapshot and writers carry on meanwhile. The copy is a plain SQLite file that
        ``SQLiteStore`` (or ``sqlite:///…``) opens as it is.

        Raises:
            ValidationError: ``destination`` is the database itself or already exists.
        """
        target = Path(destination).expanduser().resolve()
        if target == self.path:
            raise ValidationError("the backup destination is the database itself")
        if target.exists():
            raise ValidationError(f"{target} already exists; choose a new file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        copy = sqlite3.connect(target)
        try:
            self._retry(lambda: self._conn().backup(copy))
            copy.execute("PRAGMA journal_mode = wal")
        finally:
            copy.close()
        return target

    def purge_expired(self) -> int:
        """Delete expired keys and stale idempotency ids now; return keys deleted.

        Expired keys are already invisible; this only reclaims their space. It runs
        by itself every few hundred writes.
        """
        retention, keep = self.feed_retention, self.feed_max_changes
        return self._write(lambda now: purge_plan(_D, now, retention, keep), counted=False)

    # -- running plans ---------------------------------------------------------------

    def _run(self, plan: Callable[[float], Plan[T]]) -> T:
        """Run ``plan`` in autocommit (one statement, or statements that need no lock)."""
        conn = self._conn()
        return self._retry(lambda: _drive(conn, plan(self._clock())))

    def _read(self, plan: Callable[[float], Plan[T]]) -> T:
        """Run ``plan`` in a read transaction: one snapshot for all its statements."""
        conn = self._conn()

        def run() -> T:
            with self._transaction(conn, write=False):
                return _drive(conn, plan(self._clock()))

        return self._retry(run)

    def _write(self, plan: Callable[[float], Plan[T]], *, counted: bool = True) -> T:
        """Run ``plan`` in a write transaction (``BEGIN IMMEDIATE``), committed on return."""
        conn = self._conn()

        def run() -> T:
            with self._transaction(conn):
                return _drive(conn, plan(self._clock()))

        result = self._retry(run)
        if counted:
            self._after_write()
        return result

    # -- the Store interface -----------------------------------------------------

    def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None``."""
        # The embedded fast path: one statement, unless the key holds a list.
        conn = self._conn()
        params = {"ns": namespace, "key": key, "now": self._clock(), "last": None}
        try:
            row = conn.execute(_D.get, params).fetchone()
        except sqlite3.Error as exc:
            self._raise_unless_locked(exc)
            row = self._retry(lambda: conn.execute(_D.get, params).fetchone())
        if row is None:
            return None
        if row[1]:  # a list: read entry and items in one snapshot
            return self._read(lambda now: get_plan(_D, namespace, key, now))
        return Record(key, row[0], row[2], row[3], row[4], row[5])

    def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """Return the list at ``key`` (its last ``last`` items if given)."""
        return self._read(lambda now: get_plan(_D, namespace, key, now, last, want_list=True))

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

        With an ``id``, the write and its id are committed together in one
        transaction, and an id seen before returns the first result again.
        """
        if ttl is None and if_version is None and id is None:
            # The embedded fast path, kept lean: one statement, no plan, no closures.
            local = self._local
            conn = getattr(local, "conn", None)
            if conn is None or local.pid != _process[0]:
                conn = self._conn()
            size = len(raw) if raw.isascii() else len(raw.encode("utf-8"))
            params = {"ns": namespace, "key": key, "raw": raw, "bytes": size, "now": self._clock()}
            try:
                version = conn.written(SET_VALUE_SQL, params)
            except sqlite3.Error as exc:
                self._raise_unless_locked(exc)  # locked: the general path below retries
            else:
                if version is not None:  # else the key holds a list: the general path
                    self._notifier.poke()
                    if next(self._writes) % _PURGE_EVERY == 0:
                        self.purge_expired()
                    return _write_result(WriteResult, (version, size))
        plan = lambda now: set_plan(_D, namespace, key, raw, ttl, if_version, now, id)  # noqa: E731
        if id is not None:
            return self._write(plan)
        result = self._run(plan)
        self._after_write()
        return result

    def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        result = self._run(lambda now: delete_plan(_D, namespace, key, now))
        self._after_write()
        return result

    def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """Append items to the list at ``key`` in one transaction."""
        return self._write(lambda now: append_plan(_D, namespace, key, raws, id, now))

    def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """Return live keys in order, ``limit`` at a time."""
        return self._run(lambda now: list_keys_plan(_D, namespace, prefix, limit, cursor, now))

    def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """Run ``ops`` in one transaction; a failing op rolls all of them back."""
        plan = lambda now: batch_plan(_D, namespace, ops, now)  # noqa: E731
        if is_read_only(ops):
            return self._read(plan)
        return self._write(plan)

    def batch_within(self, namespace: str, ops: Sequence[Op], max_bytes: int) -> list[OpResult]:
        """Run ``ops`` in one transaction unless ``namespace`` would then hold more
        than ``max_bytes`` stored bytes (see :class:`~botwire._store.SizeLimit`).

        Raises:
            QuotaExceededError: the batch would pass ``max_bytes``; nothing was written.
        """
        return self._write(lambda now: checked_plan(_D, namespace, ops, now, max_bytes))

    def usage(self, namespace: str) -> Usage:
        """Return ``namespace``'s live keys, their values' bytes and its stored bytes."""
        return self._run(lambda now: usage_plan(_D, namespace, now))

    def namespaces(self) -> list[str]:
        """Return every namespace that holds at least one live key, in order."""
        return self._run(lambda now: namespaces_plan(_D, now))

    # -- the change feed (the Feed capability, botwire._store.Feed) -----------------

    def last_seq(self, namespace: str) -> int:
        """Return the seq of ``namespace``'s newest change (0: none yet)."""
        return self._run(lambda _now: last_seq_plan(_D, namespace))

    def changes(
        self,
        namespace: str,
        *,
        since: int | None,
        prefix: str = "",
        limit: int = FEED_PAGE,
        wait: float = 0.0,
    ) -> ChangePage:
        """Return changes after ``since`` to keys under ``prefix``, in commit order.

        With ``wait``, block up to that many seconds for a first change if there is
        none yet (woken by a commit in any process, see ``botwire._notify``).

        Raises:
            ChangesExpiredError: changes after ``since`` are past the retention.
        """
        if wait <= 0:
            return self._read_changes(since, prefix, limit, namespace)
        hub = self.feed_hub(namespace)
        plan = wait_plan(hub, since, prefix, limit, wait)
        read = partial(self._read_changes, namespace=namespace)
        return drive(plan, hub, self._notifier.token, read, self._notifier.wait)

    def _read_changes(
        self, since: int | None, prefix: str, limit: int, namespace: str
    ) -> ChangePage:
        return self._read(partial(_changes, namespace, since, prefix, limit))

    def change_token(self) -> int:
        """A token to pass to :meth:`wait_change` (take it *before* reading the feed)."""
        return self._notifier.token()

    def wait_change(self, token: int, timeout: float) -> bool:
        """Block until some process committed to the file since ``token`` (or timeout)."""
        return self._notifier.wait(token, timeout)

    async def wait_change_async(self, token: int, timeout: float) -> bool:
        """:meth:`wait_change` for asyncio: awaits without holding a thread."""
        return await self._notifier.wait_async(token, timeout)

    # -- the WriteCounter capability (botwire._store.WriteCounter) ------------------

    def count_writes(
        self, namespace: str, writes: int, *, limit: int | None, day: int
    ) -> int | None:
        """Add ``writes`` to ``namespace``'s count of UTC day ``day``, unless past ``limit``.

        One statement, committed on return; atomic across threads and processes.

        Returns:
            The new count, or ``None`` if it would pass ``limit`` (nothing counted).
        """
        check_count(writes, limit, day)
        return self._run(lambda _now: count_writes_plan(_D, namespace, writes, limit, day))

    def writes_on(self, namespace: str, day: int) -> int:
        """Return the writes counted for ``namespace`` on UTC day ``day`` (0 if none)."""
        return self._run(lambda _now: writes_on_plan(_D, namespace, day))


def _changes(
    namespace: str, since: int | None, prefix: str, limit: int, _now: float
) -> Plan[ChangePage]:
    return changes_plan(_D, namespace, since, prefix, limit)


def _drive(conn: _Connection, plan: Plan[T]) -> T:
    """Execute ``plan``'s queries on ``conn`` in order; return its result.

    Every statement is stepped to its end (``fetchall``), so none is left running
    when its transaction commits.
    """
    try:
        query = next(plan)
        while True:
            answer: Any = None
            try:
                if query.each is not None:
                    conn.executemany(query.sql, query.each)
                elif query.fetch == "written":
                    answer = conn.written(query.sql, query.params or {})
                else:
                    cursor = conn.execute(query.sql, query.params or {})
                    rows = cursor.fetchall()
                    if query.fetch == "one":
                        answer = rows[0] if rows else None
                    elif query.fetch == "all":
                        answer = rows
                    elif query.fetch == "rowcount":
                        answer = cursor.rowcount
            except sqlite3.Error as exc:
                query = plan.throw(exc)  # the plan may expect it; else it propagates
                continue
            query = plan.send(answer)
    except StopIteration as stop:
        result: T = stop.value
        return result
