"""Plain data passed between the clients and the stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from botwire._rules import decode

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


@dataclass(frozen=True, slots=True)
class Record:
    """A stored value as a store returns it: JSON text plus its metadata.

    Timestamps are Unix seconds (UTC).
    """

    key: str
    raw: str
    version: int
    created_at: float
    updated_at: float
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class Item:
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


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a ``set`` returns: the new version and the stored size in bytes."""

    version: int
    bytes: int


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an ``append`` returns: the new version and the list's new length."""

    version: int
    length: int


@dataclass(frozen=True, slots=True)
class KeyPage:
    """One page of ``list_keys``; ``next_cursor`` is ``None`` on the last page."""

    keys: list[str]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """How much of a namespace is used."""

    keys: int
    bytes: int


@dataclass(frozen=True, slots=True)
class GetOp:
    """Batch operation: read ``key`` (result: :class:`Record` or ``None``)."""

    key: str
    op: Literal["get"] = field(default="get", init=False)


@dataclass(frozen=True, slots=True)
class SetOp:
    """Batch operation: write ``raw`` JSON text under ``key`` (result: WriteResult).

    An ``id`` (idempotency id) seen before for the same key returns the first
    result again instead of writing twice, as for :class:`AppendOp`.
    """

    key: str
    raw: str
    ttl: float | None = None
    if_version: int | None = None
    id: str | None = None
    op: Literal["set"] = field(default="set", init=False)


@dataclass(frozen=True, slots=True)
class DeleteOp:
    """Batch operation: delete ``key`` (result: ``True`` if it existed)."""

    key: str
    op: Literal["delete"] = field(default="delete", init=False)


@dataclass(frozen=True, slots=True)
class AppendOp:
    """Batch operation: append JSON-text items to the list at ``key`` (AppendResult)."""

    key: str
    raws: tuple[str, ...]
    id: str | None = None
    op: Literal["append"] = field(default="append", init=False)


@dataclass(frozen=True, slots=True)
class RestoreOp:
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
    op: Literal["restore"] = field(default="restore", init=False)


Op: TypeAlias = GetOp | SetOp | DeleteOp | AppendOp | RestoreOp
OpResult: TypeAlias = Record | None | WriteResult | bool | AppendResult
