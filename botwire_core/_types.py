"""Plain data passed between the clients and the stores.

Named tuples rather than dataclasses: immutable, cheap to create on every call,
and importing them does not pull in ``dataclasses``/``inspect`` (import time).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, TypeAlias

from botwire._codec import decode

__all__ = [
    "AppendOp",
    "AppendResult",
    "Change",
    "ChangeKind",
    "ChangePage",
    "ChangeRecord",
    "DeleteOp",
    "GetOp",
    "Item",
    "KeyPage",
    "Op",
    "OpResult",
    "Record",
    "RestoreOp",
    "SetOp",
    "Usage",
    "WriteResult",
]


class Record(NamedTuple):
    """A stored value as a store returns it: JSON text plus its metadata.

    Timestamps are Unix seconds (UTC).
    """

    key: str
    raw: str
    version: int
    created_at: float
    updated_at: float
    expires_at: float | None = None


class Item(NamedTuple):
    """A value with its version and timestamps, as ``Memory.get_item`` returns it."""

    key: str
    value: Any
    version: int
    created_at: float
    updated_at: float
    expires_at: float | None = None

    @classmethod
    def from_record(cls, record: Record) -> Item:
        """Decode a store :class:`Record`."""
        return cls(
            record.key,
            decode(record.raw),
            record.version,
            record.created_at,
            record.updated_at,
            record.expires_at,
        )


class WriteResult(NamedTuple):
    """What a ``set`` returns: the new version and the stored size in bytes."""

    version: int
    bytes: int


class AppendResult(NamedTuple):
    """What an ``append`` returns: the new version and the list's new length."""

    version: int
    length: int


class KeyPage(NamedTuple):
    """One page of ``list_keys``; ``next_cursor`` is ``None`` on the last page."""

    keys: list[str]
    next_cursor: str | None = None


class Usage(NamedTuple):
    """How much of a namespace is used.

    ``keys``: live keys; ``bytes``: their values' bytes (encoded JSON, UTF-8);
    ``stored_bytes``: everything the namespace stores, what the server's
    ``--max-namespace-bytes`` counts: each key's bytes plus its value's (a list's
    items included), plus each remembered idempotency id's bytes and its key's,
    expired keys included until the sweep removes them (0: the store does not
    count it).
    """

    keys: int
    bytes: int
    stored_bytes: int = 0


class GetOp(NamedTuple):
    """Batch operation: read ``key`` (result: :class:`Record` or ``None``)."""

    key: str

    @property
    def op(self) -> Literal["get"]:
        """The operation's name on the wire."""
        return "get"


class SetOp(NamedTuple):
    """Batch operation: write ``raw`` JSON text under ``key`` (result: WriteResult).

    An ``id`` (idempotency id) seen before for the same key returns the first
    result again instead of writing twice, as for :class:`AppendOp`.
    """

    key: str
    raw: str
    ttl: float | None = None
    if_version: int | None = None
    id: str | None = None

    @property
    def op(self) -> Literal["set"]:
        """The operation's name on the wire."""
        return "set"


class DeleteOp(NamedTuple):
    """Batch operation: delete ``key`` (result: ``True`` if it existed)."""

    key: str

    @property
    def op(self) -> Literal["delete"]:
        """The operation's name on the wire."""
        return "delete"


class AppendOp(NamedTuple):
    """Batch operation: append JSON-text items to the list at ``key`` (AppendResult)."""

    key: str
    raws: tuple[str, ...]
    id: str | None = None

    @property
    def op(self) -> Literal["append"]:
        """The operation's name on the wire."""
        return "append"


class RestoreOp(NamedTuple):
    """Batch operation: write a record verbatim, version and timestamps included.

    Used by ``botwire import`` so an export/import round trip is lossless
    (result: :class:`WriteResult`).
    """

    key: str
    raw: str
    version: int
    created_at: float
    updated_at: float
    expires_at: float | None = None

    @property
    def op(self) -> Literal["restore"]:
        """The operation's name on the wire."""
        return "restore"


Op: TypeAlias = GetOp | SetOp | DeleteOp | AppendOp | RestoreOp
OpResult: TypeAlias = Record | None | WriteResult | bool | AppendResult


ChangeKind: TypeAlias = Literal["set", "append", "delete", "expire"]
"""What a change did: ``set`` (the new value), ``append`` (the appended items),
``delete`` or ``expire`` (no value)."""


class ChangeRecord(NamedTuple):
    """One change as a store returns it (the value still JSON text).

    ``raw`` is ``None`` for a delete or an expiry, and when the value is not in the
    feed (then ``omitted`` is true): larger than ``botwire.FEED_VALUE_MAX_BYTES``, or,
    on SQLite, larger than ``FEED_VALUE_INLINE_BYTES`` and overwritten since.
    """

    seq: int
    key: str
    kind: ChangeKind
    version: int
    raw: str | None
    omitted: bool = False


class ChangePage(NamedTuple):
    """Changes after a ``since``, in commit order, and the ``since`` of the next read."""

    changes: list[ChangeRecord]
    next: int


class Change(NamedTuple):
    """One change to a key, as ``Memory.watch`` yields it.

    Attributes:
        seq: the change's position in its namespace's feed: strictly increasing in
            commit order (not necessarily consecutive). Pass it as ``since=`` to
            resume right after this change.
        key: the key written.
        kind: ``"set"``, ``"append"``, ``"delete"`` or ``"expire"``.
        version: the key's version after the write (for a delete or an expiry:
            the version it had).
        value: a set's new value; an append's appended items (a list); ``None``
            for a delete or an expiry, and when ``value_omitted``.
        value_omitted: the value is not in the feed: read the key
            (``memory.get(key)``) for it. Either it was larger than
            ``FEED_VALUE_MAX_BYTES``, or (on SQLite, for a value over 128 bytes, which
            is read from the key's row rather than copied) the key was written again
            or deleted before this change was read.
    """

    seq: int
    key: str
    kind: ChangeKind
    version: int
    value: Any
    value_omitted: bool = False

    @classmethod
    def from_record(cls, record: ChangeRecord) -> Change:
        """Decode a store :class:`ChangeRecord`."""
        value = None if record.raw is None else decode(record.raw)
        return cls(record.seq, record.key, record.kind, record.version, value, record.omitted)
