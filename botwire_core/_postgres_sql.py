"""PostgreSQL's dialect of the store plans: SQL text, schema and migrations.

The rules live in ``botwire._plans``; this module holds only what is PostgreSQL's
own: the tables, the SQL text of each plan step (row locks, snapshots, one-statement
common paths) and the migration plan. ``PostgresStore`` and ``AsyncPostgresStore``
(in ``botwire._postgres``) drive the plans with :data:`DIALECT`, one on a blocking
connection, the other on an asyncio one, so the twins cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from botwire._errors import ServerError
from botwire._plans import FEED_VALUE_MAX_BYTES, Dialect, Plan, Query

__all__ = ["DIALECT", "FEED_CHANNEL", "SCHEMA_VERSION", "migrate_plan"]

FEED_CHANNEL = "botwire_feed"
"""The ``NOTIFY`` channel of the change feed: every commit that writes sends the
namespace on it."""


SCHEMA_VERSION = 5

_ADVISORY_LOCK = 0x626F7477697265  # "botwire": serialises schema migrations

# What a row stores, in bytes (the namespace size quota): a key's UTF-8 bytes plus its
# value's (``bytes``: the encoded value, a list's items included); an idempotency id's
# bytes plus its key's.
_KEY_BYTES = "octet_length(key)"
_ID_BYTES = f"{_KEY_BYTES} + octet_length(id)"
_STORED = f"""(SELECT coalesce(sum({_KEY_BYTES} + bytes), 0) FROM botwire_entries
        WHERE ns = %(ns)s{{keys}})
    + (SELECT coalesce(sum({_ID_BYTES}), 0) FROM botwire_append_ids
        WHERE ns = %(ns)s{{keys}})"""


def _feed_function(create: str, delete_time: str) -> str:
    """The feed trigger's function (migrations 3 and 5): ``create`` is ``CREATE`` or
    ``CREATE OR REPLACE``; ``delete_time``, the Unix time that classes and stamps a
    delete (an update's is the row's ``updated_at``)."""
    return f"""
    {create} FUNCTION botwire_feed() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
    DECLARE
        now DOUBLE PRECISION;
        start BIGINT := 0;
        items TEXT;
    BEGIN
        IF TG_OP = 'DELETE' THEN
            now := {delete_time};
            PERFORM botwire_feed_record(OLD.ns, OLD.key,
                CASE WHEN OLD.expires_at <= now THEN 'expire' ELSE 'delete' END,
                OLD.version, NULL, now);
            RETURN NULL;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.expires_at <= NEW.updated_at THEN
            PERFORM botwire_feed_record(OLD.ns, OLD.key, 'expire', OLD.version, NULL,
                NEW.updated_at);
        END IF;
        IF NOT NEW.is_list THEN
            PERFORM botwire_feed_record(NEW.ns, NEW.key, 'set', NEW.version, NEW.raw,
                NEW.updated_at);
            RETURN NULL;
        END IF;
        -- An append: the items this statement added (it inserted them already).
        IF TG_OP = 'UPDATE' AND OLD.is_list THEN
            start := OLD.length;
        ELSIF TG_OP = 'UPDATE' AND NOT OLD.is_list AND OLD.raw LIKE '[%' THEN
            start := json_array_length(OLD.raw::json);  -- json, not jsonb: NUL escapes are valid
        END IF;
        SELECT '[' || coalesce(string_agg(i.raw, ',' ORDER BY i.seq), '') || ']' INTO items
        FROM botwire_list_items i
        WHERE i.ns = NEW.ns AND i.key = NEW.key AND i.seq >= start;
        PERFORM botwire_feed_record(NEW.ns, NEW.key, 'append', NEW.version, items,
            NEW.updated_at);
        RETURN NULL;
    END $$;
