"""Each route's request and answer shapes, declared once.

The pydantic models and :class:`Param` declarations here are the one statement
of the wire shapes. Two things read them:

* the OpenAPI document (:func:`openapi`), built from the route table and these
  declarations (no stub endpoints, no second copy);
* the fast parser: the field sets it accepts (``PUT_FIELDS``, ``OP_FIELDS``...)
  and the header patterns it checks are derived from the same models and
  constants, so a field added here is accepted there.

The request path never runs pydantic (it parses with :mod:`botwire._wire`, which
the HTTP store also uses): Schemathesis checks in both directions that answers
match this schema and that requests it calls invalid are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from botwire import _wire
from botwire._errors import ERROR_CODES
from botwire._wire import MAX_BATCH_OPS, MAX_ID_CHARS, MAX_TTL

if TYPE_CHECKING:
    from botwire.server._routes import Route

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


class ChangeItem(BaseModel):
    """One change to a key, in commit order."""

    seq: int = Field(description="Strictly increasing per namespace, in commit order.")
    key: str
    kind: Literal["set", "append", "delete", "expire"]
    version: int = Field(description="After the write; a delete's: the version deleted.")
    value: Any = Field(
        description="A set's value, an append's items; null for delete and expire, "
        "and when value_omitted."
    )
    value_omitted: bool = Field(
        default=False, description="The value was over 64 KiB: read the key for it."
    )


class ChangesAnswer(BaseModel):
    """Changes after ``since`` (empty once ``wait`` ran out); ``next`` is the next since."""

    namespace: str
    changes: list[ChangeItem]
    next: int = Field(description="Pass as ?since= (or save it) to resume after these.")


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
    bytes: int = Field(description="The live keys' values: encoded JSON, UTF-8 bytes.")
    stored_bytes: int = Field(
        description="What --max-namespace-bytes counts: every key's bytes and its "
        "value's, plus each remembered idempotency id's bytes and its key's (ids are "
        "kept a day; expired keys count until swept)."
    )
    writes_today: int = Field(
        description="Writes since midnight UTC. With a daily write limit on SQLite or "
        "PostgreSQL: counted in the database, by every server process sharing it; "
        "otherwise counted by this process."
    )
    limits: Limits


class NamespaceInfo(BaseModel):
    """One namespace in a listing, with its usage."""

    namespace: str
    keys: int
    bytes: int
    stored_bytes: int
    writes_today: int


class Rights(BaseModel):
    """What the caller's credential may do (the web UI shows it and hides what it may not)."""

    token: str | None = Field(
        description='The token\'s public id; "admin" for the admin token; null on an open server.'
    )
    read: bool = Field(description="May read values in the namespaces listed.")
    write: bool = Field(description="May write values in the namespaces listed.")
    patterns: list[str] = Field(description="The namespace patterns it covers.")
    expires_at: float | None = Field(description="When the token expires (Unix seconds).")


class NamespacesAnswer(BaseModel):
    """One page of the namespaces the caller may see, in code point order, with usage."""

    namespaces: list[NamespaceInfo]
    count: int = Field(description="Number of namespaces on this page.")
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    limits: Limits
    access: Rights


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok", "ready"]
    store: str


class ErrorBody(BaseModel):
    """Every error: a sentence that says what to fix, and a machine code."""

    detail: str
    # The enum is the one error-code table's keys, not a second list kept by hand.
    code: str = Field(
        description="Machine code of the error.",
        json_schema_extra={"enum": list(ERROR_CODES)},
    )
    key: str | None = Field(default=None, description="version_conflict: the key.")
    current_version: int | None = Field(
        default=None, description="version_conflict: the key's version now (0: absent)."
    )
    retry_after: int | None = Field(
        default=None, description="quota_exceeded: seconds to wait (also in Retry-After)."
    )
    route: None = Field(
        default=None,
        description="Present (null) on a 404 for a path no route has: a wrong base URL, "
        "not a missing key.",
    )


DESCRIPTION = """\
Durable, shared key-value memory for AI agents. Every namespace is an isolated
keyspace; keys are any Unicode text up to 512 UTF-8 bytes, **percent-encoded** in
paths (so `a/b` is `a%2Fb`); values are any JSON value and come back type for type.

Errors are `{"detail": "<sentence>", "code": "<machine code>"}`. Writes answer
with an `ETag` (the version); `If-Match: "<v>"` and `If-None-Match: *` make them
conditional (412 when they do not hold).
"""


# -- the token admin API ------------------------------------------------------


