"""SQL and operation plans of the PostgreSQL store, free of I/O.

Each operation of the store is written once here as a *plan*: a generator that
yields :class:`Query` objects and receives each query's result (a row, all rows or
a row count), then returns the operation's result. A driver error is thrown into
the plan at the ``yield`` that caused it, so a plan can handle the ones it expects.
``PostgresStore`` and ``AsyncPostgresStore`` (in ``botwire._postgres``) only run
plans, one on a blocking connection, the other on an asyncio one, so the twins
cannot drift.

The semantics mirror ``botwire._sqlite`` statement for statement; where
PostgreSQL's concurrency needs more (row locks, snapshots), the comments say why.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from botwire._errors import ConflictError, NotAListError, ServerError, ValidationError
from botwire._listing import decode_cursor, encode_cursor, prefix_upper_bound, split_list
from botwire._rules import decode, encode, encoded_size
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

__all__ = [
    "SCHEMA_VERSION",
    "Plan",
    "Query",
    "append_fast_plan",
    "append_plan",
    "batch_plan",
    "count_writes_plan",
    "delete_plan",
    "get_plan",
    "list_keys_plan",
    "migrate_plan",
    "namespaces_plan",
    "purge_plan",
    "set_plan",
    "usage_plan",
    "writes_on_plan",
]

T = TypeVar("T")

SCHEMA_VERSION = 2

_ADVISORY_LOCK = 0x626F7477697265  # "botwire": serialises schema migrations
_ID_TTL = 86400.0  # seconds an append idempotency id is remembered

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE botwire_entries (
        ns TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        raw TEXT,                               -- JSON text; NULL while is_list
        is_list BOOLEAN NOT NULL DEFAULT FALSE, -- items live in botwire_list_items
        length BIGINT NOT NULL DEFAULT 0,       -- number of items when is_list
        bytes BIGINT NOT NULL,
        version BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,   -- Unix seconds, as in SQLite
        updated_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION,
        PRIMARY KEY (ns, key)
    );
    CREATE INDEX botwire_entries_expiry ON botwire_entries (expires_at)
        WHERE expires_at IS NOT NULL;
    CREATE TABLE botwire_list_items (
        ns TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        raw TEXT NOT NULL,
        PRIMARY KEY (ns, key, seq)
    );
    -- Request idempotency ids (appends and sets): version and length (items after
    -- an append) or bytes (the stored size after a set) of the first result.
    CREATE TABLE botwire_append_ids (
        ns TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        id TEXT NOT NULL,
        version BIGINT NOT NULL,
        length BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (ns, key, id)
    );
    CREATE INDEX botwire_append_ids_age ON botwire_append_ids (created_at);
    -- Items and idempotency ids follow their entry, whichever statement drops it.
    -- Trigger bodies run each statement on a fresh snapshot, so they also see items
    -- a concurrent appender committed while this statement waited for the row lock.
    CREATE FUNCTION botwire_list_dropped() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        DELETE FROM botwire_list_items WHERE ns = OLD.ns AND key = OLD.key;
        RETURN NULL;
    END $$;
    CREATE FUNCTION botwire_entry_deleted() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    BEGIN
        DELETE FROM botwire_list_items WHERE ns = OLD.ns AND key = OLD.key;
        DELETE FROM botwire_append_ids WHERE ns = OLD.ns AND key = OLD.key;
        RETURN NULL;
    END $$;
    CREATE TRIGGER botwire_entries_list_dropped AFTER UPDATE OF is_list ON botwire_entries
        FOR EACH ROW WHEN (OLD.is_list AND NOT NEW.is_list)
        EXECUTE FUNCTION botwire_list_dropped();
    CREATE TRIGGER botwire_entries_deleted AFTER DELETE ON botwire_entries
        FOR EACH ROW EXECUTE FUNCTION botwire_entry_deleted();
    """,
    2: """
    -- Writes per namespace on one UTC day (day = unix time // 86400), shared by every
    -- process on the database: the server's --writes-per-day quota. Deleting keys
    -- leaves it alone (a daily quota counts writes made, not data held).
    CREATE TABLE botwire_write_counts (
        ns TEXT COLLATE "C" PRIMARY KEY,
        day BIGINT NOT NULL,
        count BIGINT NOT NULL
    );
    """,
}