"""


_DB_CLOCK = "extract(epoch FROM clock_timestamp())"


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
    3: f"""
    -- The change feed. A trigger on botwire_entries records every write in the
    -- writing transaction (a rolled-back write never appears; a batch's changes
    -- commit together), numbered from the namespace's head row. Updating that row
    -- locks it until commit, so writers of one namespace commit one after another in
    -- seq order, on every server process; pg_notify (sent at commit) wakes watchers.
    CREATE TABLE botwire_feed_heads (
        ns TEXT COLLATE "C" PRIMARY KEY,
        seq BIGINT NOT NULL,          -- the newest change's seq
        trimmed BIGINT NOT NULL       -- changes up to this seq were dropped (retention)
    );
    CREATE TABLE botwire_changes (
        ns TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL,           -- set, append, delete, expire
        version BIGINT NOT NULL,
        value TEXT,                   -- a set's value, an append's items (JSON text)
        omitted BOOLEAN NOT NULL,
        at DOUBLE PRECISION NOT NULL, -- Unix seconds, for retention
        PRIMARY KEY (ns, seq)
    );
    CREATE FUNCTION botwire_feed_record(p_ns TEXT, p_key TEXT, p_kind TEXT,
        p_version BIGINT, p_value TEXT, p_at DOUBLE PRECISION) RETURNS void
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
        s BIGINT;
        big BOOLEAN := octet_length(p_value) > {FEED_VALUE_MAX_BYTES};
    BEGIN
        INSERT INTO botwire_feed_heads AS h (ns, seq, trimmed) VALUES (p_ns, 1, 0)
            ON CONFLICT (ns) DO UPDATE SET seq = h.seq + 1 RETURNING h.seq INTO s;
        INSERT INTO botwire_changes (ns, seq, key, kind, version, value, omitted, at)
        VALUES (p_ns, s, p_key, p_kind, p_version,
                CASE WHEN big THEN NULL ELSE p_value END, coalesce(big, FALSE), p_at);
        PERFORM pg_notify('{FEED_CHANNEL}', p_ns);
    END $$;
    {_feed_function("CREATE", _DB_CLOCK)}
    CREATE TRIGGER botwire_entries_feed AFTER INSERT OR UPDATE OR DELETE ON botwire_entries
        FOR EACH ROW EXECUTE FUNCTION botwire_feed();
    """,
}

# -- SQL (one text per plan step, shared by both stores) -----------------------------

_LIVE = "(e.expires_at IS NULL OR e.expires_at > %(now)s)"

_COLUMNS = """e.raw, e.is_list, e.version, e.created_at, e.updated_at, e.expires_at,
    CASE WHEN e.is_list THEN (
        SELECT '[' || coalesce(string_agg(t.raw, ',' ORDER BY t.seq), '') || ']'
        FROM (SELECT i.seq, i.raw FROM botwire_list_items i
              WHERE i.ns = e.ns AND i.key = e.key
              ORDER BY i.seq DESC LIMIT %(last)s) t
    ) END"""

_GET_SQL = f"""
SELECT {_COLUMNS}
FROM botwire_entries e
WHERE e.ns = %(ns)s AND e.key = %(key)s AND {_LIVE}
"""

_GET_MANY_SQL = f"""
SELECT e.key, {_COLUMNS}
FROM botwire_entries e
WHERE e.ns = %(ns)s AND e.key = ANY(%(keys)s::text[]) AND {_LIVE}
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

# Every statement that deletes from botwire_entries hands the store's clock to the
# feed trigger (migration 5), which classes a delete as 'expire' or 'delete' and
# times it by that clock, the one the TTLs come from: a transaction-local setting,
# set by an uncorrelated subquery (an init plan, run once, before the trigger fires
# at the end of the statement): no statement or round trip of its own.
_NOW_SET = "(SELECT set_config('botwire.now', %(now)s::float8::text, true)) IS NOT NULL"

_DELETE_SQL = f"""
DELETE FROM botwire_entries WHERE ns = %(ns)s AND key = %(key)s AND {_NOW_SET}
RETURNING expires_at
"""

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

_DROP_SQL = f"DELETE FROM botwire_entries WHERE ns = %(ns)s AND key = %(key)s AND {_NOW_SET}"

_RESTORE_SQL = """
INSERT INTO botwire_entries (ns, key, raw, is_list, length, bytes, version, created_at,
                             updated_at, expires_at)
VALUES (%(ns)s, %(key)s, %(raw)s, FALSE, 0, %(bytes)s, %(version)s, %(created)s,
        %(updated)s, %(expires)s)
"""

