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
    """How much of a namespace is used."""

    keys: int
    bytes: int


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