# -- SQL (one text per operation, shared by both stores) ---------------------------

_LIVE = "(e.expires_at IS NULL OR e.expires_at > %(now)s)"

_GET_SQL = f"""
SELECT e.raw, e.is_list, e.version, e.created_at, e.updated_at, e.expires_at,
    CASE WHEN e.is_list THEN (
        SELECT '[' || coalesce(string_agg(t.raw, ',' ORDER BY t.seq), '') || ']'
        FROM (SELECT i.seq, i.raw FROM botwire_list_items i
              WHERE i.ns = e.ns AND i.key = e.key
              ORDER BY i.seq DESC LIMIT %(last)s) t
    ) END
FROM botwire_entries e
WHERE e.ns = %(ns)s AND e.key = %(key)s AND {_LIVE}
"""

_SET_SQL = f"""
INSERT INTO botwire_entries AS e (ns, key, raw, is_list, length, bytes, version,
                                  created_at, updated_at, expires_at)
VALUES (%(ns)s, %(key)s, %(raw)s, FALSE, 0, %(bytes)s, 1, %(now)s, %(now)s, %(expires)s)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, is_list = FALSE, length = 0, bytes = excluded.bytes,
    version = CASE WHEN {_LIVE} THEN e.version + 1 ELSE 1 END,
    created_at = CASE WHEN {_LIVE} THEN e.created_at ELSE %(now)s END,
    updated_at = %(now)s, expires_at = %(expires)s
RETURNING e.version
"""

_CREATE_ONLY_SQL = f"""
INSERT INTO botwire_entries AS e (ns, key, raw, is_list, length, bytes, version,
                                  created_at, updated_at, expires_at)
VALUES (%(ns)s, %(key)s, %(raw)s, FALSE, 0, %(bytes)s, 1, %(now)s, %(now)s, %(expires)s)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, is_list = FALSE, length = 0, bytes = excluded.bytes, version = 1,
    created_at = %(now)s, updated_at = %(now)s, expires_at = %(expires)s
WHERE NOT {_LIVE}
RETURNING e.version
"""

_UPDATE_IF_SQL = f"""
UPDATE botwire_entries AS e SET raw = %(raw)s, is_list = FALSE, length = 0,
    bytes = %(bytes)s, version = e.version + 1, updated_at = %(now)s,
    expires_at = %(expires)s
WHERE e.ns = %(ns)s AND e.key = %(key)s AND e.version = %(if_version)s AND {_LIVE}
RETURNING e.version
"""

_VERSION_SQL = (
    f"SELECT e.version FROM botwire_entries e WHERE e.ns = %(ns)s AND e.key = %(key)s AND {_LIVE}"
)

_DELETE_SQL = "DELETE FROM botwire_entries WHERE ns = %(ns)s AND key = %(key)s RETURNING expires_at"

_LOCK_SQL = """
SELECT raw, is_list, length, version, expires_at FROM botwire_entries
WHERE ns = %(ns)s AND key = %(key)s FOR UPDATE
"""

_LOCK_MANY_SQL = """
SELECT 1 FROM botwire_entries WHERE ns = %(ns)s AND key = ANY(%(keys)s::text[])
ORDER BY key FOR UPDATE
"""

# Run after the row lock is held, as its own statement: a fresh snapshot sees an
# id that a concurrent retry of the same append committed while this one waited.
_SEEN_ID_SQL = """
SELECT version, length FROM botwire_append_ids
WHERE ns = %(ns)s AND key = %(key)s AND id = %(id)s
"""