_USAGE_SQL = f"""
SELECT count(*), coalesce(sum(e.bytes), 0), {_STORED.format(keys="")}
FROM botwire_entries e WHERE e.ns = %(ns)s AND {_LIVE}
"""

# The namespace size quota (botwire._plans.checked_plan), in PL/pgSQL functions of
# migration 4 so that a checked write costs few round trips: botwire_quota_start
# (the lock and the start read, one call) and botwire_checked_set (a whole checked
# set, one autocommit statement like an unchecked one). Every write to a namespace
# updates its feed head row (the feed trigger), so locking that row first, until
# commit, lets no other writer of the namespace commit between the check and the
# write, in any process; a new namespace gets its row at seq 0 (as if absent).
_HEAD = "(SELECT seq FROM botwire_feed_heads WHERE ns = %(ns)s)"
_KEYS_STORED = _STORED.format(keys=" AND key = ANY(%(keys)s::text[])")
_QUOTA_START_SQL = "SELECT * FROM botwire_quota_start(%(ns)s, %(keys)s::text[])"
# Keep the new count, or raise past the limit (quota_refused): no answer to wait for,
# so a pipelined transaction sends it with its COMMIT.
_QUOTA_SAVE_SQL = """
SELECT botwire_quota_save(%(ns)s::text, %(keys)s::text[], %(total)s::bigint,
    %(before)s::bigint, %(max_bytes)s::bigint)
"""
_CHECKED_SET_SQL = """
SELECT * FROM botwire_checked_set(%(ns)s::text, %(key)s::text, %(raw)s::text,
    %(bytes)s::bigint, %(now)s::float8, %(expires)s::float8, %(if_version)s::bigint,
    %(id)s::text, %(max_bytes)s::bigint)
"""
_QUOTA_REFUSED = "BWQ01"  # botwire_checked_set's SQLSTATE for a write past the limit
_QUOTA_LOCKS = """
        SELECT seq INTO v_head FROM botwire_feed_heads WHERE ns = p_ns FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            INSERT INTO botwire_feed_heads AS h (ns, seq, trimmed) VALUES (p_ns, 0, 0)
                ON CONFLICT (ns) DO UPDATE SET seq = h.seq RETURNING h.seq INTO v_head;
        END IF;
        SELECT bytes, seq INTO v_counted, v_counted_seq FROM botwire_ns_bytes
        WHERE ns = p_ns FOR NO KEY UPDATE;
""".strip()


def _plpgsql(sql: str) -> str:
    """A statement's text for a PL/pgSQL body: ``%(name)s`` becomes ``p_name``
    (``%(length)s``, an id's record of a set: ``p_bytes``, the bytes written)."""
    body = re.sub(r"%\((\w+)\)s", r"p_\1", sql.replace("%(length)s", "%(bytes)s"))
    assert "%(" not in body, body
    return body.strip()


# The start's locks (PL/pgSQL): the head row, created at seq 0 if new, and the count
# row (absent: no count yet); each returns the row's newest version once locked.
_QUOTA_START_VARS = "v_head BIGINT; v_counted BIGINT; v_counted_seq BIGINT;"
# The check and the new count (PL/pgSQL), from v_total (the namespace's bytes) and
# v_before (the keys' bytes before the writes). Refused: SQLSTATE _QUOTA_REFUSED,
# DETAIL "<bytes held> <bytes added> <limit> <namespace>", nothing written.
_QUOTA_KEEP = f"""
        v_after := {_plpgsql(_KEYS_STORED)};
        IF v_after > v_before AND v_total + v_after - v_before > p_max_bytes THEN
            RAISE EXCEPTION 'namespace % is full', p_ns USING ERRCODE = '{_QUOTA_REFUSED}',
                DETAIL = v_total || ' ' || (v_after - v_before) || ' ' || p_max_bytes
                    || ' ' || p_ns;
        END IF;
        INSERT INTO botwire_ns_bytes AS n (ns, bytes, seq)
        VALUES (p_ns, v_total + v_after - v_before, {_plpgsql(_HEAD)})
        ON CONFLICT (ns) DO UPDATE SET bytes = excluded.bytes, seq = excluded.seq;
""".strip()