class TokenBody(_Strict):
    """Body of ``POST /admin/tokens``: a scoped token to create."""

    namespaces: list[str] = Field(
        min_length=1, description="Namespace patterns, e.g. team-a-* (a trailing * matches)."
    )
    read: bool = False
    write: bool = False
    expires: str | float | None = Field(
        default=None, description='Lifetime: "30d", "12h", seconds, or null for never.'
    )
    name: str | None = Field(default=None, description="A label for people.")
    writes_per_day: int | None = Field(
        default=None, description="Writes per UTC day over all its namespaces (null: no limit)."
    )


class TokenInfo(BaseModel):
    """A token as the admin API shows it: no secret, no hash."""

    id: str
    name: str | None
    namespaces: list[str]
    read: bool
    write: bool
    created_at: float
    expires_at: float | None
    expired: bool
    writes_per_day: int | None = None


class NewToken(TokenInfo):
    """A created token; ``token`` is the secret, shown this once."""

    token: str


class TokenList(BaseModel):
    """Every token (no secrets)."""

    tokens: list[TokenInfo]
    count: int


class Revoked(BaseModel):
    """A revoked token."""

    revoked: Literal[True]
    id: str


# -- parameters ----------------------------------------------------------------

IF_MATCH_DIGITS = 16  # 2**53-1, the largest version, has 16 digits
"""Most digits in a version ``_wire.parse_etag`` reads; the If-Match pattern says the same."""


@dataclass(frozen=True)
class Param:
    """A path, query or header parameter, as OpenAPI states it."""

    name: str
    where: Literal["path", "query", "header"]
    schema: dict[str, Any]
    description: str
    required: bool = False
    examples: tuple[Any, ...] = ()

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "in": self.where,
            "required": self.required or self.where == "path",
            "schema": self.schema,
            "description": self.description,
        }
        if self.examples:
            out["examples"] = {str(i): {"value": v} for i, v in enumerate(self.examples)}
        return out


NAMESPACE = Param(
    "namespace",
    "path",
    {"type": "string", "pattern": NAMESPACE_PATTERN},
    "1-128 characters from A-Z a-z 0-9 _ - . : @",
    examples=("user-preferences",),
)
KEY = Param(
    "key",
    "path",
    {"type": "string", "pattern": r"^[^\x00-\x1f\x7f-\x9f]+$", "maxLength": 512},
    "Any text up to 512 UTF-8 bytes without control characters, "
    "percent-encoded (quote(key, safe='')).",
    examples=("user-42:response_style",),
)
LAST = Param(
    "last",
    "query",
    {"type": "integer", "minimum": 0, "maximum": 2**31},
    "For a list: return only its last n items.",
)
IF_NONE_MATCH_READ = Param(
    "if-none-match",
    "header",
    {"type": "string"},
    '"<version>" (or a list): answer 304 if the value is unchanged.',
)
IF_MATCH = Param(
    "if-match",
    "header",
    {"type": "string", "pattern": f'^(W/)?"?[0-9]{{1,{IF_MATCH_DIGITS}}}"?$'},
    '"<version>": write only if the version is this.',
)
IF_NONE_MATCH_WRITE = Param(
    "if-none-match",
    "header",
    {"type": "string", "pattern": r"^\*$"},
    "*: write only if the key is absent.",
)
IDEMPOTENCY_KEY = Param(
    "idempotency-key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
    "Idempotency id: a repeat of this PUT returns the first result.",
)
PREFIX = Param("prefix", "query", {"type": "string"}, "Only keys starting with this.")
LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 0, "maximum": _wire.MAX_LIST_LIMIT},
    "Page size; omit for every key.",
)
CURSOR = Param("cursor", "query", {"type": "string"}, "next_cursor of the previous page.")
DEFAULT_NAMESPACES_LIMIT = 100
MAX_NAMESPACES_LIMIT = 1000
"""Largest page of ``GET /namespaces``: each namespace listed costs a usage count."""
NAMESPACES_LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 0, "maximum": MAX_NAMESPACES_LIMIT},
    f"Page size (default {DEFAULT_NAMESPACES_LIMIT}).",
)
NAMESPACE_PREFIX = Param(
    "prefix", "query", {"type": "string"}, "Only namespaces starting with this."
)
SINCE = Param(
    "since",
    "query",
    {"type": "integer", "minimum": 0},
    "Changes after this seq (a change's seq, or a previous answer's next); omit to "
    "get the newest seq at once.",
)
WAIT = Param(
    "wait",
    "query",
    {"type": "number", "minimum": 0, "maximum": _wire.MAX_WATCH_WAIT},
    f"Seconds to wait for a first change (default {_wire.DEFAULT_WATCH_WAIT} with since).",
)
FEED_LIMIT = Param(
    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "Most changes."
)
LAST_EVENT_ID = Param(
    "last-event-id",
    "header",
    {"type": "string", "pattern": "^[0-9]{1,18}$"},
    "With Accept: text/event-stream: resume after this seq (EventSource sends it).",
)
TOKEN_ID = Param(
    "token_id", "path", {"type": "string", "pattern": r"^[A-Za-z0-9]{1,64}$"}, "A token's id."
)