# A set with an id reserves it first: a concurrent retry of the same set waits here
# for the first attempt's transaction, then inserts nothing and reads its result.
_CLAIM_ID_SQL = """
INSERT INTO botwire_append_ids (ns, key, id, version, length, created_at)
VALUES (%(ns)s, %(key)s, %(id)s, 0, 0, %(now)s)
ON CONFLICT (ns, key, id) DO NOTHING
RETURNING 1
"""

_RECORD_ID_SQL = """
UPDATE botwire_append_ids SET version = %(version)s, length = %(length)s
WHERE ns = %(ns)s AND key = %(key)s AND id = %(id)s
"""

_NEW_ITEMS = """
INSERT INTO botwire_list_items (ns, key, seq, raw)
SELECT %(ns)s, %(key)s, %(start)s + t.ord - 1, t.raw
FROM {source} unnest(%(raws)s::text[]) WITH ORDINALITY AS t(raw, ord)
"""

_NEW_ID = """
INSERT INTO botwire_append_ids (ns, key, id, version, length, created_at)
SELECT %(ns)s, %(key)s, %(id)s::text, %(version)s, %(length)s, %(now)s
{source} WHERE %(id)s::text IS NOT NULL
"""

# A new list: entry, items and idempotency id in one statement. The entry insert
# does nothing if a concurrent appender created the key first (it then waits for
# that transaction); the caller sees 0 and takes the row lock instead.
_CREATE_LIST_SQL = f"""
WITH e AS (
    INSERT INTO botwire_entries (ns, key, raw, is_list, length, bytes, version,
                                 created_at, updated_at, expires_at)
    VALUES (%(ns)s, %(key)s, NULL, TRUE, %(length)s, %(bytes)s, 1, %(now)s, %(now)s, NULL)
    ON CONFLICT (ns, key) DO NOTHING
    RETURNING 1
), i AS ({_NEW_ITEMS.format(source="e,")}
), a AS ({_NEW_ID.format(source="FROM e")}
)
SELECT count(*) FROM e
"""

# An existing entry, locked by _LOCK_SQL: grow it (splitting a whole-set list into
# rows on its first append, by passing its items ahead of the new ones).
_EXTEND_LIST_SQL = f"""
WITH u AS (
    UPDATE botwire_entries SET raw = NULL, is_list = TRUE, length = %(length)s,
        bytes = bytes + %(added)s, version = %(version)s, updated_at = %(now)s
    WHERE ns = %(ns)s AND key = %(key)s
), i AS ({_NEW_ITEMS.format(source="")}
), a AS ({_NEW_ID.format(source="")}
)
SELECT 1
"""

# The common append, to a live list already stored as rows, in one autocommit
# statement: the UPDATE takes the row lock and, under read committed, re-reads the
# row once the lock is granted, so ``length`` already counts every concurrent
# append. Anything else (a missing, expired, whole-set or non-list value, or an id
# seen before) matches no row and takes the locked path of append_plan. An id
# committed by a concurrent retry after this statement's snapshot makes the id
# insert fail on its primary key, which aborts the whole statement: nothing is
# applied twice.
_APPEND_FAST_SQL = f"""
WITH u AS (
    UPDATE botwire_entries AS e SET length = e.length + %(count)s,
        bytes = e.bytes + %(added)s, version = e.version + 1, updated_at = %(now)s
    WHERE e.ns = %(ns)s AND e.key = %(key)s AND e.is_list AND {_LIVE}
      AND NOT EXISTS (SELECT 1 FROM botwire_append_ids s
                      WHERE s.ns = e.ns AND s.key = e.key AND s.id = %(id)s::text)
    RETURNING e.version, e.length
), i AS (
    INSERT INTO botwire_list_items (ns, key, seq, raw)
    SELECT %(ns)s, %(key)s, u.length - %(count)s + t.ord - 1, t.raw
    FROM u, unnest(%(raws)s::text[]) WITH ORDINALITY AS t(raw, ord)
), a AS (
    INSERT INTO botwire_append_ids (ns, key, id, version, length, created_at)
    SELECT %(ns)s, %(key)s, %(id)s::text, u.version, u.length, %(now)s
    FROM u WHERE %(id)s::text IS NOT NULL
)
SELECT version, length FROM u
"""