_MIGRATIONS[4] = f"""
    -- Bytes stored per namespace, what --max-namespace-bytes counts (see
    -- botwire._plans.checked_plan): keys, values and idempotency ids. Kept by the
    -- writes that check a limit, in their transaction, under the namespace's feed
    -- head row lock; exact as of the feed seq ``seq``: a write that did not keep it
    -- (no limit) moved the feed on, and the next checked write counts the namespace
    -- again. Counted here for the data already stored.
    CREATE TABLE botwire_ns_bytes (
        ns TEXT COLLATE "C" PRIMARY KEY,
        bytes BIGINT NOT NULL,
        seq BIGINT NOT NULL
    );
    INSERT INTO botwire_ns_bytes (ns, bytes, seq)
    SELECT t.ns, sum(t.b), coalesce((SELECT h.seq FROM botwire_feed_heads h WHERE h.ns = t.ns), 0)
    FROM (SELECT ns, {_KEY_BYTES} + bytes AS b FROM botwire_entries
          UNION ALL SELECT ns, {_ID_BYTES} FROM botwire_append_ids) t
    GROUP BY t.ns;
    -- The quota check's start, one call: lock the namespace's feed head row (and its
    -- count, which an id purge updates: it then waits and subtracts from the count
    -- this write keeps) until commit; then, in a statement of its own (a snapshot
    -- taken once the locks are held, so it sees every write committed before), the
    -- feed head, the kept count and the bytes the keys p_keys store now.
    CREATE FUNCTION botwire_quota_start(p_ns TEXT, p_keys TEXT[])
    RETURNS TABLE (head_seq BIGINT, counted BIGINT, counted_seq BIGINT, keys_bytes BIGINT)
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
        {_QUOTA_START_VARS}
    BEGIN
        {_QUOTA_LOCKS}
        RETURN QUERY SELECT v_head, v_counted, v_counted_seq,
            ({_plpgsql(_KEYS_STORED)})::bigint;
    END $$;
    -- The quota check's end, after a batch's writes: the keys' bytes now, the check
    -- and the new count (refused: SQLSTATE {_QUOTA_REFUSED}, nothing written).
    CREATE FUNCTION botwire_quota_save(p_ns TEXT, p_keys TEXT[], v_total BIGINT,
        v_before BIGINT, p_max_bytes BIGINT) RETURNS VOID
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
        v_after BIGINT;
    BEGIN
        {_QUOTA_KEEP}
    END $$;
    -- A checked set of one key (botwire._plans.checked_set_plan), whole: the start,
    -- a recount if another writer moved the feed past the count, the set as set_plan
    -- runs it (the statements of _CLAIM_ID_SQL, _SEEN_ID_SQL, _SET_SQL,
    -- _CREATE_ONLY_SQL, _UPDATE_IF_SQL, _RECORD_ID_SQL), the check and the new count.
    -- Returns the version and bytes written, or those an id seen before recorded
    -- (NULLs: a conditional write missed; nothing written). Past the limit it raises
    -- SQLSTATE {_QUOTA_REFUSED}, DETAIL "<bytes held> <bytes added>": the statement
    -- writes nothing.
    CREATE FUNCTION botwire_checked_set(p_ns TEXT, p_key TEXT, p_raw TEXT, p_bytes BIGINT,
        p_now DOUBLE PRECISION, p_expires DOUBLE PRECISION, p_if_version BIGINT,
        p_id TEXT, p_max_bytes BIGINT, OUT o_version BIGINT, OUT o_bytes BIGINT)
    LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
        p_keys TEXT[] := ARRAY[p_key];
        {_QUOTA_START_VARS}
        v_before BIGINT;
        v_total BIGINT;
        v_after BIGINT;
        v_claimed INT;
    BEGIN
        {_QUOTA_LOCKS}
        v_before := {_plpgsql(_KEYS_STORED)};  -- botwire_quota_start's, inline: faster
        IF v_counted IS NOT NULL AND v_counted_seq = v_head THEN
            v_total := v_counted;
        ELSE
            v_total := {_plpgsql(_STORED.format(keys=""))};
        END IF;
        IF p_id IS NOT NULL THEN
            {_plpgsql(_CLAIM_ID_SQL)} INTO v_claimed;
            IF v_claimed IS NULL THEN
                {_plpgsql(_SEEN_ID_SQL.replace(", length", ", length INTO o_version, o_bytes"))};
            END IF;
        END IF;
        IF o_version IS NULL THEN
            IF p_if_version IS NULL THEN
                {_plpgsql(_SET_SQL)} INTO o_version;
            ELSIF p_if_version = 0 THEN
                {_plpgsql(_CREATE_ONLY_SQL)} INTO o_version;
            ELSE
                {_plpgsql(_UPDATE_IF_SQL)} INTO o_version;
            END IF;
            IF o_version IS NULL THEN  -- a conditional write missed: no id either
                IF v_claimed IS NOT NULL THEN
                    DELETE FROM botwire_append_ids
                    WHERE ns = p_ns AND key = p_key AND id = p_id;
                END IF;
                RETURN;
            END IF;
            o_bytes := p_bytes;
            IF p_id IS NOT NULL THEN
                {_plpgsql(_RECORD_ID_SQL.replace("%(version)s", "o_version"))};
            END IF;
        END IF;
        {_QUOTA_KEEP}
    END $$;
    """

