"""The semantics of every SQL store, written once and free of I/O (DESIGN.md §8).

Each operation is a *plan*: a generator that yields :class:`Query` objects, receives
each query's result (a row, all rows, a row count or the version written) and
returns the operation's result. A driver error is thrown into the plan at the
``yield`` that caused it, so a plan can handle the ones it expects.

A plan knows the rules (versions, TTL, lists and their windows, cursors, idempotency
ids, batch dispatch) and nothing about the database it runs on: the SQL text of
each step comes from a :class:`Dialect` (``botwire._sqlite_sql`` for SQLite,
``botwire._postgres_sql`` for PostgreSQL), and a store's driver runs the queries
(``sqlite3``; psycopg, blocking or asyncio). Adding an operation is one plan here
plus its SQL in each dialect.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

from botwire._codec import decode, encode, encoded_size
from botwire._cursors import decode_cursor, encode_cursor, prefix_upper_bound, split_list
from botwire._errors import (
    ChangesExpiredError,
    ConflictError,
    NotAListError,
    QuotaExceededError,
    ValidationError,
)
from botwire._types import (
    AppendResult,
    ChangePage,
    ChangeRecord,
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
    "Dialect",
    "Plan",
    "Query",
    "append_fast_plan",
    "append_plan",
    "batch_plan",
    "changes_plan",
    "checked_in_one",
    "checked_plan",
    "checked_set_plan",
    "count_writes_plan",
    "delete_plan",
    "get_many_plan",
    "get_plan",
    "is_read_only",
    "last_seq_plan",
    "list_keys_plan",
    "namespaces_plan",
    "purge_plan",
    "quota_error",
    "restore_plan",
    "set_plan",
    "trim_changes_plan",
    "usage_plan",
    "writes_on_plan",
]

T = TypeVar("T")

ID_TTL = 86400.0  # seconds an idempotency id is remembered
_PURGE_SLICE = 5000  # rows per purge statement (dialects that cannot limit delete all)
_GET_MANY_CHUNK = 500  # keys per read of a reads-only batch (SQLite's variable limit)

FEED_VALUE_MAX_BYTES = 64 * 1024
"""A set's value (or an append's items) larger than this, encoded, is not copied into
the change feed: the change says ``value_omitted`` and the reader reads the key."""
FEED_RETENTION_SECONDS = 86400.0
"""Default time a change stays in the feed (``BOTWIRE_FEED_RETENTION``)."""
FEED_RETENTION_CHANGES = 100_000
"""Default number of changes a namespace's feed keeps (``BOTWIRE_FEED_MAX_CHANGES``)."""
FEED_PAGE = 1000
"""Most changes one read of the feed returns."""


def feed_retention_settings(retention: float | None, max_changes: int | None) -> tuple[float, int]:
    """The feed's retention, for every store: the arguments, else ``BOTWIRE_FEED_RETENTION``
    and ``BOTWIRE_FEED_MAX_CHANGES``, else the defaults.

    Raises:
        ValidationError: not a positive number of seconds, or not at least 1 change.
    """
    if retention is None:
        retention = _from_env("BOTWIRE_FEED_RETENTION", float, FEED_RETENTION_SECONDS)
    if max_changes is None:
        max_changes = _from_env("BOTWIRE_FEED_MAX_CHANGES", int, FEED_RETENTION_CHANGES)
    if isinstance(retention, bool) or not isinstance(retention, (int, float)):
        raise ValidationError(f"feed_retention must be seconds, not {retention!r}")
    if isinstance(max_changes, bool) or not isinstance(max_changes, int):
        raise ValidationError(f"feed_max_changes must be a whole number, not {max_changes!r}")
    if not retention > 0 or max_changes < 1:  # not > 0: NaN too
        raise ValidationError(
            "the feed keeps changes for a positive number of seconds and at least 1 change"
        )
    return float(retention), max_changes


def _from_env(variable: str, kind: Callable[[str], Any], default: Any) -> Any:
    text = os.environ.get(variable)
    if text is None:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ValidationError(f"${variable} must be a number, not {text[:40]!r}") from None


FULL_RETRY_AFTER = 60.0
"""``retry_after`` of a full namespace: nothing frees space by itself, so a nominal wait."""

