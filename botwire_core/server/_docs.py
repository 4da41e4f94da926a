"""Pydantic models that document the wire protocol in the OpenAPI schema.

They describe the bodies; the request path never runs them (the handlers parse
with :mod:`botwire._wire`, which is also what the HTTP store uses). A test checks
every answer the server gives against this schema (Schemathesis).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Body, Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from botwire import _wire
from botwire._wire import MAX_BATCH_OPS, MAX_ID_CHARS, MAX_TTL

NAMESPACE_PATTERN = r"^[A-Za-z0-9_\-.:@]{1,128}$"

Ttl = Annotated[
    float | None,
    Field(gt=0, le=MAX_TTL, description="Seconds until the key expires; omit to keep it."),
]
AppendId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=MAX_ID_CHARS,
        description="Idempotency id: an append with an id already seen for this key "
        "is not applied again; the first answer is returned.",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PutBody(_Strict):
    """Body of ``PUT /memory/{namespace}/{key}``."""

    value: Any = Field(description="Any JSON value; it is returned type for type.")
    ttl: Ttl = None


class PutAnswer(BaseModel):
    """A stored value."""

    namespace: str
    key: str
    stored: Literal[True]
    version: int = Field(description="1 on create, +1 on every write; the ETag.")
    bytes: int = Field(description="Size of the stored value, encoded.")


class ValueAnswer(BaseModel):
    """A value with its metadata (timestamps are Unix seconds)."""

    namespace: str
    key: str
    value: Any
    version: int
    created_at: float
    updated_at: float
    expires_at: float | None


class DeleteAnswer(BaseModel):
    """A deleted key."""

    deleted: Literal[True]
    namespace: str
    key: str


class AppendBody(_Strict):
    """Body of ``POST /memory/{namespace}/{key}``: items to append to a list."""

    append: list[Any] = Field(min_length=1, description="Items appended in order.")
    id: AppendId = None


class AppendAnswer(BaseModel):
    """The list after an append."""

    version: int
    length: int


class KeysAnswer(BaseModel):
    """One page of keys, in code point order."""

    namespace: str
    count: int = Field(description="Number of keys on this page.")
    keys: list[str]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


class GetOpBody(_Strict):
    """Batch operation: read a key."""

    op: Literal["get"]
    key: str = Field(min_length=1)


class SetOpBody(_Strict):
    """Batch operation: write a key."""

    op: Literal["set"]
    key: str = Field(min_length=1)
    value: Any
    ttl: Ttl = None
    if_version: int | None = Field(
        default=None, ge=0, description="Write only if the version is this (0: only if absent)."
    )
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Idempotency id: a repeat of this set returns the first result.",
    )


class DeleteOpBody(_Strict):
    """Batch operation: delete a key."""

    op: Literal["delete"]
    key: str = Field(min_length=1)


class AppendOpBody(_Strict):
    """Batch operation: append items to a list."""

    op: Literal["append"]
    key: str = Field(min_length=1)
    items: list[Any] = Field(min_length=1)
    id: AppendId = None


class RestoreOpBody(_Strict):
    """Batch operation: write a record verbatim, as `botwire import` does."""

    op: Literal["restore"]
    key: str = Field(min_length=1)
    value: Any
    version: int = Field(ge=1)
    created_at: float = Field(ge=0, description="Unix seconds.")
    updated_at: float = Field(ge=0, description="Unix seconds.")
    expires_at: float | None = Field(default=None, ge=0, description="Unix seconds.")


OpBody = Annotated[
    GetOpBody | SetOpBody | DeleteOpBody | AppendOpBody | RestoreOpBody,
    Field(discriminator="op"),
]


class BatchBody(_Strict):
    """Body of ``POST /memory/{namespace}``: operations run in one transaction."""

    ops: list[OpBody] = Field(max_length=MAX_BATCH_OPS)


class GetResult(BaseModel):
    """Result of a batch ``get``; ``found`` is false for a missing key."""

    op: Literal["get"]
    key: str
    found: bool
    value: Any = None
    version: int | None = None
    created_at: float | None = None
    updated_at: float | None = None
    expires_at: float | None = None


class SetResult(BaseModel):
    """Result of a batch ``set``."""

    op: Literal["set"]
    key: str
    version: int
    bytes: int


class RestoreResult(BaseModel):
    """Result of a batch ``restore``."""

    op: Literal["restore"]
    key: str
    version: int
    bytes: int


class DeleteResult(BaseModel):
    """Result of a batch ``delete``."""

    op: Literal["delete"]
    key: str
    deleted: bool


class AppendResultBody(BaseModel):
    """Result of a batch ``append``."""

    op: Literal["append"]
    key: str
    version: int
    length: int


class BatchAnswer(BaseModel):
    """Results in the order of the operations."""

    results: list[GetResult | SetResult | DeleteResult | AppendResultBody | RestoreResult]


class Limits(BaseModel):
    """The server's limits (null: none)."""

    max_value_bytes: int
    max_namespace_bytes: int | None
    writes_per_day: int | None