@dataclass(frozen=True)
class Shape:
    """What one route takes and answers, for OpenAPI (and the parser's field sets)."""

    summary: str
    tag: str
    answer: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    status: int = 200
    media_type: str = "application/json"
    secured: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


FEED_PARAMS = (NAMESPACE, SINCE, PREFIX, WAIT, FEED_LIMIT, LAST_EVENT_ID)

# Field sets the parser accepts, from the models above (one statement of each shape).
PUT_FIELDS = frozenset(PutBody.model_fields)
APPEND_FIELDS = frozenset(AppendBody.model_fields)
BATCH_FIELDS = frozenset(BatchBody.model_fields)
OP_FIELDS = {
    model.model_fields["op"].annotation.__args__[0]: frozenset(model.model_fields)  # type: ignore[union-attr]
    for model in (GetOpBody, SetOpBody, DeleteOpBody, AppendOpBody, RestoreOpBody)
}
TOKEN_FIELDS = frozenset(TokenBody.model_fields)


def openapi(routes: list[Route], *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a route table, from each route's :class:`Shape`."""
    from pydantic.json_schema import models_json_schema

    models: list[type[BaseModel]] = [ErrorBody]
    for route in routes:
        for model in (route.shape.body, route.shape.answer):
            if model is not None and model not in models:
                models.append(model)
    bodies = {r.shape.body for r in routes}
    modes: dict[type[BaseModel], Literal["validation", "serialization"]] = {
        m: "validation" if m in bodies else "serialization" for m in models
    }
    keyed, top = models_json_schema(
        [(m, modes[m]) for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas = top.get("$defs", {})

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        return dict(keyed[(model, modes[model])])

    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        shape = route.shape
        op: dict[str, Any] = {
            "tags": [shape.tag],
            "summary": shape.summary,
            "operationId": f"{route.method.lower()}_{route.name}",
        }
        if route.doc:
            op["description"] = route.doc
        if shape.params:
            op["parameters"] = [p.openapi() for p in shape.params]
        if shape.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(shape.body, "validation")}},
            }
        answer_schema = (
            ref(shape.answer, "serialization") if shape.answer is not None else {"type": "string"}
        )
        responses: dict[str, Any] = {
            str(shape.status): {
                "description": "Success",
                "content": {shape.media_type: {"schema": answer_schema}},
            }
        }
        for status in shape.errors:
            responses[str(status)] = _error_response(status, ref(ErrorBody, "serialization"))
        op["responses"] = responses
        if shape.secured:  # a bearer token where tokens are on; none on an open server
            op["security"] = [{"bearer": []}, {}]
        op.update(shape.extra)
        paths.setdefault(route.template, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "summary": "Durable key-value memory for AI agents.",
            "description": DESCRIPTION,
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_ERROR_TEXT = {
    304: "Not modified: If-None-Match names the current version.",
    400: "Invalid namespace, key, value or request (codes invalid_*).",
    401: "No token, or an unknown, revoked or expired one (code unauthorized).",
    403: "The token may not do this (code forbidden).",
    404: "No such key or token (code not_found).",
    405: "Method not allowed on this path (code invalid_request).",
    409: "The value is not a list (code not_a_list).",
    410: "since is older than the change feed's retention (code changes_expired): "
    "read the keys again, then resume from the answer's next of a read without since.",
    412: "If-Match / If-None-Match did not hold (code version_conflict).",
    413: "The value or body is too large (code value_too_large), or a batch's answer "
    "would be (code answer_too_large: split the batch).",
    429: "A quota is used up (code quota_exceeded); see Retry-After.",
    503: "The store is unreachable (code unavailable); see Retry-After.",
}


def _error_response(status: int, schema: dict[str, Any]) -> dict[str, Any]:
    if status == 304:
        return {"description": _ERROR_TEXT[status]}
    entry: dict[str, Any] = {
        "description": _ERROR_TEXT[status],
        "content": {"application/json": {"schema": schema}},
    }
    if status in (429, 503):
        entry["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }
        }
    return entry