Fetch = Literal["one", "all", "rowcount", "written", "none"]
"""What a driver sends back for a query.

``one``: the first row or ``None``; ``all``: every row; ``rowcount``: rows changed;
``written``: the version the statement wrote (its only result column, or how the
dialect reports it), ``None`` if it changed no row; ``none``: nothing.
"""


class Query(NamedTuple):
    """One statement for a driver to execute; the driver sends back ``fetch``.

    With ``each``, the statement runs once per mapping (``executemany``) instead of
    once with ``params``.
    """

    sql: str
    params: Mapping[str, Any] | None = None
    fetch: Fetch = "none"
    each: Sequence[Mapping[str, Any]] | None = None


Plan = Generator[Query, Any, T]
"""An operation: yields queries, receives each one's result, returns its own."""


class Dialect(NamedTuple):
    """The SQL text of every step of the plans, for one database engine.

    Row shapes are fixed by the plans: ``get`` selects ``raw, is_list, version,
    created_at, updated_at, expires_at, items`` (``items``: a list's items joined
    into JSON text, or ``NULL`` and the plan reads ``list_items``); ``get_many``
    the same after ``key``; ``lock`` selects ``raw, is_list, length, version,
    expires_at``. Optional steps are ``None`` where an engine does not need them.
    The steps that delete keys (``delete``, ``drop``, ``purge``) get ``now``, the
    store's clock, for the change feed's record of the delete.
    """

    get: str
    list_items: str | None  # None: ``get`` already joins a list's items
    get_many: Callable[[Sequence[str]], tuple[str, dict[str, Any]]]
    set: str  # "written"
    set_value: str | None  # a set without TTL of a non-list; None: ``set`` does it
    create_only: str  # "written"
    update_if: str  # "written"
    version: str
    delete: str  # RETURNING expires_at
    lock: str
    lock_many: str | None  # None: the transaction already holds the write lock
    snapshot: str | None  # None: a read transaction already sees one snapshot
    seen_id: str
    claim_id: str
    record_id: str
    drop: str
    restore: str
    create_list: Callable[[Mapping[str, Any]], list[Query]]
    extend_list: Callable[[Mapping[str, Any]], list[Query]]
    append_fast: str | None
    list_keys: Callable[[bool, bool, bool], str]  # (strict, bounded, limited)
    usage: str
    namespaces: str
    count_writes: str
    writes_on: str
    purge: str
    purge_ids: str
    purge_counts: str
    unique_violation: Callable[[BaseException], bool]
    # The change feed. The database records every write to ``entries`` itself (by
    # trigger, in the writing transaction: a rolled-back write never appears, a
    # batch's changes commit together), numbered per namespace in commit order;
    # ``None``: the engine has no feed.
    feed_head: str | None = None  # the namespace's newest seq and trimmed-up-to seq
    feed_changes: Callable[[bool, bool], str] | None = None  # (prefixed, bounded)
    feed_items: str | None = None  # an append's items, into the change just recorded
    feed_heads: str | None = None  # every namespace with changes: ns, newest, trimmed
    feed_first_kept: str | None = None  # the first change of a namespace at/after :before
    feed_trim: str | None = None  # drop a namespace's changes up to :cut
    feed_trimmed: str | None = None  # and remember the cut in its head row
    # The namespace size quota (checked_plan); ``None``: the engine cannot check it.
    quota_start: str | None = None  # feed head, kept count (bytes, seq), :keys' bytes
    quota_save: str | None = None  # keep the new count unless past :max_bytes (rowcount;
    # with quota_refused: raise it instead, no answer)
    quota_keys: Callable[[Sequence[str]], Any] | None = None  # the :keys parameter
    purge_ids_counted: str | None = None  # before purge_ids: take their bytes off
    # checked_plan of one set, whole, in one statement ("one": version and bytes, or
    # NULLs if a conditional set missed; see checked_set_plan); None: checked_plan.
    checked_set: str | None = None
    # A driver error that refuses a write past the limit: (namespace, bytes held, bytes
    # added, limit), else None. Set: checked_set and quota_save raise it instead of
    # answering (quota_save "none": a driver may send it with the COMMIT).
    quota_refused: Callable[[BaseException], tuple[str, int, int, int] | None] | None = None


