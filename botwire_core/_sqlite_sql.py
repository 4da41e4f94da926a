"""SQLite's dialect of the store plans: SQL text, schema and migrations.

The rules live in ``botwire._plans``; this module holds only what is SQLite's own:
the tables and the SQL text of each plan step. ``SQLiteStore`` (in
``botwire._sqlite``) runs the plans on ``sqlite3`` with :data:`DIALECT`. Every
multi-statement write runs under ``BEGIN IMMEDIATE``, which holds the file's write
lock: no row locks, no snapshot statement and no one-statement append are needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from botwire._plans import FEED_VALUE_MAX_BYTES, Dialect, Query

__all__ = ["DIALECT", "MIGRATIONS", "SCHEMA_VERSION", "SET_VALUE_SQL"]

SCHEMA_VERSION = 6

FEED_VALUE_INLINE_BYTES = 128
"""A set's value up to this size, encoded, is copied into its change record. A larger
one (up to ``FEED_VALUE_MAX_BYTES``) is read from the key's row when the feed is read,
if that change is still the key's latest; else the change says ``value_omitted``.
Copying every value doubled the WAL written per set: the records are whole-row cells
of a WITHOUT ROWID b-tree (its interior pages too), so large rows split it often."""

# The change feed's record of a set or an append (its items are filled in by the plan).
_FEED_WRITTEN = f"""
        INSERT INTO changes (ns, seq, key, kind, version, value, omitted, at)
        VALUES (new.ns, coalesce((SELECT max(seq) FROM changes WHERE ns = new.ns), 0) + 1,
            new.key, CASE WHEN new.is_list THEN 'append' ELSE 'set' END, new.version,
            CASE WHEN new.bytes > {FEED_VALUE_INLINE_BYTES} OR new.is_list
                THEN NULL ELSE new.raw END,
            new.bytes > {FEED_VALUE_MAX_BYTES} AND NOT new.is_list, new.updated_at);"""

# What a row stores, in bytes (the namespace size quota): a key's UTF-8 bytes plus its
# value's (``bytes``: the encoded value, a list's items included); an idempotency id's
# bytes plus its key's.
_KEY_BYTES = "length(CAST(key AS BLOB))"
_ID_BYTES = f"{_KEY_BYTES} + length(CAST(id AS BLOB))"
_STORED = f"""(SELECT coalesce(sum({_KEY_BYTES} + bytes), 0) FROM entries WHERE ns = :ns{{keys}})
    + (SELECT coalesce(sum({_ID_BYTES}), 0) FROM append_ids WHERE ns = :ns{{keys}})"""

MIGRATIONS: dict[int, str] = {
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
    3: f"""
    -- The change feed. Triggers on entries record every write in the writing
    -- transaction (a rolled-back write never appears; a batch's changes commit
    -- together), each numbered one past its namespace's newest change: SQLite runs
    -- one writer at a time, so seq order is commit order. Retention keeps at least
    -- the newest change of a namespace, so its seq is never given out again.
    CREATE TABLE changes (
        ns TEXT NOT NULL,
        seq INTEGER NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,          -- set, append, delete, expire
        version INTEGER NOT NULL,    -- after the write; a delete's: the version deleted
        value TEXT,                  -- JSON text: a set's value, an append's items
        omitted INTEGER NOT NULL,    -- 1: the value was too large to copy here
        at REAL NOT NULL,            -- unix time of the change, for retention
        PRIMARY KEY (ns, seq)
    ) WITHOUT ROWID;
    -- Where retention cut a namespace's feed: changes up to this seq are gone.
    CREATE TABLE feed_trims (
        ns TEXT PRIMARY KEY,
        trimmed INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER feed_inserted AFTER INSERT ON entries
    BEGIN
{_FEED_WRITTEN}
    END;
    -- A write over an expired key first records the expiry, then the write.
    CREATE TRIGGER feed_updated AFTER UPDATE ON entries
    BEGIN
        INSERT INTO changes (ns, seq, key, kind, version, value, omitted, at)
        SELECT old.ns, coalesce((SELECT max(seq) FROM changes WHERE ns = old.ns), 0) + 1,
            old.key, 'expire', old.version, NULL, 0, new.updated_at
        WHERE old.expires_at <= new.updated_at;
{_FEED_WRITTEN}
    END;
    CREATE TRIGGER feed_deleted AFTER DELETE ON entries
    BEGIN
        INSERT INTO changes (ns, seq, key, kind, version, value, omitted, at)
        VALUES (old.ns, coalesce((SELECT max(seq) FROM changes WHERE ns = old.ns), 0) + 1,
            old.key,
            CASE WHEN old.expires_at <= (julianday('now') - 2440587.5) * 86400.0
                THEN 'expire' ELSE 'delete' END,
            old.version, NULL, 0, (julianday('now') - 2440587.5) * 86400.0);
    END;
    """,
    4: f"""
    -- Bytes stored per namespace, what --max-namespace-bytes counts (see
    -- botwire._plans.checked_plan): keys, values and idempotency ids. Kept by the
    -- writes that check a limit, in their transaction; exact as of the namespace's
    -- feed seq ``seq``: a write that did not keep it (no limit) moved the feed on,
    -- and the next checked write counts the namespace again. Counted here for the
    -- data already stored.
    CREATE TABLE ns_bytes (
        ns TEXT PRIMARY KEY,
        bytes INTEGER NOT NULL,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO ns_bytes (ns, bytes, seq)
    SELECT t.ns, sum(t.b), coalesce((SELECT max(c.seq) FROM changes c WHERE c.ns = t.ns), 0)
    FROM (SELECT ns, {_KEY_BYTES} + bytes AS b FROM entries
          UNION ALL SELECT ns, {_ID_BYTES} FROM append_ids) t
    GROUP BY t.ns;
    """,
    5: f"""
    -- An update is recorded by one of two triggers, by whether it writes over an
    -- expired key, each with one-row VALUES inserts: the expiry, then the write. In
    -- schema 3 one trigger recorded the expiry with INSERT ... SELECT ... WHERE, and a
    -- SELECT that reads the table it inserts into makes SQLite fill a temporary
    -- b-tree first: on every overwrite, expired or not (~18,000 of the ~46,000
    -- instructions the feed added to a set). (A BEFORE trigger for the expiry would
    -- cost ~3,000 more per update: SQLite then seeks the row again.)
    DROP TRIGGER feed_updated;
    CREATE TRIGGER feed_updated AFTER UPDATE ON entries
        WHEN old.expires_at IS NULL OR old.expires_at > new.updated_at
    BEGIN
{_FEED_WRITTEN}
    END;
    CREATE TRIGGER feed_expired AFTER UPDATE ON entries
        WHEN old.expires_at <= new.updated_at
    BEGIN
        INSERT INTO changes (ns, seq, key, kind, version, value, omitted, at)
        VALUES (old.ns, coalesce((SELECT max(seq) FROM changes WHERE ns = old.ns), 0) + 1,
            old.key, 'expire', old.version, NULL, 0, new.updated_at);
{_FEED_WRITTEN}
    END;
    """,
    6: """
    -- A delete is classed ('expire': the key's TTL had passed, else 'delete') and timed
    -- by the store's clock, the one its TTLs and timestamps come from: botwire_now(), a
    -- function every connection of SQLiteStore registers (its ``clock``). Schema 3-5
    -- read SQLite's own clock (julianday('now')): with a clock passed to the store,
    -- deletes were classed and kept for retention by another time than their TTLs.
    DROP TRIGGER feed_deleted;
    CREATE TRIGGER feed_deleted AFTER DELETE ON entries
    BEGIN
        INSERT INTO changes (ns, seq, key, kind, version, value, omitted, at)
        VALUES (old.ns, coalesce((SELECT max(seq) FROM changes WHERE ns = old.ns), 0) + 1,
            old.key,
            CASE WHEN old.expires_at <= botwire_now() THEN 'expire' ELSE 'delete' END,
            old.version, NULL, 0, botwire_now());
    END;
    """,
}

_LIVE = "(expires_at IS NULL OR expires_at > :now)"

# A namespace's newest seq (0: none yet); retention never trims the newest change away.
_HEAD = "coalesce((SELECT max(seq) FROM changes WHERE ns = :ns), 0)"

_COLUMNS = "raw, is_list, version, created_at, updated_at, expires_at, NULL"

_GET_SQL = f"SELECT {_COLUMNS} FROM entries WHERE ns = :ns AND key = :key AND {_LIVE}"

_LIST_ITEMS_SQL = (
    "SELECT raw FROM list_items WHERE ns = :ns AND key = :key "
    "ORDER BY seq DESC LIMIT coalesce(:last, -1)"
)

# "written" statements hand their new version back through botwire_new_version() (a
# Python function registered on every connection, see botwire._sqlite._Connection)
# instead of RETURNING: in the sqlite3 module a RETURNING clause costs as much as the
# upsert itself. An insert writes version 1, which the driver assumes.
_SET_SQL = f"""
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (:ns, :key, :raw, 0, 0, :bytes, 1, :now, :now, :expires)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, is_list = 0, length = 0, bytes = excluded.bytes,
    version = botwire_new_version(CASE WHEN {_LIVE} THEN version + 1 ELSE 1 END),
    created_at = CASE WHEN {_LIVE} THEN created_at ELSE :now END,
    updated_at = :now, expires_at = :expires
"""

# The same without a TTL, for a key that holds no list (or none yet): the list-cleanup
# trigger does not fire, and with a constant NULL expiry SQLite leaves the expiry
# index alone (together ~10% of a set); a list is left alone (no row changed) for
# _SET_SQL to replace. The embedded fast path (SQLiteStore.set) runs it directly.
SET_VALUE_SQL = f"""
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (:ns, :key, :raw, 0, 0, :bytes, 1, :now, :now, NULL)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, bytes = excluded.bytes,
    version = botwire_new_version(CASE WHEN {_LIVE} THEN version + 1 ELSE 1 END),
    created_at = CASE WHEN {_LIVE} THEN created_at ELSE :now END,
    updated_at = :now, expires_at = NULL
WHERE is_list = 0
"""

# Conditional writes: the row count says whether the condition held.
_CREATE_ONLY_SQL = f"""
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (:ns, :key, :raw, 0, 0, :bytes, 1, :now, :now, :expires)
ON CONFLICT (ns, key) DO UPDATE SET
    raw = excluded.raw, is_list = 0, length = 0, bytes = excluded.bytes, version = 1,
    created_at = :now, updated_at = :now, expires_at = :expires
WHERE NOT {_LIVE}
"""

_UPDATE_IF_SQL = f"""
UPDATE entries SET raw = :raw, is_list = 0, length = 0, bytes = :bytes,
    version = botwire_new_version(version + 1), updated_at = :now, expires_at = :expires
WHERE ns = :ns AND key = :key AND version = :if_version AND {_LIVE}
"""

_VERSION_SQL = f"SELECT version FROM entries WHERE ns = :ns AND key = :key AND {_LIVE}"

_DELETE_SQL = "DELETE FROM entries WHERE ns = :ns AND key = :key RETURNING expires_at"

_LOCK_SQL = (
    "SELECT raw, is_list, length, version, expires_at FROM entries WHERE ns = :ns AND key = :key"
)

_SEEN_ID_SQL = "SELECT version, length FROM append_ids WHERE ns = :ns AND key = :key AND id = :id"

_CLAIM_ID_SQL = """
INSERT INTO append_ids (ns, key, id, version, length, created_at)
VALUES (:ns, :key, :id, 0, 0, :now)
ON CONFLICT (ns, key, id) DO NOTHING
RETURNING 1
"""

_RECORD_ID_SQL = """
UPDATE append_ids SET version = :version, length = :length
WHERE ns = :ns AND key = :key AND id = :id
"""

_NEW_ID_SQL = """
INSERT INTO append_ids (ns, key, id, version, length, created_at)
VALUES (:ns, :key, :id, :version, :length, :now)
"""

_NEW_ITEM_SQL = "INSERT INTO list_items (ns, key, seq, raw) VALUES (:ns, :key, :seq, :raw)"

_CREATE_LIST_SQL = """
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (:ns, :key, NULL, 1, :length, :bytes, 1, :now, :now, NULL)
ON CONFLICT (ns, key) DO NOTHING
RETURNING 1
"""

_EXTEND_LIST_SQL = """
UPDATE entries SET raw = NULL, is_list = 1, length = :length, bytes = bytes + :added,
    version = :version, updated_at = :now
WHERE ns = :ns AND key = :key
"""

_DROP_SQL = "DELETE FROM entries WHERE ns = :ns AND key = :key"

_RESTORE_SQL = """
INSERT INTO entries (ns, key, raw, is_list, length, bytes, version, created_at, updated_at,
                     expires_at)
VALUES (:ns, :key, :raw, 0, 0, :bytes, :version, :created, :updated, :expires)
"""

# Count writes unless the day's total would pass the limit (NULL: none), in one
# autocommit statement: SQLite runs writers one at a time, so the check and the
# addition cannot interleave with another process's. A row of an earlier day starts
# again from 0; a count for an earlier day than the row's (a lagging clock at
# midnight) is added to the row's later day. Nothing matches: nothing is returned.
_COUNTED = "CASE WHEN day >= :day THEN count + :writes ELSE :writes END"
_COUNT_WRITES_SQL = f"""
INSERT INTO write_counts (ns, day, count) SELECT :ns, :day, :writes
WHERE :limit IS NULL OR :writes <= :limit
ON CONFLICT (ns) DO UPDATE SET count = {_COUNTED}, day = max(day, :day)
WHERE :limit IS NULL OR {_COUNTED} <= :limit
RETURNING count
"""

_WRITES_ON_SQL = "SELECT count FROM write_counts WHERE ns = :ns AND day = :day"

_USAGE_SQL = f"""
SELECT count(*), coalesce(sum(bytes), 0), {_STORED.format(keys="")}
FROM entries WHERE ns = :ns AND {_LIVE}
"""

# The namespace size quota (botwire._plans.checked_plan), two statements around the
# writes. BEGIN IMMEDIATE already holds the file's write lock: nothing else writes
# until commit, so no lock statement is needed. The feed head is _FEED_HEAD_SQL's
# (the newest change is never trimmed away).
_KEYS_STORED = _STORED.format(keys=" AND key IN (SELECT value FROM json_each(:keys))")
_QUOTA_START_SQL = f"""
SELECT {_HEAD}, (SELECT bytes FROM ns_bytes WHERE ns = :ns),
    (SELECT seq FROM ns_bytes WHERE ns = :ns), {_KEYS_STORED}
"""
# Keep the new count unless it passes the limit (no row changed: refused).
# (An INSERT, not a WITH: sqlite3 reports row counts of INSERT statements only. The
# LIMIT keeps SQLite from flattening ``a``, which would read the keys' bytes 3 times.)
_QUOTA_SAVE_SQL = f"""
INSERT INTO ns_bytes (ns, bytes, seq)
SELECT :ns, :total + a.after - :before, {_HEAD} FROM (SELECT {_KEYS_STORED} AS after LIMIT 1) a
WHERE a.after <= :before OR :total + a.after - :before <= :max_bytes
ON CONFLICT (ns) DO UPDATE SET bytes = excluded.bytes, seq = excluded.seq
"""
# Before day-old ids are purged: take their bytes off the counts (same transaction).
_PURGE_IDS_COUNTED_SQL = f"""
UPDATE ns_bytes SET bytes = bytes - (
    SELECT coalesce(sum({_ID_BYTES}), 0) FROM append_ids a
    WHERE a.ns = ns_bytes.ns AND a.created_at < :before)
"""

_NAMESPACES_SQL = f"SELECT DISTINCT ns FROM entries WHERE {_LIVE} ORDER BY ns"

# One transaction deletes everything due (SQLite cannot limit a DELETE by default).
_PURGE_SQL = "DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= :now"
_PURGE_IDS_SQL = "DELETE FROM append_ids WHERE created_at < :before"
_PURGE_COUNTS_SQL = "DELETE FROM write_counts WHERE day < :day"


# -- the change feed (the plans in botwire._plans; the triggers in migrations 3, 5, 6) -

_FEED_HEAD_SQL = f"""
SELECT {_HEAD}, coalesce((SELECT trimmed FROM feed_trims WHERE ns = :ns), 0)
"""

_FEED_ITEMS_SQL = """
UPDATE changes SET value = :items, omitted = :omitted
WHERE ns = :ns AND seq = (SELECT max(seq) FROM changes WHERE ns = :ns)
"""

# Every namespace's head, one index seek per namespace (a GROUP BY would read every
# change: the sweep runs every 1000 writes, and a feed holds up to 100,000 a namespace).
_FEED_HEADS_SQL = """
WITH RECURSIVE spaces(ns) AS (
    SELECT (SELECT min(ns) FROM changes)
    UNION ALL
    SELECT (SELECT min(ns) FROM changes WHERE ns > spaces.ns) FROM spaces WHERE ns IS NOT NULL
)
SELECT ns, (SELECT max(seq) FROM changes c WHERE c.ns = spaces.ns),
    coalesce((SELECT trimmed FROM feed_trims t WHERE t.ns = spaces.ns), 0)
FROM spaces WHERE ns IS NOT NULL
"""

_FEED_FIRST_KEPT_SQL = """
SELECT seq FROM changes WHERE ns = :ns AND seq > :after AND at >= :before ORDER BY seq LIMIT 1
"""

_FEED_TRIM_SQL = "DELETE FROM changes WHERE ns = :ns AND seq <= :cut"

_FEED_TRIMMED_SQL = """
INSERT INTO feed_trims (ns, trimmed) VALUES (:ns, :cut)
ON CONFLICT (ns) DO UPDATE SET trimmed = max(trimmed, excluded.trimmed)
"""


# A set's value not copied into its record (see FEED_VALUE_INLINE_BYTES) is read from
# the key's row, in the same statement (one snapshot), if no later change of the key
# exists: then the row holds exactly what that change wrote. Else it stays NULL and
# the plan reports it omitted.
_FEED_SELECT = """
SELECT c.seq, c.key, c.kind, c.version,
    CASE WHEN c.value IS NULL AND c.kind = 'set' AND NOT c.omitted THEN (
        SELECT e.raw FROM entries e
        WHERE e.ns = c.ns AND e.key = c.key AND e.version = c.version AND e.is_list = 0
            AND NOT EXISTS (
                SELECT 1 FROM changes l WHERE l.ns = c.ns AND l.seq > c.seq AND l.key = c.key
            )
    ) ELSE c.value END,
    c.omitted
FROM changes c"""


def _feed_changes(prefixed: bool, bounded: bool) -> str:
    sql = _FEED_SELECT + " WHERE c.ns = :ns AND c.seq > :since AND c.seq <= :head"
    if prefixed:
        sql += " AND c.key >= :lower"
    if bounded:
        sql += " AND c.key < :upper"
    return sql + " ORDER BY c.seq LIMIT :limit"


def _get_many(keys: Sequence[str]) -> tuple[str, dict[str, Any]]:
    params = {f"k{i}": key for i, key in enumerate(keys)}
    sql = (
        f"SELECT key, {_COLUMNS} FROM entries "
        f"WHERE ns = :ns AND key IN ({', '.join(':' + n for n in params)}) AND {_LIVE}"
    )
    return sql, params


def _items(params: Mapping[str, Any]) -> list[Query]:
    ns, key, start = params["ns"], params["key"], params["start"]
    rows = [
        {"ns": ns, "key": key, "seq": start + i, "raw": r} for i, r in enumerate(params["raws"])
    ]
    queries = [Query(_NEW_ITEM_SQL, each=rows)]
    if params["id"] is not None:
        queries.append(Query(_NEW_ID_SQL, params))
    return queries


def _create_list(params: Mapping[str, Any]) -> list[Query]:
    return [Query(_CREATE_LIST_SQL, params, "one"), *_items(params)]


def _extend_list(params: Mapping[str, Any]) -> list[Query]:
    return [Query(_EXTEND_LIST_SQL, params), *_items(params)]


def _list_keys(strict: bool, bounded: bool, limited: bool) -> str:
    sql = f"SELECT key FROM entries WHERE ns = :ns AND key {'>' if strict else '>='} :lower"
    if bounded:
        sql += " AND key < :upper"
    sql += f" AND {_LIVE} ORDER BY key"
    if limited:
        sql += " LIMIT :limit"
    return sql


DIALECT = Dialect(
    get=_GET_SQL,
    list_items=_LIST_ITEMS_SQL,
    get_many=_get_many,
    set=_SET_SQL,
    set_value=SET_VALUE_SQL,
    create_only=_CREATE_ONLY_SQL,
    update_if=_UPDATE_IF_SQL,
    version=_VERSION_SQL,
    delete=_DELETE_SQL,
    lock=_LOCK_SQL,
    lock_many=None,  # BEGIN IMMEDIATE: the transaction holds the write lock
    snapshot=None,  # a read transaction reads one snapshot
    seen_id=_SEEN_ID_SQL,
    claim_id=_CLAIM_ID_SQL,
    record_id=_RECORD_ID_SQL,
    drop=_DROP_SQL,
    restore=_RESTORE_SQL,
    create_list=_create_list,
    extend_list=_extend_list,
    append_fast=None,  # an append is one short transaction already
    list_keys=_list_keys,
    usage=_USAGE_SQL,
    quota_start=_QUOTA_START_SQL,
    quota_save=_QUOTA_SAVE_SQL,
    quota_keys=lambda keys: json.dumps(list(keys)),
    purge_ids_counted=_PURGE_IDS_COUNTED_SQL,
    namespaces=_NAMESPACES_SQL,
    count_writes=_COUNT_WRITES_SQL,
    writes_on=_WRITES_ON_SQL,
    purge=_PURGE_SQL,
    purge_ids=_PURGE_IDS_SQL,
    purge_counts=_PURGE_COUNTS_SQL,
    unique_violation=lambda exc: False,
    feed_head=_FEED_HEAD_SQL,
    feed_changes=_feed_changes,
    feed_items=_FEED_ITEMS_SQL,
    feed_heads=_FEED_HEADS_SQL,
    feed_first_kept=_FEED_FIRST_KEPT_SQL,
    feed_trim=_FEED_TRIM_SQL,
    feed_trimmed=_FEED_TRIMMED_SQL,
)