# A delete's time in migration 5's trigger: the deleting statement's botwire.now (the
# store's clock, see _NOW_SET), else (another client's DELETE) the database's clock.
_STORE_CLOCK = f"coalesce(nullif(current_setting('botwire.now', true), '')::float8, {_DB_CLOCK})"

_MIGRATIONS[5] = f"""
    -- A delete is classed ('expire': the key's TTL had passed, else 'delete') and timed
    -- by the store's clock, the one its TTLs and timestamps come from: the statements
    -- that delete set it as botwire.now for their transaction (see _NOW_SET). Without
    -- it (another client's DELETE), the database's clock, as schema 3 and 4 did
    -- always: with a clock passed to the store, deletes were then classed and kept
    -- for retention by another time than their TTLs.
    {_feed_function("CREATE OR REPLACE", _STORE_CLOCK)}
    """

_NAMESPACES_SQL = f"SELECT DISTINCT e.ns FROM botwire_entries e WHERE {_LIVE} ORDER BY e.ns"

# Purges go in slices of botwire._plans._PURGE_SLICE rows, each its own short transaction, and
# skip rows another transaction holds (an appender reviving an expired key, or a
# purge in another server process) instead of waiting for them.
_PURGE_SQL = f"""
DELETE FROM botwire_entries WHERE (ns, key) IN (
    SELECT ns, key FROM botwire_entries
    WHERE expires_at IS NOT NULL AND expires_at <= %(now)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED) AND {_NOW_SET}
"""
# Day-old ids go with their bytes off the namespace counts, in one statement; the
# answer has a row per id deleted (the plan reads the row count).
_PURGE_IDS_SQL = f"""
WITH gone AS (
    DELETE FROM botwire_append_ids WHERE (ns, key, id) IN (
        SELECT ns, key, id FROM botwire_append_ids WHERE created_at < %(before)s
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
    RETURNING ns, {_ID_BYTES} AS b
), counted AS (
    UPDATE botwire_ns_bytes n SET bytes = n.bytes - g.b
    FROM (SELECT ns, sum(b) AS b FROM gone GROUP BY ns) g WHERE n.ns = g.ns
)
SELECT 1 FROM gone
"""
_PURGE_COUNTS_SQL = """
DELETE FROM botwire_write_counts WHERE ns IN (
    SELECT ns FROM botwire_write_counts WHERE day < %(day)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
"""
_SNAPSHOT_SQL = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


# -- the change feed (the plans in botwire._plans; the trigger in migrations 3 and 5) --

_FEED_HEAD_SQL = "SELECT seq, trimmed FROM botwire_feed_heads WHERE ns = %(ns)s"

_FEED_HEADS_SQL = "SELECT ns, seq, trimmed FROM botwire_feed_heads WHERE seq > trimmed"