def _record(
    d: Dialect, ns: str, key: str, row: Sequence[Any], last: int | None, want_list: bool
) -> Plan[Record]:
    """Complete a ``get`` row into a record: a list's items, a window, the list check."""
    raw, is_list, version, created, updated, expires, items = row
    if is_list:
        if items is None and d.list_items is not None:
            rows = yield Query(d.list_items, {"ns": ns, "key": key, "last": last}, "all")
            items = "[" + ",".join(r[0] for r in reversed(rows)) + "]"
        raw = items
    elif want_list:
        if not raw.startswith("["):
            raise NotAListError.at(key, "get_list")
        if last is not None:
            raw = encode(decode(raw)[-last:] if last else [], max_bytes=None)
    return Record(key, raw, version, created, updated, expires)


def get_plan(
    d: Dialect, ns: str, key: str, now: float, last: int | None = None, want_list: bool = False
) -> Plan[Record | None]:
    """Read one key (with ``want_list``: a list, its last ``last`` items if given)."""
    row = yield Query(d.get, {"ns": ns, "key": key, "now": now, "last": last}, "one")
    if row is None:
        return None
    return (yield from _record(d, ns, key, row, last, want_list))


def get_many_plan(
    d: Dialect, ns: str, keys: Sequence[str], now: float
) -> Plan[list[Record | None]]:
    """Read many keys, a few hundred per query; results in the order of ``keys``."""
    found: dict[str, Record] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _GET_MANY_CHUNK):
        sql, params = d.get_many(unique[start : start + _GET_MANY_CHUNK])
        rows = yield Query(sql, dict(params, ns=ns, now=now, last=None), "all")
        for row in rows:
            found[row[0]] = yield from _record(d, ns, row[0], row[1:], None, False)
    return [found.get(key) for key in keys]