class UsageAnswer(BaseModel):
    """How much of a namespace is used."""

    namespace: str
    keys: int
    bytes: int
    writes_today: int = Field(
        description="Writes since midnight UTC. With a daily write limit on SQLite or "
        "PostgreSQL: counted in the database, by every server process sharing it; "
        "otherwise counted by this process."
    )
    limits: Limits


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]
    store: str


ErrorCode = Literal[
    "invalid_namespace",
    "invalid_key",
    "invalid_value",
    "invalid_request",
    "value_too_large",
    "not_found",
    "version_conflict",
    "not_a_list",
    "quota_exceeded",
    "unauthorized",
    "forbidden",
    "server_error",
    "unavailable",
]


class ErrorBody(BaseModel):
    """Every error: a sentence that says what to fix, and a machine code."""

    detail: str
    code: ErrorCode
    key: str | None = Field(default=None, description="version_conflict: the key.")
    current_version: int | None = Field(
        default=None, description="version_conflict: the key's version now (0: absent)."
    )
    retry_after: int | None = Field(
        default=None, description="quota_exceeded: seconds to wait (also in Retry-After)."
    )


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry documenting error answers."""
    text = {
        304: "Not modified: If-None-Match names the current version.",
        400: "Invalid namespace, key, value or request (codes invalid_*).",
        404: "No such key (code not_found).",
        409: "The value is not a list (code not_a_list).",
        412: "If-Match / If-None-Match did not hold (code version_conflict).",
        413: "The value or body is too large (code value_too_large).",
        429: "A quota is used up (code quota_exceeded); see Retry-After.",
        503: "The store is unreachable (code unavailable).",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 304:
            out[status] = {"description": text[status]}
            continue
        entry: dict[str, Any] = {"model": ErrorBody, "description": text[status]}
        if status == 429:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds until the quota allows writes again.",
                    "schema": {"type": "integer"},
                }
            }
        out[status] = entry
    return out


DESCRIPTION = """\
Durable, shared key-value memory for AI agents. Every namespace is an isolated
keyspace; keys are any Unicode text up to 512 UTF-8 bytes, **percent-encoded** in
paths (so `a/b` is `a%2Fb`); values are any JSON value and come back type for type.

Errors are `{"detail": "<sentence>", "code": "<machine code>"}`. Writes answer
with an `ETag` (the version); `If-Match: "<v>"` and `If-None-Match: *` make them
conditional (412 when they do not hold).
"""

# -- documentation stubs: their signatures are the OpenAPI description --------

Namespace = Annotated[
    str,
    Path(
        pattern=NAMESPACE_PATTERN,
        description="1-128 characters from A-Z a-z 0-9 _ - . : @",
        examples=["user-preferences"],
    ),
]
Key = Annotated[
    str,
    Path(
        pattern=r"^[^\x00-\x1f\x7f-\x9f]+$",
        max_length=512,
        description="Any text up to 512 UTF-8 bytes without control characters, "
        "percent-encoded (quote(key, safe='')).",
        examples=["user-42:response_style"],
    ),
]


async def get_doc(
    namespace: Namespace,
    key: Key,
    last: Annotated[
        int | None, Query(ge=0, description="For a list: return only its last n items.")
    ] = None,
    if_none_match: Annotated[
        str | None,
        Header(description='"<version>" (or a list): answer 304 if the value is unchanged.'),
    ] = None,
) -> None:
    """Read a value with its version and timestamps (the version is also the ETag)."""


async def put_doc(
    namespace: Namespace,
    key: Key,
    body: Annotated[PutBody, Body()],
    if_match: Annotated[
        str | None,
        Header(
            pattern=r'^(W/)?"?[0-9]{1,18}"?$',
            description='"<version>": write only if the version is this.',
        ),
    ] = None,
    if_none_match: Annotated[
        str | None, Header(pattern=r"^\*$", description="*: write only if the key is absent.")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=128,
            description="Idempotency id: a repeat of this PUT returns the first result.",
        ),
    ] = None,
) -> None:
    """Store any JSON value under a key; the answer carries the new version."""


async def delete_doc(namespace: Namespace, key: Key) -> None:
    """Delete a key (404 if it did not exist)."""


async def append_doc(namespace: Namespace, key: Key, body: Annotated[AppendBody, Body()]) -> None:
    """Append items to the list at a key, creating it; O(1) in the list's length."""


async def keys_doc(
    namespace: Namespace,
    prefix: Annotated[str, Query(description="Only keys starting with this.")] = "",
    limit: Annotated[
        int | None,
        Query(ge=0, le=_wire.MAX_LIST_LIMIT, description="Page size; omit for every key."),
    ] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> None:
    """List keys in code point order, a page at a time."""


async def batch_doc(namespace: Namespace, body: Annotated[BatchBody, Body()]) -> None:
    """Run get/set/delete/append operations in one transaction: all or nothing."""


async def usage_doc(namespace: Namespace) -> None:
    """A namespace's keys, bytes and writes today, with the server's limits."""


async def health_doc() -> None:
    """Liveness: 200 while the server runs."""