_FEED_FIRST_KEPT_SQL = """
SELECT seq FROM botwire_changes
WHERE ns = %(ns)s AND seq > %(after)s AND at >= %(before)s ORDER BY seq LIMIT 1
"""

_FEED_TRIM_SQL = "DELETE FROM botwire_changes WHERE ns = %(ns)s AND seq <= %(cut)s"

_FEED_TRIMMED_SQL = """
UPDATE botwire_feed_heads SET trimmed = %(cut)s WHERE ns = %(ns)s AND trimmed < %(cut)s
"""


def _feed_changes(prefixed: bool, bounded: bool) -> str:
    sql = (
        "SELECT seq, key, kind, version, value, omitted FROM botwire_changes "
        "WHERE ns = %(ns)s AND seq > %(since)s AND seq <= %(head)s"
    )
    if prefixed:
        sql += " AND key >= %(lower)s"
    if bounded:
        sql += " AND key < %(upper)s"
    return sql + " ORDER BY seq LIMIT %(limit)s"


def _get_many(keys: Sequence[str]) -> tuple[str, dict[str, Any]]:
    return _GET_MANY_SQL, {"keys": list(keys)}


def _create_list(params: Mapping[str, Any]) -> list[Query]:
    return [Query(_CREATE_LIST_SQL, params, "one")]


def _extend_list(params: Mapping[str, Any]) -> list[Query]:
    return [Query(_EXTEND_LIST_SQL, params)]


def _list_keys(strict: bool, bounded: bool, limited: bool) -> str:
    sql = (
        "SELECT e.key FROM botwire_entries e "
        f"WHERE e.ns = %(ns)s AND e.key {'>' if strict else '>='} %(lower)s"
    )
    if bounded:
        sql += " AND e.key < %(upper)s"
    sql += f" AND {_LIVE} ORDER BY e.key"
    if limited:
        sql += " LIMIT %(limit)s"
    return sql


def _unique_violation(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == _UNIQUE_VIOLATION


def _quota_refused(exc: BaseException) -> tuple[str, int, int, int] | None:
    if getattr(exc, "sqlstate", None) != _QUOTA_REFUSED:
        return None
    held, added, limit, ns = exc.diag.message_detail.split(" ", 3)  # type: ignore[attr-defined]
    return ns, int(held), int(added), int(limit)


DIALECT = Dialect(
    get=_GET_SQL,
    list_items=None,  # _GET_SQL joins a list's items itself
    get_many=_get_many,
    set=_SET_SQL,
    set_value=None,
    create_only=_CREATE_ONLY_SQL,
    update_if=_UPDATE_IF_SQL,
    version=_VERSION_SQL,
    delete=_DELETE_SQL,
    lock=_LOCK_SQL,
    lock_many=_LOCK_MANY_SQL,
    snapshot=_SNAPSHOT_SQL,
    seen_id=_SEEN_ID_SQL,
    claim_id=_CLAIM_ID_SQL,
    record_id=_RECORD_ID_SQL,
    drop=_DROP_SQL,
    restore=_RESTORE_SQL,
    create_list=_create_list,
    extend_list=_extend_list,
    append_fast=_APPEND_FAST_SQL,
    list_keys=_list_keys,
    usage=_USAGE_SQL,
    quota_start=_QUOTA_START_SQL,
    quota_save=_QUOTA_SAVE_SQL,
    quota_keys=list,
    checked_set=_CHECKED_SET_SQL,
    quota_refused=_quota_refused,
    namespaces=_NAMESPACES_SQL,
    count_writes=_COUNT_WRITES_SQL,
    writes_on=_WRITES_ON_SQL,
    purge=_PURGE_SQL,
    purge_ids=_PURGE_IDS_SQL,
    purge_counts=_PURGE_COUNTS_SQL,
    unique_violation=_unique_violation,
    feed_head=_FEED_HEAD_SQL,
    feed_changes=_feed_changes,
    feed_items=None,  # the trigger reads an append's items itself
    feed_heads=_FEED_HEADS_SQL,
    feed_first_kept=_FEED_FIRST_KEPT_SQL,
    feed_trim=_FEED_TRIM_SQL,
    feed_trimmed=_FEED_TRIMMED_SQL,
)


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