def set_plan(
    d: Dialect,
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
        claimed = yield Query(d.claim_id, ids, "one")
        if claimed is None:
            seen = yield Query(d.seen_id, ids, "one")
            if seen is not None:
                return WriteResult(seen[0], seen[1])
    size = encoded_size(raw)
    expires = now + ttl if ttl is not None else None
    params: dict[str, Any] = {
        "ns": ns,
        "key": key,
        "raw": raw,
        "bytes": size,
        "now": now,
        "expires": expires,
    }
    version: int | None = None
    if if_version is None:
        if expires is None and d.set_value is not None:
            version = yield Query(d.set_value, params, "written")  # None: the key holds a list
        if version is None:
            version = yield Query(d.set, params, "written")
    else:
        sql = d.create_only if if_version == 0 else d.update_if
        version = yield Query(sql, dict(params, if_version=if_version), "written")
    if version is None:  # only a conditional write misses
        current = yield Query(d.version, {"ns": ns, "key": key, "now": now}, "one")
        raise ConflictError.expected(key, if_version or 0, current[0] if current else 0)
    if id is not None:
        yield Query(
            d.record_id, {"ns": ns, "key": key, "id": id, "version": version, "length": size}
        )
    return WriteResult(version, size)


def delete_plan(d: Dialect, ns: str, key: str, now: float) -> Plan[bool]:
    """Delete one key; True if it existed and had not expired."""
    row = yield Query(d.delete, {"ns": ns, "key": key, "now": now}, "one")
    return row is not None and (row[0] is None or row[0] > now)


def _append_params(
    ns: str, key: str, raws: Sequence[str], id: str | None, now: float
) -> dict[str, Any]:
    return {
        "ns": ns,
        "key": key,
        "id": id,
        "now": now,
        "raws": list(raws),
        "count": len(raws),
        "added": sum(encoded_size(r) for r in raws) + len(raws),  # items and commas
    }


def append_fast_plan(
    d: Dialect, ns: str, key: str, raws: Sequence[str], id: str | None, now: float
) -> Plan[AppendResult | None]:
    """Append to an existing list in one statement (autocommit); None: use append_plan."""
    if d.append_fast is None:
        return None
    try:
        row = yield Query(d.append_fast, _append_params(ns, key, raws, id, now), "one")
    except Exception as exc:
        if d.unique_violation(exc):
            return None  # a concurrent retry with this id won; the locked path reports it
        raise
    return AppendResult(row[0], row[1]) if row is not None else None


def append_plan(
    d: Dialect, ns: str, key: str, raws: Sequence[str], id: str | None, now: float
) -> Plan[AppendResult]:
    """Append under the key's row lock (run inside a transaction).

    A list written whole with ``set`` is split into item rows on its first append.
    """
    base = _append_params(ns, key, raws, id, now)
    while True:
        row = yield Query(d.lock, base, "one")
        if row is not None and id is not None:
            seen = yield Query(d.seen_id, base, "one")
            if seen is not None:
                return AppendResult(seen[0], seen[1])
        if row is not None and row[4] is not None and row[4] <= now:
            yield Query(d.drop, base)  # expired: start afresh, as if absent
            row = None
        if row is None:
            params = dict(base, start=0, version=1, length=len(raws), bytes=base["added"] + 1)
            first, *rest = d.create_list(params)
            created = yield first
            if created is not None and created[0]:
                for query in rest:
                    yield query
                yield from _feed_items(d, ns, raws)
                return AppendResult(1, len(raws))
            continue  # a concurrent appender created the key: lock its row
        raw, is_list, length, version, _expires = row
        if is_list:
            start, items = length, list(raws)
        else:
            whole = split_list(raw)
            if whole is None:
                raise NotAListError.at(key, "append")
            start, items = 0, whole + list(raws)
        result = AppendResult(version + 1, start + len(items))
        params = dict(base, raws=items, start=start, version=result.version, length=result.length)
        for query in d.extend_list(params):
            yield query
        yield from _feed_items(d, ns, raws)
        return result


def _feed_items(d: Dialect, ns: str, raws: Sequence[str]) -> Plan[None]:
    """Put an append's items into the change its write just recorded."""
    if d.feed_items is None:
        return
    items = "[" + ",".join(raws) + "]"
    omitted = encoded_size(items) > FEED_VALUE_MAX_BYTES
    params = {"ns": ns, "items": None if omitted else items, "omitted": omitted}
    yield Query(d.feed_items, params)


def restore_plan(d: Dialect, ns: str, op: RestoreOp, now: float) -> Plan[WriteResult]:
    """Write a record verbatim, version and timestamps included (``botwire import``).

    A version names one value for the life of a key: over a live key, the record
    gets ``max(op.version, live version + 1)``, so a restore never takes a key's
    version back nor repeats one a reader may hold (as an ETag) for another value.
    """
    size = encoded_size(op.raw)
    current = yield Query(d.version, {"ns": ns, "key": op.key, "now": now}, "one")
    version = op.version if current is None else max(op.version, int(current[0]) + 1)
    yield Query(d.drop, {"ns": ns, "key": op.key, "now": now})
    yield Query(
        d.restore,
        {
            "ns": ns,
            "key": op.key,
            "raw": op.raw,
            "bytes": size,
            "version": version,
            "created": op.created_at,
            "updated": op.updated_at,
            "expires": op.expires_at,
        },
    )
    return WriteResult(version, size)


def is_read_only(ops: Sequence[Op]) -> bool:
    """True if a batch only reads."""
    return all(isinstance(op, GetOp) for op in ops)


def batch_plan(d: Dialect, ns: str, ops: Sequence[Op], now: float) -> Plan[list[OpResult]]:
    """Run ``ops`` in order inside the caller's transaction.

    Each op runs the plan its kind names in ``_OP_PLANS`` (the one dispatch on kinds).
    """
    if is_read_only(ops):
        if len(ops) > 1 and d.snapshot is not None:
            yield Query(d.snapshot)  # several reads: one consistent snapshot
        found = yield from get_many_plan(d, ns, [op.key for op in ops], now)
        return list(found)
    written = sorted({op.key for op in ops if not isinstance(op, GetOp)})
    if len(written) > 1 and d.lock_many is not None:
        # Lock the rows up front in key order, so that two batches touching the same
        # keys in different orders queue up instead of deadlocking.
        yield Query(d.lock_many, {"ns": ns, "keys": written})
    results: list[OpResult] = []
    read: dict[str, Record | None] = {}  # a key read again, unchanged since: read once
    for op in ops:
        if isinstance(op, GetOp):
            if op.key not in read:
                read[op.key] = yield from get_plan(d, ns, op.key, now)
            results.append(read[op.key])
            continue
        read.pop(op.key, None)
        results.append((yield from _op_plan(d, ns, op, now)))
    return results


_OP_PLANS: dict[str, Callable[[Dialect, str, Any, float], Plan[Any]]] = {
    "get": lambda d, ns, op, now: get_plan(d, ns, op.key, now),
    "set": lambda d, ns, op, now: set_plan(
        d, ns, op.key, op.raw, op.ttl, op.if_version, now, op.id
    ),
    "delete": lambda d, ns, op, now: delete_plan(d, ns, op.key, now),
    "append": lambda d, ns, op, now: append_plan(d, ns, op.key, op.raws, op.id, now),
    "restore": lambda d, ns, op, now: restore_plan(d, ns, op, now),
}
"""The plans' one dispatch on an operation's kind (its ``op`` name)."""


def _op_plan(d: Dialect, ns: str, op: Op, now: float) -> Plan[OpResult]:
    name = getattr(op, "op", None)
    plan = _OP_PLANS.get(name) if isinstance(name, str) else None
    if plan is None:
        raise ValidationError(f"unknown batch operation {op!r}")
    return plan(d, ns, op, now)


def list_keys_plan(
    d: Dialect, ns: str, prefix: str, limit: int | None, cursor: str | None, now: float
) -> Plan[KeyPage]:
    """One page of live keys in code point order, after ``cursor``."""
    lower, strict = prefix, False
    if cursor is not None:
        after = decode_cursor(cursor)
        if after >= lower:
            lower, strict = after, True
    if limit == 0:  # nothing to read; the caller resumes where it was
        return KeyPage([], cursor)
    upper = prefix_upper_bound(prefix)
    params: dict[str, Any] = {"ns": ns, "lower": lower, "upper": upper, "now": now}
    if limit is not None:
        params["limit"] = limit + 1
    sql = d.list_keys(strict, upper is not None, limit is not None)
    rows = yield Query(sql, params, "all")
    keys = [r[0] for r in rows]
    if limit is not None and len(keys) > limit:
        keys = keys[:limit]
        return KeyPage(keys, encode_cursor(keys[-1]))
    return KeyPage(keys, None)


def usage_plan(d: Dialect, ns: str, now: float) -> Plan[Usage]:
    """Live key count, their values' bytes and the bytes stored (see ``Usage``)."""
    row = yield Query(d.usage, {"ns": ns, "now": now}, "one")
    return Usage(int(row[0]), int(row[1]), int(row[2]))


def checked_plan(
    d: Dialect, ns: str, ops: Sequence[Op], now: float, max_bytes: int
) -> Plan[list[OpResult]]:
    """:func:`batch_plan` under a namespace size limit (run inside a write transaction).

    The namespace's stored bytes (``Usage.stored_bytes``: keys, values, list items,
    idempotency ids) after the batch must stay within ``max_bytes``, unless the batch
    does not grow them (an overwrite as large as before, a delete): else
    ``QuotaExceededError`` and the caller's transaction rolls the batch back.

    Atomic across processes: the feed head of the namespace is held (SQLite's write
    lock; PostgreSQL's head row lock) from the check to the commit. Cheap: the bytes
    of the keys written are measured before and after (indexed reads), and the
    namespace's total is kept in a count that is exact as of a feed seq; a count
    another writer has moved past (a write without a limit) is taken again from
    the data, once.
    """
    assert d.quota_start is not None and d.quota_save is not None and d.quota_keys is not None
    written = sorted({op.key for op in ops if not isinstance(op, GetOp)})
    params = {"ns": ns, "now": now, "keys": d.quota_keys(written)}
    seq, counted, counted_seq, before = yield Query(d.quota_start, params, "one")
    if counted is not None and counted_seq == seq:
        total = int(counted)
    else:
        total = (yield from usage_plan(d, ns, now)).stored_bytes
    results = yield from batch_plan(d, ns, ops, now)
    check = dict(params, total=total, before=int(before), max_bytes=max_bytes)
    if d.quota_refused is not None:  # refused: the driver error, here or at the commit
        try:
            yield Query(d.quota_save, check)
        except Exception as exc:
            refused = quota_error(d, exc)
            if refused is None:
                raise
            raise refused from None
        return results
    if (yield Query(d.quota_save, check, "rowcount")) != 1:  # not kept: past the limit
        after = int((yield Query(d.quota_start, params, "one"))[3])
        raise _full(ns, total, after - int(before), max_bytes)
    return results


def _full(ns: str, total: int, added: int, max_bytes: int) -> QuotaExceededError:
    return QuotaExceededError(
        f"namespace {ns!r} holds {total} bytes; this write of {added} bytes would "
        f"pass its limit of {max_bytes} bytes; delete keys to make room",
        retry_after=FULL_RETRY_AFTER,
    )


def quota_error(d: Dialect, exc: BaseException) -> QuotaExceededError | None:
    """The error a driver error that refuses a checked write stands for, else None."""
    refused = d.quota_refused(exc) if d.quota_refused is not None else None
    if refused is None:
        return None
    ns, total, added, max_bytes = refused
    return _full(ns, total, added, max_bytes)


def checked_in_one(d: Dialect, ops: Sequence[Op]) -> bool:
    """True if :func:`checked_set_plan` can run ``ops`` (else run :func:`checked_plan`)."""
    return d.checked_set is not None and len(ops) == 1 and isinstance(ops[0], SetOp)


def checked_set_plan(
    d: Dialect, ns: str, ops: Sequence[Op], now: float, max_bytes: int
) -> Plan[list[OpResult]]:
    """:func:`checked_plan` of one set (:func:`checked_in_one`), in one statement of
    the dialect's: run it in autocommit, it is its own transaction.

    The same rules (the head locked from the check to the commit, the count recounted
    if another writer moved the feed past it, a write that does not grow the
    namespace always allowed; an id seen before answers its first result, as in
    :func:`set_plan`) in one round trip instead of a transaction's five or more.
    """
    assert d.checked_set is not None and d.quota_refused is not None
    (op,) = ops
    assert isinstance(op, SetOp)
    params = {
        "ns": ns,
        "key": op.key,
        "raw": op.raw,
        "bytes": encoded_size(op.raw),
        "now": now,
        "expires": now + op.ttl if op.ttl is not None else None,
        "if_version": op.if_version,
        "id": op.id,
        "max_bytes": max_bytes,
    }
    try:
        version, size = yield Query(d.checked_set, params, "one")
    except Exception as exc:
        refused = quota_error(d, exc)
        if refused is None:
            raise
        raise refused from None
    if version is None:  # only a conditional write misses
        current = yield Query(d.version, {"ns": ns, "key": op.key, "now": now}, "one")
        raise ConflictError.expected(op.key, op.if_version or 0, current[0] if current else 0)
    return [WriteResult(version, size)]


def namespaces_plan(d: Dialect, now: float) -> Plan[list[str]]:
    """Every namespace with a live key, in order."""
    rows = yield Query(d.namespaces, {"now": now}, "all")
    return [r[0] for r in rows]


def count_writes_plan(
    d: Dialect, ns: str, writes: int, limit: int | None, day: int
) -> Plan[int | None]:
    """Add ``writes`` to the namespace's count of ``day`` unless it passes ``limit``.

    One statement: run it in autocommit. Returns the new count, or ``None``.
    """
    params = {"ns": ns, "writes": writes, "limit": limit, "day": day}
    row = yield Query(d.count_writes, params, "one")
    return int(row[0]) if row is not None else None


def writes_on_plan(d: Dialect, ns: str, day: int) -> Plan[int]:
    """The writes counted for the namespace on ``day`` (0 if none)."""
    row = yield Query(d.writes_on, {"ns": ns, "day": day}, "one")
    return int(row[0]) if row is not None else 0


def purge_plan(
    d: Dialect,
    now: float,
    retention: float = FEED_RETENTION_SECONDS,
    keep: int = FEED_RETENTION_CHANGES,
) -> Plan[int]:
    """Delete expired keys (their rows follow by trigger), day-old ids and old counts,
    and trim the change feed to its retention (``retention`` seconds, ``keep`` changes).

    Each statement deletes at most ``_PURGE_SLICE`` rows where the dialect can limit
    a delete; run outside a transaction, every slice then commits on its own.
    """
    total = 0
    if d.purge_ids_counted is not None:
        yield Query(d.purge_ids_counted, {"before": now - ID_TTL})
    for sql, params in (
        (d.purge, {"now": now, "limit": _PURGE_SLICE}),
        (d.purge_ids, {"before": now - ID_TTL, "limit": _PURGE_SLICE}),
        # Daily write counts of days before yesterday: nothing reads them again.
        (d.purge_counts, {"day": int(now // 86400) - 1, "limit": _PURGE_SLICE}),
    ):
        while True:
            count = yield Query(sql, params, "rowcount")
            if sql is d.purge:
                total += count
            if count < _PURGE_SLICE:
                break
    yield from trim_changes_plan(d, now, retention, keep)
    return total


# -- the change feed -------------------------------------------------------------


def _feed(d: Dialect) -> None:
    if d.feed_head is None:  # pragma: no cover - every dialect here has the feed
        raise ValidationError("this store has no change feed")


def last_seq_plan(d: Dialect, ns: str) -> Plan[int]:
    """The seq of the namespace's newest change (0: none yet)."""
    _feed(d)
    assert d.feed_head is not None
    row = yield Query(d.feed_head, {"ns": ns}, "one")
    return int(row[0]) if row is not None else 0


def changes_plan(
    d: Dialect, ns: str, since: int | None, prefix: str = "", limit: int = FEED_PAGE
) -> Plan[ChangePage]:
    """Changes to keys under ``prefix`` with a seq above ``since``, in commit order.

    ``since=None`` starts from now: no changes, and ``next`` is the newest seq. The
    namespace's head is read first, and changes up to it only, so that a change
    committed meanwhile is left for the next read, never skipped.

    Raises:
        ChangesExpiredError: changes after ``since`` were already trimmed away.
        ValidationError: ``since`` is beyond the newest change (another database's?).
    """
    _feed(d)
    assert d.feed_head is not None and d.feed_changes is not None
    row = yield Query(d.feed_head, {"ns": ns}, "one")
    head, trimmed = (int(row[0]), int(row[1])) if row is not None else (0, 0)
    if since is None or since == head:
        return ChangePage([], head)
    if since < trimmed:
        raise ChangesExpiredError(
            f"the changes of namespace {ns!r} after seq {since} are past the feed's "
            f"retention (kept: after seq {trimmed}); read the keys again and resume "
            "from last_seq()"
        )
    if since > head:
        raise ValidationError(
            f"since={since} is past the newest change of namespace {ns!r} (seq {head}); "
            "was it saved from another database?"
        )
    upper = prefix_upper_bound(prefix) if prefix else None
    params: dict[str, Any] = {
        "ns": ns,
        "since": since,
        "head": head,
        "lower": prefix,
        "upper": upper,
        "limit": limit,
    }
    rows = yield Query(d.feed_changes(bool(prefix), upper is not None), params, "all")
    # A set without its value: too large to copy, or (SQLite) left in the key's row and
    # overwritten since.
    changes = [
        ChangeRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]) or (r[4] is None and r[2] == "set"))
        for r in rows
    ]
    if len(changes) >= limit:
        return ChangePage(changes, changes[-1].seq)
    return ChangePage(changes, head)


def trim_changes_plan(d: Dialect, now: float, retention: float, keep: int) -> Plan[int]:
    """Drop changes older than ``retention`` seconds or beyond the newest ``keep`` of
    their namespace, and remember where each feed was cut. The newest change of a
    namespace is always kept: it holds the namespace's position. Returns changes dropped."""
    if d.feed_heads is None:
        return 0
    assert d.feed_first_kept is not None and d.feed_trim is not None
    assert d.feed_trimmed is not None
    dropped = 0
    heads = yield Query(d.feed_heads, {}, "all")
    for ns, head, trimmed in heads:
        cut = head - keep
        first = yield Query(
            d.feed_first_kept, {"ns": ns, "after": trimmed, "before": now - retention}, "one"
        )
        cut = min(max(cut, head if first is None else int(first[0]) - 1), head - 1)
        if cut > trimmed:
            dropped += yield Query(d.feed_trim, {"ns": ns, "cut": cut}, "rowcount")
            yield Query(d.feed_trimmed, {"ns": ns, "cut": cut})
    return int(dropped)