# Count writes unless the day's total would pass the limit (NULL: none), in one
# autocommit statement. The upsert locks the namespace's row; a concurrent counter
# waits for it and then, under read committed, re-checks the limit against the
# committed count, so no two processes can both take the last write. A row of an
# earlier day starts again from 0; a count for an earlier day than the row's (a
# lagging clock at midnight) is added to the row's later day. Refused: no row.
_COUNTED = "CASE WHEN c.day >= %(day)s THEN c.count + %(writes)s ELSE %(writes)s END"
_COUNT_WRITES_SQL = f"""
INSERT INTO botwire_write_counts AS c (ns, day, count)
SELECT %(ns)s, %(day)s, %(writes)s
WHERE %(limit)s::bigint IS NULL OR %(writes)s::bigint <= %(limit)s::bigint
ON CONFLICT (ns) DO UPDATE SET count = {_COUNTED}, day = GREATEST(c.day, %(day)s)
WHERE %(limit)s::bigint IS NULL OR {_COUNTED} <= %(limit)s::bigint
RETURNING c.count
"""

_WRITES_ON_SQL = "SELECT count FROM botwire_write_counts WHERE ns = %(ns)s AND day = %(day)s"

_UNIQUE_VIOLATION = "23505"

_DROP_SQL = "DELETE FROM botwire_entries WHERE ns = %(ns)s AND key = %(key)s"

_RESTORE_SQL = """
INSERT INTO botwire_entries (ns, key, raw, is_list, length, bytes, version, created_at,
                             updated_at, expires_at)
VALUES (%(ns)s, %(key)s, %(raw)s, FALSE, 0, %(bytes)s, %(version)s, %(created)s,
        %(updated)s, %(expires)s)
"""

_USAGE_SQL = f"""
SELECT count(*), coalesce(sum(e.bytes), 0) FROM botwire_entries e
WHERE e.ns = %(ns)s AND {_LIVE}
"""

_NAMESPACES_SQL = f"SELECT DISTINCT e.ns FROM botwire_entries e WHERE {_LIVE} ORDER BY e.ns"

