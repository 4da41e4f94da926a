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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from botwire._errors import (
    BotWireError,
    ConflictError,
    NotAListError,
    ServerError,
    UnavailableError,
    ValidationError,
)
from botwire._listing import decode_cursor, encode_cursor, prefix_upper_bound, split_list
from botwire._rules import decode, encoded_size
from botwire._store import check_count
from botwire._types import (
    AppendOp,
    AppendResult,
    DeleteOp,
    GetOp,
    KeyPage,
    Op,
    OpResult,
    Record,
    RestoreOp,
    SetOp,
    Usage,
    WriteResult,
)

__all__ = ["SQLiteStore"]

T = TypeVar("T")

SCHEMA_VERSION = 2

# Connection settings. WAL lets readers run beside one writer and makes a commit
# one sequential write; synchronous=NORMAL keeps every committed write through a
# process crash (power loss may drop the last commits); FULL also survives that.
_BUSY_TIMEOUT_MS = 5000  # the most the driver itself waits for a lock at a time
_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "NORMAL",
    "busy_timeout": _BUSY_TIMEOUT_MS,
    "foreign_keys": "OFF",
    "temp_store": "MEMORY",
}

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE entries (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        raw TEXT,                              -- JSON text; NULL while is_list = 1
        is_list INTEGER NOT NULL DEFAULT 0,    -- 1: items live in list_items
        length INTEGER NOT NULL DEFAULT 0,     -- number of items when is_list = 1
        bytes INTEGER NOT NULL,
        version INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        expires_at REAL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID;
    CREATE INDEX entries_expiry ON entries (expires_at) WHERE expires_at IS NOT NULL;
    CREATE TABLE list_items (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        raw TEXT NOT NULL,
        PRIMARY KEY (ns, key, seq)
    ) WITHOUT ROWID;
    -- Request idempotency ids (appends and sets): version and length (items after an
    -- append) or bytes (the stored size after a set) of the first result.
    CREATE TABLE append_ids (
        ns TEXT NOT NULL,
        key TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        length INTEGER NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (ns, key, id)
    ) WITHOUT ROWID;
    -- Items and idempotency ids follow their entry, whichever statement drops it.
    CREATE TRIGGER entries_list_dropped AFTER UPDATE OF is_list ON entries
        WHEN old.is_list = 1 AND new.is_list = 0
    BEGIN
        DELETE FROM list_items WHERE ns = old.ns AND key = old.key;
    END;
    CREATE TRIGGER entries_deleted AFTER DELETE ON entries
    BEGIN
        DELETE FROM list_items WHERE ns = old.ns AND key = old.key;
        DELETE FROM append_ids WHERE ns = old.ns AND key = old.key;
    END;
    """,
    2: """
    -- Writes per namespace on one UTC day (day = unix time // 86400), shared by every
    -- process on the file: the server's --writes-per-day quota. Deleting keys leaves
    -- it alone (a daily quota counts writes made, not data held).
    CREATE TABLE write_counts (
        ns TEXT PRIMARY KEY,
        day INTEGER NOT NULL,
        count INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
}

_LIVE = "(expires_at IS NULL OR expires_at > ?)"

# The new version of a plain set goes back through botwire_new_version() (a Python
# function registered on every connection, see _Connection) instead of RETURNING:
# in the sqlite3 module a RETURNING clause costs as much as the upsert itself.
_SET_SQL = f"""
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (?1, ?2, ?3, 0, 0, ?4, 1, ?5, ?5, ?6)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, is_list = 0, length = 0, bytes = excluded.bytes,
    version = botwire_new_version(CASE WHEN {_LIVE.replace("?", "?5")} THEN version + 1 ELSE 1 END),
    created_at = CASE WHEN {_LIVE.replace("?", "?5")} THEN created_at ELSE ?5 END,
    updated_at = ?5, expires_at = ?6
"""

# The same without a TTL, for a key that holds no list (or none yet): the list-cleanup
# trigger does not fire, and with a constant NULL expiry SQLite leaves the expiry
# index alone (together ~10% of a set); a list is left alone (no row changed) for
# _SET_SQL to replace.
_SET_VALUE_SQL = f"""
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (?1, ?2, ?3, 0, 0, ?4, 1, ?5, ?5, NULL)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, bytes = excluded.bytes,
    version = botwire_new_version(CASE WHEN {_LIVE.replace("?", "?5")} THEN version + 1 ELSE 1 END),
    created_at = CASE WHEN {_LIVE.replace("?", "?5")} THEN created_at ELSE ?5 END,
    updated_at = ?5, expires_at = NULL
WHERE is_list = 0
"""

# Conditional writes know their new version in advance (1, or the expected one + 1);
# the number of rows changed says whether the condition held.
_CREATE_ONLY_SQL = f"""
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (?1, ?2, ?3, 0, 0, ?4, 1, ?5, ?5, ?6)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, is_list = 0, length = 0, bytes = excluded.bytes, version = 1,
    created_at = ?5, updated_at = ?5, expires_at = ?6
WHERE NOT {_LIVE.replace("?", "?5")}
"""

_UPDATE_IF_SQL = f"""
UPDATE entries SET raw = ?3, is_list = 0, length = 0, bytes = ?4, version = version + 1,
    updated_at = ?5, expires_at = ?6
WHERE ns = ?1 AND key = ?2 AND version = ?7 AND {_LIVE.replace("?", "?5")}
"""

# Count writes unless the day's total would pass the limit (?4, NULL: none), in one
# autocommit statement: SQLite runs writers one at a time, so the check and the
# addition cannot interleave with another process's. A row of an earlier day starts
# again from 0; a count for an earlier day than the row's (a lagging clock at
# midnight) is added to the row's later day. Nothing matches: nothing is returned.
_COUNT_WRITES_SQL = """
INSERT INTO write_counts (ns, day, count) SELECT ?1, ?2, ?3 WHERE ?4 IS NULL OR ?3 <= ?4
ON CONFLICT (ns) DO UPDATE SET
    count = CASE WHEN day >= ?2 THEN count + ?3 ELSE ?3 END, day = max(day, ?2)
WHERE ?4 IS NULL OR CASE WHEN day >= ?2 THEN count + ?3 ELSE ?3 END <= ?4
RETURNING count
"""

_WRITES_ON_SQL = "SELECT count FROM write_counts WHERE ns = ? AND day = ?"


class _Connection(sqlite3.Connection):
    """A connection that hands back the version a plain set wrote (see ``_SET_SQL``)."""

    new_version = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.create_function("botwire_new_version", 1, self._saw_version)
        self.set_cursor = self.cursor()  # reused: a new cursor per set costs ~1 us

    def _saw_version(self, version: int) -> int:
        self.new_version = version
        return version

    def set_version(self, params: tuple[Any, ...]) -> int:
        """Run ``_SET_SQL`` with ``params``; return the version it wrote."""
        self.new_version = 1  # an insert does not call botwire_new_version()
        self.set_cursor.execute(_SET_SQL, params)
        return self.new_version

    def set_value(self, ns: str, key: str, raw: str, size: int, now: float) -> int | None:
        """Run ``_SET_VALUE_SQL`` (no TTL); the version written, or ``None`` on a list."""
        self.new_version = 1
        cursor = self.set_cursor
        cursor.execute(_SET_VALUE_SQL, (ns, key, raw, size, now))
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


def _list_raw(items: Sequence[str]) -> str:
    return "[" + ",".join(items) + "]"


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
        lock_timeout: seconds to keep retrying while another process holds the lock.
        background_checkpoint: move WAL checkpoints off the write path: writes never
            copy the WAL back into the database themselves; a daemon thread does it
            every ``CHECKPOINT_INTERVAL`` seconds. The server uses it, so one
            request's checkpoint does not stall every request in flight.
    """

    kind = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        lock_timeout: float = 60.0,
        background_checkpoint: bool = False,
    ) -> None:
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValidationError(
                f"synchronous must be NORMAL or FULL (or OFF, EXTRA), not {synchronous!r}"
            )
        self.path = Path(path).expanduser().resolve()
        self._pragmas: dict[str, object] = dict(_PRAGMAS, synchronous=synchronous.upper())
        if background_checkpoint:
            self._pragmas["wal_autocheckpoint"] = 0
        # The driver's own wait may not outlast the store's: lock_timeout bounds both.
        self._pragmas["busy_timeout"] = int(min(_BUSY_TIMEOUT_MS, lock_timeout * 1000))
        self._lock_timeout = lock_timeout
        self._local = threading.local()
        self._writes = itertools.count(1)  # writes so far, to purge every _PURGE_EVERY
        self._all: list[_Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
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
                timeout=5.0,
                factory=_Connection,
            )
        except sqlite3.Error as exc:
            raise UnavailableError(f"cannot open the SQLite file {self.path}: {exc}") from exc
        try:
            for name, value in self._pragmas.items():
                statement = f"PRAGMA {name} = {value}"
                self._retry(lambda: conn.execute(statement))  # noqa: B023 (called at once)
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
                    for statement in _statements(_MIGRATIONS[version]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version}")

        self._retry(run)

    def _checkpoint_forever(self) -> None:
        """Copy the WAL into the database now and then, beside the writers."""
        while not self._closed:
            time.sleep(CHECKPOINT_INTERVAL)
            try:
                if not self._closed:
                    self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except (sqlite3.Error, BotWireError):
                pass  # a busy or closing database: the next round tries again

    def close(self) -> None:
        """Close every connection this store opened, in every thread."""
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    # -- helpers -----------------------------------------------------------------

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying while SQLite reports the file locked or busy."""
        try:
            return fn()
        except sqlite3.Error as exc:
            self._raise_unless_locked(exc)
        deadline = time.monotonic() + self._lock_timeout
        delay = 0.001
        while True:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            try:
                return fn()
            except sqlite3.Error as exc:
                self._raise_unless_locked(exc)
                if time.monotonic() >= deadline:
                    raise UnavailableError(
                        f"{self.path} stayed locked by another writer for "
                        f"{self._lock_timeout:.0f} s; is a process stuck holding it?"
                    ) from exc

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

    def _write(self, fn: Callable[[_Connection, float], T]) -> T:
        conn = self._conn()

        def run() -> T:
            with self._transaction(conn):
                return fn(conn, time.time())

        result = self._retry(run)
        self._after_write()
        return result

    def _after_write(self) -> None:
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

        def run(conn: sqlite3.Connection, now: float) -> int:
            count = conn.execute(
                "DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            ).rowcount
            conn.execute("DELETE FROM append_ids WHERE created_at < ?", (now - 86400,))
            # Daily write counts of days before yesterday: nothing reads them again.
            conn.execute("DELETE FROM write_counts WHERE day < ?", (int(now // 86400) - 1,))
            return int(count)

        conn = self._conn()

        def tx() -> int:
            with self._transaction(conn):
                return run(conn, time.time())

        return self._retry(tx)

    # -- operations inside a transaction (shared by single calls and batches) ---

    @staticmethod
    def _row(conn: sqlite3.Connection, ns: str, key: str, now: float) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = conn.execute(
            f"SELECT raw, is_list, length, version, created_at, updated_at, expires_at "
            f"FROM entries WHERE ns = ? AND key = ? AND {_LIVE}",
            (ns, key, now),
        ).fetchone()
        return row

    def _get_in(
        self,
        conn: sqlite3.Connection,
        ns: str,
        key: str,
        now: float,
        last: int | None = None,
        want_list: bool = False,
    ) -> Record | None:
        row = self._row(conn, ns, key, now)
        if row is None:
            return None
        raw, is_list, length, version, created, updated, expires = row
        if is_list:
            if last is None:
                items = conn.execute(
                    "SELECT raw FROM list_items WHERE ns = ? AND key = ? ORDER BY seq",
                    (ns, key),
                ).fetchall()
            else:
                items = conn.execute(
                    "SELECT raw FROM (SELECT seq, raw FROM list_items WHERE ns = ? AND key = ? "
                    "ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                    (ns, key, last),
                ).fetchall()
            raw = _list_raw([r[0] for r in items])
        elif want_list:
            if not raw.startswith("["):
                raise NotAListError(
                    f"the value at {key!r} is not a list; get_list and append need a list"
                )
            if last is not None:
                from botwire._rules import encode

                raw = encode(decode(raw)[-last:] if last else [], max_bytes=None)
        return Record(key, raw, version, created, updated, expires)

    def _get_many_in(
        self, conn: sqlite3.Connection, ns: str, keys: list[str], now: float
    ) -> dict[str, Record]:
        found: dict[str, Record] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            rows = conn.execute(
                "SELECT key, raw, is_list, version, created_at, updated_at, expires_at "
                f"FROM entries WHERE ns = ? AND key IN ({','.join('?' * len(chunk))}) AND {_LIVE}",
                (ns, *chunk, now),
            ).fetchall()
            for key, raw, is_list, version, created, updated, expires in rows:
                if is_list:
                    record = self._get_in(conn, ns, key, now)
                    if record is not None:
                        found[key] = record
                else:
                    found[key] = Record(key, raw, version, created, updated, expires)
        return found

    def _set_in(
        self,
        conn: _Connection,
        ns: str,
        key: str,
        raw: str,
        ttl: float | None,
        if_version: int | None,
        now: float,
        id: str | None = None,
    ) -> WriteResult:
        if id is not None:
            seen = self._seen_id(conn, ns, key, id)
            if seen is not None:
                return WriteResult(seen[0], seen[1])
        size = encoded_size(raw)
        expires = now + ttl if ttl is not None else None
        params: tuple[Any, ...] = (ns, key, raw, size, now, expires)
        if if_version is None:
            found = None if expires is not None else conn.set_value(ns, key, raw, size, now)
            version = conn.set_version(params) if found is None else found
        else:
            if if_version == 0:
                changed = conn.execute(_CREATE_ONLY_SQL, params).rowcount
                version = 1
            else:
                changed = conn.execute(_UPDATE_IF_SQL, params + (if_version,)).rowcount
                version = if_version + 1
            if changed != 1:
                current = self._row(conn, ns, key, now)
                have = current[3] if current is not None else 0
                raise ConflictError.expected(key, if_version, have)
        if id is not None:
            self._remember_id(conn, ns, key, id, version, size, now)
        return WriteResult(version, size)

    @staticmethod
    def _seen_id(conn: sqlite3.Connection, ns: str, key: str, id: str) -> tuple[int, int] | None:
        """The (version, length or bytes) a request with this id already produced."""
        row: tuple[int, int] | None = conn.execute(
            "SELECT version, length FROM append_ids WHERE ns = ? AND key = ? AND id = ?",
            (ns, key, id),
        ).fetchone()
        return row

    @staticmethod
    def _remember_id(
        conn: sqlite3.Connection, ns: str, key: str, id: str, version: int, size: int, now: float
    ) -> None:
        conn.execute(
            "INSERT INTO append_ids (ns, key, id, version, length, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ns, key, id, version, size, now),
        )

    @staticmethod
    def _delete_in(conn: sqlite3.Connection, ns: str, key: str, now: float) -> bool:
        rows = conn.execute(
            "DELETE FROM entries WHERE ns = ? AND key = ? RETURNING expires_at", (ns, key)
        ).fetchall()
        row = rows[0] if rows else None
        return row is not None and (row[0] is None or row[0] > now)

    def _append_in(
        self,
        conn: sqlite3.Connection,
        ns: str,
        key: str,
        raws: Sequence[str],
        id: str | None,
        now: float,
    ) -> AppendResult:
        if id is not None:
            seen = self._seen_id(conn, ns, key, id)
            if seen is not None:
                return AppendResult(seen[0], seen[1])
        row = conn.execute(
            "SELECT raw, is_list, length, bytes, version, expires_at FROM entries "
            "WHERE ns = ? AND key = ?",
            (ns, key),
        ).fetchone()
        added = sum(encoded_size(r) for r in raws) + len(raws)
        if row is None or (row[5] is not None and row[5] <= now):
            if row is not None:
                conn.execute("DELETE FROM entries WHERE ns = ? AND key = ?", (ns, key))
            start, version = 0, 1
            conn.execute(
                "INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, "
                "created_at, updated_at, expires_at) VALUES (?, ?, NULL, 1, ?, ?, 1, ?, ?, NULL)",
                (ns, key, len(raws), added + 1, now, now),
            )
        else:
            raw, is_list, length, _bytes, version, _expires = row
            start = length
            if not is_list:
                items = split_list(raw)
                if items is None:
                    raise NotAListError(
                        f"the value at {key!r} is not a list; append needs a list "
                        "(or a missing key, which it creates)"
                    )
                conn.executemany(
                    "INSERT INTO list_items (ns, key, seq, raw) VALUES (?, ?, ?, ?)",
                    [(ns, key, i, item) for i, item in enumerate(items)],
                )
                start = len(items)
            version += 1
            conn.execute(
                "UPDATE entries SET raw = NULL, is_list = 1, length = ?, bytes = bytes + ?, "
                "version = ?, updated_at = ? WHERE ns = ? AND key = ?",
                (start + len(raws), added, version, now, ns, key),
            )
        conn.executemany(
            "INSERT INTO list_items (ns, key, seq, raw) VALUES (?, ?, ?, ?)",
            [(ns, key, start + i, r) for i, r in enumerate(raws)],
        )
        result = AppendResult(version, start + len(raws))
        if id is not None:
            self._remember_id(conn, ns, key, id, result.version, result.length, now)
        return result

    @staticmethod
    def _restore_in(conn: sqlite3.Connection, ns: str, op: RestoreOp) -> WriteResult:
        conn.execute("DELETE FROM entries WHERE ns = ? AND key = ?", (ns, op.key))
        size = encoded_size(op.raw)
        conn.execute(
            "INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, "
            "updated_at, expires_at) VALUES (?, ?, ?, 0, 0, ?, ?, ?, ?, ?)",
            (ns, op.key, op.raw, size, op.version, op.created_at, op.updated_at, op.expires_at),
        )
        return WriteResult(op.version, size)

    # -- the Store interface -----------------------------------------------------

    def get(self, namespace: str, key: str) -> Record | None:
        """Return the record at ``key``, or ``None``."""
        conn = self._conn()

        def run() -> Record | None:
            now = time.time()
            row = self._row(conn, namespace, key, now)
            if row is None:
                return None
            if row[1]:  # a list: read entry and items in one snapshot
                with self._transaction(conn, write=False):
                    return self._get_in(conn, namespace, key, time.time())
            return Record(key, row[0], row[3], row[4], row[5], row[6])

        return self._retry(run)

    def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """Return the list at ``key`` (its last ``last`` items if given)."""
        conn = self._conn()

        def run() -> Record | None:
            with self._transaction(conn, write=False):
                return self._get_in(conn, namespace, key, time.time(), last, want_list=True)

        return self._retry(run)

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
            # The hot path, kept lean: one statement, no closures, no option handling.
            local = self._local
            conn = getattr(local, "conn", None)
            if conn is None or local.pid != _process[0]:
                conn = self._conn()
            size = len(raw) if raw.isascii() else len(raw.encode("utf-8"))
            try:
                version = conn.set_value(namespace, key, raw, size, time.time())
            except sqlite3.Error as exc:
                self._raise_unless_locked(exc)  # locked: the general path below retries
            else:
                if version is not None:  # else the key holds a list: the general path
                    if next(self._writes) % _PURGE_EVERY == 0:
                        self.purge_expired()
                    return _write_result(WriteResult, (version, size))
        if id is not None:
            return self._write(
                lambda c, now: self._set_in(c, namespace, key, raw, ttl, if_version, now, id)
            )
        conn = self._conn()
        result = self._retry(
            lambda: self._set_in(conn, namespace, key, raw, ttl, if_version, time.time())
        )
        self._after_write()
        return result

    def delete(self, namespace: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        conn = self._conn()
        result = self._retry(lambda: self._delete_in(conn, namespace, key, time.time()))
        self._after_write()
        return result

    def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """Append items to the list at ``key`` in one transaction."""
        return self._write(lambda c, now: self._append_in(c, namespace, key, raws, id, now))

    def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """Return live keys in order, ``limit`` at a time."""
        conn = self._conn()
        lower = prefix
        strict = False
        if cursor is not None:
            after = decode_cursor(cursor)
            if limit == 0:
                return KeyPage([], cursor)
            if after >= lower:
                lower, strict = after, True
        if limit == 0:
            return KeyPage([], None)
        sql = f"SELECT key FROM entries WHERE ns = ? AND key {'>' if strict else '>='} ?"
        params: list[Any] = [namespace, lower]
        upper = prefix_upper_bound(prefix)
        if upper is not None:
            sql += " AND key < ?"
            params.append(upper)
        sql += f" AND {_LIVE} ORDER BY key"
        params.append(time.time())
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit + 1)
        rows = self._retry(lambda: conn.execute(sql, params).fetchall())
        keys = [r[0] for r in rows]
        if limit is not None and len(keys) > limit:
            keys = keys[:limit]
            return KeyPage(keys, encode_cursor(keys[-1]))
        return KeyPage(keys, None)

    def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """Run ``ops`` in one transaction; a failing op rolls all of them back."""
        writes = any(not isinstance(op, GetOp) for op in ops)
        conn = self._conn()

        def run() -> list[OpResult]:
            results: list[OpResult] = []
            if not writes:  # reads only: one query per 500 keys, not one per key
                with self._transaction(conn, write=False):
                    found = self._get_many_in(conn, namespace, [op.key for op in ops], time.time())
                return [found.get(op.key) for op in ops]
            with self._transaction(conn, write=writes):
                now = time.time()
                for op in ops:
                    if isinstance(op, GetOp):
                        results.append(self._get_in(conn, namespace, op.key, now))
                    elif isinstance(op, SetOp):
                        results.append(
                            self._set_in(
                                conn, namespace, op.key, op.raw, op.ttl, op.if_version, now, op.id
                            )
                        )
                    elif isinstance(op, DeleteOp):
                        results.append(self._delete_in(conn, namespace, op.key, now))
                    elif isinstance(op, AppendOp):
                        results.append(
                            self._append_in(conn, namespace, op.key, op.raws, op.id, now)
                        )
                    elif isinstance(op, RestoreOp):
                        results.append(self._restore_in(conn, namespace, op))
                    else:
                        raise ValidationError(f"unknown batch operation {op!r}")
            return results

        results = self._retry(run)
        if writes:
            self._after_write()
        return results

    def usage(self, namespace: str) -> Usage:
        """Return the live key count and stored bytes of ``namespace``."""
        conn = self._conn()
        row = self._retry(
            lambda: conn.execute(
                f"SELECT count(*), coalesce(sum(bytes), 0) FROM entries WHERE ns = ? AND {_LIVE}",
                (namespace, time.time()),
            ).fetchone()
        )
        return Usage(int(row[0]), int(row[1]))

    def namespaces(self) -> list[str]:
        """Return every namespace that holds at least one live key, in order."""
        conn = self._conn()
        rows = self._retry(
            lambda: conn.execute(
                f"SELECT DISTINCT ns FROM entries WHERE {_LIVE} ORDER BY ns", (time.time(),)
            ).fetchall()
        )
        return [r[0] for r in rows]

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
        conn = self._conn()
        params = (namespace, day, writes, limit)
        # fetchall steps the statement to its end: committed before we return.
        rows = self._retry(lambda: conn.execute(_COUNT_WRITES_SQL, params).fetchall())
        return int(rows[0][0]) if rows else None

    def writes_on(self, namespace: str, day: int) -> int:
        """Return the writes counted for ``namespace`` on UTC day ``day`` (0 if none)."""
        conn = self._conn()
        row = self._retry(lambda: conn.execute(_WRITES_ON_SQL, (namespace, day)).fetchone())
        return int(row[0]) if row is not None else 0