# Purges go in slices of _PURGE_SLICE rows, each its own short transaction, and
# skip rows another transaction holds (an appender reviving an expired key, or a
# purge in another server process) instead of waiting for them.
_PURGE_SQL = """
DELETE FROM botwire_entries WHERE (ns, key) IN (
    SELECT ns, key FROM botwire_entries
    WHERE expires_at IS NOT NULL AND expires_at <= %(now)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
_PURGE_IDS_SQL = """
DELETE FROM botwire_append_ids WHERE (ns, key, id) IN (
    SELECT ns, key, id FROM botwire_append_ids WHERE created_at < %(before)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
_PURGE_COUNTS_SQL = """
DELETE FROM botwire_write_counts WHERE ns IN (
    SELECT ns FROM botwire_write_counts WHERE day < %(day)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
_PURGE_SLICE = 5000

_SNAPSHOT_SQL = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


# -- plans: each operation once, as a generator of queries ------------------------

Fetch = Literal["one", "all", "rowcount", "none"]


@dataclass(frozen=True, slots=True)
class Query:
    """One statement for a runner to execute; the runner sends back ``fetch``."""

    sql: str
    params: Mapping[str, Any] | None = None
    fetch: Fetch = "none"


Plan = Generator[Query, Any, T]
"""An operation: yields queries, receives each one's result, returns its own."""


def get_plan(
    ns: str, key: str, now: float, last: int | None = None, want_list: bool = False
) -> Plan[Record | None]:
    """Read one key; a list's items are joined into JSON text in the same statement."""
    row = yield Query(_GET_SQL, {"ns": ns, "key": key, "now": now, "last": last}, "one")
    if row is None:
        return None
    raw, is_list, version, created, updated, expires, items = row
    if is_list:
        raw = items
    elif want_list:
        if not raw.startswith("["):
            raise NotAListError(
                f"the value at {key!r} is not a list; get_list and append need a list"
            )
        if last is not None:
            raw = encode(decode(raw)[-last:] if last else [], max_bytes=None)
    return Record(key, raw, version, created, updated, expires)


def set_plan(
    ns: str,
    key: str,
    raw: str,
    ttl: float | None,
    if_version: int | None,
    now: float,
    id: str | None = None,
) -> Plan[WriteResult]:
    """Write one key (plain, create-only or compare-and-set), one statement.

    With an ``id`` (run it inside a transaction) the id is claimed first: an id
    seen before returns the first result again instead of writing twice.
    """
    if id is not None:
        ids = {"ns": ns, "key": key, "id": id, "now": now}
        claimed = yield Query(_CLAIM_ID_SQL, ids, "one")
        if claimed is None:
            seen = yield Query(_SEEN_ID_SQL, ids, "one")
            if seen is not None:
                return WriteResult(seen[0], seen[1])
    size = encoded_size(raw)
    params: dict[str, Any] = {
        "ns": ns,
        "key": key,
        "raw": raw,
        "bytes": size,
        "now": now,
        "expires": now + ttl if ttl is not None else None,
    }
    if if_version is None:
        sql = _SET_SQL
    elif if_version == 0:
        sql = _CREATE_ONLY_SQL
    else:
        sql = _UPDATE_IF_SQL
        params["if_version"] = if_version
    row = yield Query(sql, params, "one")
    if row is None:
        current = yield Query(_VERSION_SQL, {"ns": ns, "key": key, "now": now}, "one")
        have = current[0] if current is not None else 0
        raise ConflictError.expected(key, if_version or 0, have)  # only a conditional write misses
    if id is not None:
        yield Query(
            _RECORD_ID_SQL, {"ns": ns, "key": key, "id": id, "version": row[0], "length": size}
        )
    return WriteResult(row[0], size)


def delete_plan(ns: str, key: str, now: float) -> Plan[bool]:
    """Delete one key; True if it existed and had not expired."""
    row = yield Query(_DELETE_SQL, {"ns": ns, "key": key}, "one")
    return row is not None and (row[0] is None or row[0] > now)


def append_fast_plan(
    ns: str, key: str, raws: Sequence[str], id: str | None, now: float
) -> Plan[AppendResult | None]:
    """Append to an existing list in one statement (autocommit); None: use append_plan."""
    params = {
        "ns": ns,
        "key": key,
        "id": id,
        "now": now,
        "raws": list(raws),
        "count": len(raws),
        "added": sum(encoded_size(r) for r in raws) + len(raws),
    }
    try:
        row = yield Query(_APPEND_FAST_SQL, params, "one")
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == _UNIQUE_VIOLATION:
            return None  # a concurrent retry with this id won; the locked path reports it
        raise
    return AppendResult(row[0], row[1]) if row is not None else None


def append_plan(
    ns: str, key: str, raws: Sequence[str], id: str | None, now: float
) -> Plan[AppendResult]:
    """Append under the key's row lock (run inside a transaction)."""
    base: dict[str, Any] = {"ns": ns, "key": key, "id": id, "now": now}
    added = sum(encoded_size(r) for r in raws) + len(raws)
    while True:
        row = yield Query(_LOCK_SQL, base, "one")
        if row is not None and id is not None:
            seen = yield Query(_SEEN_ID_SQL, base, "one")
            if seen is not None:
                return AppendResult(seen[0], seen[1])
        if row is not None and row[4] is not None and row[4] <= now:
            yield Query(_DROP_SQL, base)  # expired: start afresh, as if absent
            row = None
        if row is None:
            params = dict(base, raws=list(raws), start=0, version=1, length=len(raws))
            created = yield Query(_CREATE_LIST_SQL, dict(params, bytes=added + 1), "one")
            if created[0]:
                return AppendResult(1, len(raws))
            continue  # a concurrent appender created the key: lock its row
        raw, is_list, length, version, _expires = row
        if is_list:
            start, items = length, list(raws)
        else:
            whole = split_list(raw)
            if whole is None:
                raise NotAListError(
                    f"the value at {key!r} is not a list; append needs a list "
                    "(or a missing key, which it creates)"
                )
            start, items = 0, whole + list(raws)
        result = AppendResult(version + 1, start + len(items))
        yield Query(
            _EXTEND_LIST_SQL,
            dict(
                base,
                raws=items,
                start=start,
                added=added,
                version=result.version,
                length=result.length,
            ),
        )
        return result


def restore_plan(ns: str, op: RestoreOp) -> Plan[WriteResult]:
    """Write a record verbatim, version and timestamps included (``botwire import``)."""
    size = encoded_size(op.raw)
    yield Query(_DROP_SQL, {"ns": ns, "key": op.key})
    yield Query(
        _RESTORE_SQL,
        {
            "ns": ns,
            "key": op.key,
            "raw": op.raw,
            "bytes": size,
            "version": op.version,
            "created": op.created_at,
            "updated": op.updated_at,
            "expires": op.expires_at,
        },
    )
    return WriteResult(op.version, size)


def batch_plan(ns: str, ops: Sequence[Op], now: float) -> Plan[list[OpResult]]:
    """Run ``ops`` in order inside the caller's transaction."""
    written = sorted({op.key for op in ops if not isinstance(op, GetOp)})
    if len(ops) > 1 and not written:
        yield Query(_SNAPSHOT_SQL)  # several reads: one consistent snapshot
    elif len(written) > 1:
        # Lock the rows up front in key order, so that two batches touching the same
        # keys in different orders queue up instead of deadlocking.
        yield Query(_LOCK_MANY_SQL, {"ns": ns, "keys": written})
    results: list[OpResult] = []
    for op in ops:
        result: OpResult
        if isinstance(op, GetOp):
            result = yield from get_plan(ns, op.key, now)
        elif isinstance(op, SetOp):
            result = yield from set_plan(ns, op.key, op.raw, op.ttl, op.if_version, now, op.id)
        elif isinstance(op, DeleteOp):
            result = yield from delete_plan(ns, op.key, now)
        elif isinstance(op, AppendOp):
            result = yield from append_plan(ns, op.key, op.raws, op.id, now)
        elif isinstance(op, RestoreOp):
            result = yield from restore_plan(ns, op)
        else:
            raise ValidationError(f"unknown batch operation {op!r}")
        results.append(result)
    return results


def list_keys_plan(
    ns: str, prefix: str, limit: int | None, cursor: str | None, now: float
) -> Plan[KeyPage]:
    """One page of live keys in code point order, after ``cursor``."""
    lower, strict = prefix, False
    if cursor is not None:
        after = decode_cursor(cursor)
        if after >= lower:
            lower, strict = after, True
    if limit == 0:  # nothing to read; the caller resumes where it was
        return KeyPage([], cursor)
    params: dict[str, Any] = {"ns": ns, "lower": lower, "now": now}
    sql = (
        "SELECT e.key FROM botwire_entries e "
        f"WHERE e.ns = %(ns)s AND e.key {'>' if strict else '>='} %(lower)s"
    )
    upper = prefix_upper_bound(prefix)
    if upper is not None:
        sql += " AND e.key < %(upper)s"
        params["upper"] = upper
    sql += f" AND {_LIVE} ORDER BY e.key"
    if limit is not None:
        sql += " LIMIT %(limit)s"
        params["limit"] = limit + 1
    rows = yield Query(sql, params, "all")
    keys = [r[0] for r in rows]
    if limit is not None and len(keys) > limit:
        keys = keys[:limit]
        return KeyPage(keys, encode_cursor(keys[-1]))
    return KeyPage(keys, None)


def usage_plan(ns: str, now: float) -> Plan[Usage]:
    """Live key count and stored bytes of a namespace."""
    row = yield Query(_USAGE_SQL, {"ns": ns, "now": now}, "one")
    return Usage(int(row[0]), int(row[1]))


def namespaces_plan(now: float) -> Plan[list[str]]:
    """Every namespace with a live key, in order."""
    rows = yield Query(_NAMESPACES_SQL, {"now": now}, "all")
    return [r[0] for r in rows]


def count_writes_plan(ns: str, writes: int, limit: int | None, day: int) -> Plan[int | None]:
    """Add ``writes`` to the namespace's count of ``day`` unless it passes ``limit``.

    One statement: run it in autocommit. Returns the new count, or ``None``.
    """
    params = {"ns": ns, "writes": writes, "limit": limit, "day": day}
    row = yield Query(_COUNT_WRITES_SQL, params, "one")
    return int(row[0]) if row is not None else None


def writes_on_plan(ns: str, day: int) -> Plan[int]:
    """The writes counted for the namespace on ``day`` (0 if none)."""
    row = yield Query(_WRITES_ON_SQL, {"ns": ns, "day": day}, "one")
    return int(row[0]) if row is not None else 0


def purge_plan(now: float) -> Plan[int]:
    """Delete expired keys (their rows follow by trigger), day-old ids and old counts.

    Run it outside a transaction: every slice then commits on its own.
    """
    total = 0
    for sql, params in (
        (_PURGE_SQL, {"now": now, "limit": _PURGE_SLICE}),
        (_PURGE_IDS_SQL, {"before": now - _ID_TTL, "limit": _PURGE_SLICE}),
        # Daily write counts of days before yesterday: nothing reads them again.
        (_PURGE_COUNTS_SQL, {"day": int(now // 86400) - 1, "limit": _PURGE_SLICE}),
    ):
        while True:
            count = yield Query(sql, params, "rowcount")
            if sql is _PURGE_SQL:
                total += count
            if count < _PURGE_SLICE:
                break
    return total


def migrate_plan() -> Plan[None]:
    """Create or upgrade the tables (run inside a transaction)."""
    version_sql = "SELECT coalesce(max(version), 0) FROM botwire_schema_version"
    (exists,) = yield Query("SELECT to_regclass('botwire_schema_version') IS NOT NULL", {}, "one")
    if exists:
        (current,) = yield Query(version_sql, {}, "one")
        _check_schema(current)
        if current == SCHEMA_VERSION:
            return  # the common start: nothing to do, no lock taken
    yield Query("SELECT pg_advisory_xact_lock(%(lock)s)", {"lock": _ADVISORY_LOCK}, "one")
    yield Query("CREATE TABLE IF NOT EXISTS botwire_schema_version (version INTEGER NOT NULL)")
    (current,) = yield Query(version_sql, {}, "one")  # again, now under the lock
    _check_schema(current)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        yield Query(_MIGRATIONS[version])
    if current < SCHEMA_VERSION:
        yield Query("DELETE FROM botwire_schema_version")
        yield Query(
            "INSERT INTO botwire_schema_version (version) VALUES (%(v)s)", {"v": SCHEMA_VERSION}
        )


def _check_schema(current: int) -> None:
    if current > SCHEMA_VERSION:
        raise ServerError(
            f"the database was written by a newer BotWire (schema {current}, this one "
            f"knows {SCHEMA_VERSION}); upgrade botwire"
        )
