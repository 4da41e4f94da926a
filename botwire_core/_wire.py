"""The wire protocol (DESIGN.md §5) in one dependency-free module.

Paths, JSON field names, error codes and their HTTP statuses, how a request is
built and how an answer is read: the reference server and the HTTP store both
import this module, so the two ends cannot drift apart. Nothing here does I/O.

Values travel as JSON text spliced into the bodies unchanged (a store already
holds encoded JSON), so neither end re-encodes a value it only passes along.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

from botwire._codec import MAX_DEPTH, encode
from botwire._errors import (
    ERRORS_BY_CODE,
    STATUS_BY_CODE,
    BotWireError,
    ConflictError,
    QuotaExceededError,
    ServerError,
    ValidationError,
)
from botwire._types import (
    AppendOp,
    AppendResult,
    ChangePage,
    ChangeRecord,
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
from botwire._validation import (
    MAX_ID_CHARS,
    MAX_SAFE_INT,
    MAX_TTL,
    check_id,
    check_ttl,
    check_version,
)

__all__ = [
    "HEALTH_PATH",
    "IDEMPOTENCY_HEADER",
    "CHANGES_SEGMENT",
    "DEFAULT_WATCH_WAIT",
    "MAX_BATCH_OPS",
    "MAX_ID_CHARS",
    "MAX_LIST_LIMIT",
    "MAX_TTL",
    "MAX_WATCH_WAIT",
    "MEMORY_PREFIX",
    "METRICS_PATH",
    "NAMESPACES_PREFIX",
    "STATUS_BY_CODE",
    "UNAVAILABLE_RETRY_AFTER",
    "WireRequest",
    "append_answer",
    "append_request",
    "batch_answer",
    "batch_request",
    "change_event",
    "changes_answer",
    "changes_path",
    "changes_request",
    "check_fields",
    "delete_answer",
    "delete_request",
    "encode_items",
    "encode_value",
    "error_answer",
    "error_body",
    "error_from_answer",
    "etag",
    "etag_listed",
    "get_request",
    "json_type",
    "key_path",
    "keys_answer",
    "keys_request",
    "loads",
    "namespace_path",
    "object_body",
    "parse_append_answer",
    "parse_batch_answer",
    "parse_changes_answer",
    "parse_etag",
    "parse_id",
    "parse_keys_answer",
    "parse_record_answer",
    "parse_ttl",
    "parse_usage_answer",
    "parse_version",
    "parse_write_answer",
    "put_answer",
    "put_request",
    "quote_key",
    "record_answer",
    "retry_after",
    "usage_answer",
    "usage_path",
    "usage_request",
]

MEMORY_PREFIX = "/memory/"
NAMESPACES_PREFIX = "/namespaces/"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

CHANGES_SEGMENT = "changes"
"""``GET /memory/{ns}/changes`` is the change feed when the segment is spelled
exactly so in the raw path; the key named ``changes`` travels as ``%63hanges``
(:func:`quote_key` does it), and any other method on ``/memory/{ns}/changes``
names the key."""
MAX_WATCH_WAIT = 60
"""Longest ``?wait=`` a long-poll of the change feed may ask for, in seconds."""
DEFAULT_WATCH_WAIT = 25
"""``?wait=`` of a long-poll that names ``since`` but no ``wait``."""

MAX_BATCH_OPS = 10_000
"""Most operations in one ``POST /memory/{ns}`` batch."""
MAX_LIST_LIMIT = 10_000
"""Largest page ``GET /memory/{ns}?limit=`` serves; no ``limit`` lists every key."""
IDEMPOTENCY_HEADER = "idempotency-key"
"""Header carrying a ``PUT``'s idempotency id: a repeat with the same id (a retry)
returns the first result instead of writing again."""

UNAVAILABLE_RETRY_AFTER = 1
"""``Retry-After`` seconds the server sends with a ``503 unavailable`` (the store is
down or locked): clients come back soon, and the server heals once the store is back."""


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _str(text: str) -> str:
    return _dumps(text)


def _num(value: float | None) -> str:
    return "null" if value is None else repr(float(value))


# -- paths -----------------------------------------------------------------------


def quote_key(key: str) -> str:
    """Percent-encode a key as one path segment (``/`` included).

    ``.`` and ``..`` are spelled ``%2E`` so no HTTP stack takes them for dot segments.
    """
    quoted = quote(key, safe="")
    if quoted in (".", ".."):
        quoted = quoted.replace(".", "%2E")
    elif quoted == CHANGES_SEGMENT:  # the raw segment "changes" names the feed (GET)
        quoted = "%63hanges"
    return quoted


def key_path(namespace: str, key: str) -> str:
    """Path of one key: ``/memory/{ns}/{percent-encoded key}``."""
    return MEMORY_PREFIX + namespace + "/" + quote_key(key)


def namespace_path(namespace: str) -> str:
    """Path of a namespace's keys and batches: ``/memory/{ns}``."""
    return MEMORY_PREFIX + namespace


def usage_path(namespace: str) -> str:
    """Path of a namespace's usage report: ``/namespaces/{ns}``."""
    return NAMESPACES_PREFIX + namespace


def etag(version: int) -> str:
    """The ``ETag`` of a version: the version number as a strong entity tag."""
    return f'"{version}"'


def parse_etag(header: str, name: str) -> int:
    """Read a version from an ``If-Match`` / ``If-None-Match`` value (``"3"``, ``3``).

    Raises:
        ValidationError: the header holds no single version number.
    """
    text = header.strip()
    if text.startswith("W/"):
        text = text[2:]
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not text.isdigit() or not text.isascii() or len(text) > 16 or int(text) > MAX_SAFE_INT:
        raise ValidationError(
            f'{name} must be a version as the ETag gives it, e.g. {name}: "3"; got {header[:40]!r}',
            code="invalid_request",
        )
    return int(text)


def etag_listed(header: str, version: int) -> bool:
    """Whether an ``If-None-Match`` value on a read names ``version`` (or is ``*``).

    Entity tags that are not versions simply do not match.
    """
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == str(version):
            return True
    return False


# -- requests (client side) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WireRequest:
    """One HTTP request, ready for any HTTP client to send.

    ``path`` includes the query string; ``content`` is the JSON body, if any.
    """

    method: str
    path: str
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    key: str | None = None
    """The key the request is about (to fill in errors), if any."""
    idempotent: bool = False
    """Safe to send again when its answer was lost: a read, a delete, or a write
    whose idempotency ids make a repeat return the first result."""


def _body(text: str) -> bytes:
    return text.encode("utf-8")


def get_request(namespace: str, key: str, last: int | None = None) -> WireRequest:
    """``GET /memory/{ns}/{key}`` (``?last=n`` for a list's tail)."""
    path = key_path(namespace, key)
    if last is not None:
        path += f"?last={last}"
    return WireRequest("GET", path, key=key, idempotent=True)


def put_request(
    namespace: str,
    key: str,
    raw: str,
    ttl: float | None = None,
    if_version: int | None = None,
    id: str | None = None,
) -> WireRequest:
    """``PUT /memory/{ns}/{key}`` with ``{"value": raw, "ttl"?}`` and a version condition.

    ``id`` travels as the ``Idempotency-Key`` header (a server that predates it
    ignores it).
    """
    text = '{"value":' + raw
    if ttl is not None:
        text += ',"ttl":' + _num(ttl)
    headers: dict[str, str] = {}
    if if_version == 0:
        headers["if-none-match"] = "*"
    elif if_version is not None:
        headers["if-match"] = etag(if_version)
    if id is not None:
        headers[IDEMPOTENCY_HEADER] = id
    return WireRequest(
        "PUT", key_path(namespace, key), _body(text + "}"), headers or None, key, id is not None
    )


def delete_request(namespace: str, key: str) -> WireRequest:
    """``DELETE /memory/{ns}/{key}``."""
    return WireRequest("DELETE", key_path(namespace, key), key=key, idempotent=True)


def append_request(namespace: str, key: str, raws: Sequence[str], id: str) -> WireRequest:
    """``POST /memory/{ns}/{key}`` with ``{"append": [...], "id": ...}``."""
    text = '{"append":[' + ",".join(raws) + '],"id":' + _str(id) + "}"
    return WireRequest("POST", key_path(namespace, key), _body(text), key=key, idempotent=True)


def keys_request(
    namespace: str, prefix: str = "", limit: int | None = None, cursor: str | None = None
) -> WireRequest:
    """``GET /memory/{ns}?prefix=&limit=&cursor=``."""
    params: dict[str, str] = {}
    if prefix:
        params["prefix"] = prefix
    if limit is not None:
        params["limit"] = str(limit)
    if cursor is not None:
        params["cursor"] = cursor
    path = namespace_path(namespace)
    if params:
        path += "?" + urlencode(params, quote_via=quote, safe="")
    return WireRequest("GET", path, idempotent=True)


def _get_json(op: GetOp) -> str:
    return '{"op":"get","key":' + _str(op.key) + "}"


def _set_json(op: SetOp) -> str:
    text = '{"op":"set","key":' + _str(op.key) + ',"value":' + op.raw
    if op.ttl is not None:
        text += ',"ttl":' + _num(op.ttl)
    if op.if_version is not None:
        text += f',"if_version":{int(op.if_version)}'
    if op.id is not None:
        text += ',"id":' + _str(op.id)
    return text + "}"


def _delete_json(op: DeleteOp) -> str:
    return '{"op":"delete","key":' + _str(op.key) + "}"


def _append_json(op: AppendOp) -> str:
    text = '{"op":"append","key":' + _str(op.key) + ',"items":[' + ",".join(op.raws) + "]"
    if op.id is not None:
        text += ',"id":' + _str(op.id)
    return text + "}"


def _restore_json(op: RestoreOp) -> str:
    return (
        '{"op":"restore","key":'
        + _str(op.key)
        + ',"value":'
        + op.raw
        + f',"version":{int(op.version)},"created_at":'
        + _num(op.created_at)
        + ',"updated_at":'
        + _num(op.updated_at)
        + ',"expires_at":'
        + _num(op.expires_at)
        + "}"
    )


def batch_request(namespace: str, ops: Sequence[Op]) -> WireRequest:
    """``POST /memory/{ns}`` with ``{"ops": [...]}``.

    Safe to resend (``idempotent``) when every set and append carries an ``id``.
    """
    text = '{"ops":[' + ",".join(_wire_of(op).request(op) for op in ops) + "]}"
    safe = all(op.id is not None for op in ops if isinstance(op, (SetOp, AppendOp)))
    return WireRequest("POST", namespace_path(namespace), _body(text), idempotent=safe)


def usage_request(namespace: str) -> WireRequest:
    """``GET /namespaces/{ns}``."""
    return WireRequest("GET", usage_path(namespace), idempotent=True)


# -- answers (server side) -------------------------------------------------------


def record_answer(namespace: str, record: Record) -> bytes:
    """Body of ``GET /memory/{ns}/{key}``: the value with its metadata."""
    return _body(
        '{"namespace":'
        + _str(namespace)
        + ',"key":'
        + _str(record.key)
        + ',"value":'
        + record.raw
        + f',"version":{record.version},"created_at":'
        + _num(record.created_at)
        + ',"updated_at":'
        + _num(record.updated_at)
        + ',"expires_at":'
        + _num(record.expires_at)
        + "}"
    )


def put_answer(namespace: str, key: str, result: WriteResult) -> bytes:
    """Body of a successful ``PUT``."""
    return _body(
        '{"namespace":'
        + _str(namespace)
        + ',"key":'
        + _str(key)
        + f',"stored":true,"version":{result.version},"bytes":{result.bytes}}}'
    )


def delete_answer(namespace: str, key: str) -> bytes:
    """Body of a successful ``DELETE``."""
    return _body('{"deleted":true,"namespace":' + _str(namespace) + ',"key":' + _str(key) + "}")


def append_answer(result: AppendResult) -> bytes:
    """Body of a successful append."""
    return _body(f'{{"version":{result.version},"length":{result.length}}}')


def keys_answer(namespace: str, page: KeyPage) -> bytes:
    """Body of ``GET /memory/{ns}``."""
    cursor = "null" if page.next_cursor is None else _str(page.next_cursor)
    return _body(
        '{"namespace":'
        + _str(namespace)
        + f',"count":{len(page.keys)},"keys":'
        + _dumps(page.keys)
        + ',"next_cursor":'
        + cursor
        + "}"
    )


def _get_answer(op: GetOp, result: Record | None) -> str:
    if not isinstance(result, Record):
        return '{"op":"get","key":' + _str(op.key) + ',"found":false}'
    return (
        '{"op":"get","key":'
        + _str(result.key)
        + ',"found":true,"value":'
        + result.raw
        + f',"version":{result.version},"created_at":'
        + _num(result.created_at)
        + ',"updated_at":'
        + _num(result.updated_at)
        + ',"expires_at":'
        + _num(result.expires_at)
        + "}"
    )


def _written_answer(op: SetOp | RestoreOp, result: WriteResult) -> str:
    return (
        f'{{"op":"{op.op}","key":'
        + _str(op.key)
        + f',"version":{result.version},"bytes":{result.bytes}}}'
    )


def _delete_answer(op: DeleteOp, result: bool) -> str:
    return '{"op":"delete","key":' + _str(op.key) + f',"deleted":{"true" if result else "false"}}}'


def _append_answer(op: AppendOp, result: AppendResult) -> str:
    return (
        '{"op":"append","key":'
        + _str(op.key)
        + f',"version":{result.version},"length":{result.length}}}'
    )


def batch_answer(ops: Sequence[Op], results: Sequence[OpResult]) -> bytes:
    """Body of a batch: ``{"results": [...]}``, one per operation, in order."""
    return _body(
        '{"results":['
        + ",".join(_wire_of(o).answer(o, r) for o, r in zip(ops, results, strict=True))
        + "]}"
    )


def usage_answer(
    namespace: str, usage: Usage, writes_today: int, limits: Mapping[str, Any]
) -> bytes:
    """Body of ``GET /namespaces/{ns}``."""
    return _body(
        _dumps(
            {
                "namespace": namespace,
                "keys": usage.keys,
                "bytes": usage.bytes,
                "stored_bytes": usage.stored_bytes,
                "writes_today": writes_today,
                "limits": dict(limits),
            }
        )
    )


def error_body(code: str, detail: str, **extra: Any) -> bytes:
    """Body of every error answer: ``{"detail": sentence, "code": code, ...}``."""
    return _body(_dumps({"detail": detail, "code": code, **extra}))


def error_answer(exc: BotWireError) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and headers that report ``exc`` to a client."""
    code = exc.code
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, ConflictError):
        extra = {"key": exc.key, "current_version": exc.current_version}
        if exc.current_version:
            headers["etag"] = etag(exc.current_version)
    elif isinstance(exc, QuotaExceededError) and exc.retry_after is not None:
        seconds = max(1, math.ceil(exc.retry_after))
        extra = {"retry_after": seconds}
        headers["retry-after"] = str(seconds)
    status = STATUS_BY_CODE.get(code)
    if status is None:
        code, status = "server_error", 500
    return status, error_body(code, str(exc), **extra), headers


# -- reading bodies (server side) ------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValidationError(
        f"{name} is not valid JSON (JSON has no NaN or Infinity)", code="invalid_value"
    )


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def loads(body: bytes, what: str = "request body") -> Any:
    """Parse a JSON body, with a sentence for each way it can be wrong.

    Raises:
        ValidationError: the body is empty, not UTF-8, not JSON or nested too deep.
    """
    if not body.strip():
        raise ValidationError(f"the {what} is empty; send a JSON object", code="invalid_request")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"the {what} is not valid UTF-8 (byte {exc.start}); send UTF-8 JSON",
            code="invalid_request",
        ) from None
    try:
        return _decoder.decode(text)
    except RecursionError:
        raise ValidationError(
            f"the {what} is nested too deeply; values may nest at most {MAX_DEPTH} levels",
            code="invalid_value",
        ) from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"the {what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            code="invalid_request",
        ) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python allows
        raise ValidationError(f"the {what} has an invalid number: {exc}") from None


def object_body(body: bytes, fields: str) -> dict[str, Any]:
    """Parse a body that must be a JSON object; ``fields`` names what it should hold."""
    data = loads(body)
    if not isinstance(data, dict):
        raise ValidationError(
            f"the request body must be a JSON object like {fields}, not a JSON {json_type(data)}",
            code="invalid_request",
        )
    return data


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error sentences."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_fields(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    """Refuse unknown fields, so a typo (``"tll"``) is not silently ignored."""
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r} in {where}; allowed: {', '.join(sorted(allowed))}",
            code="invalid_request",
        )


# The checks of request fields are the client's own (botwire._validation), by name.
parse_ttl = check_ttl
parse_version = check_version
parse_id = check_id


def encode_value(value: Any, max_bytes: int | None) -> str:
    """Re-encode a parsed value canonically, enforcing depth and size rules."""
    return encode(value, max_bytes=max_bytes)


def encode_items(items: Any, max_bytes: int | None, field: str) -> tuple[str, ...]:
    """Validate and encode the items of an append."""
    if not isinstance(items, list) or not items:
        raise ValidationError(
            f'"{field}" must be a non-empty JSON array of items to append',
            code="invalid_value",
        )
    return tuple(encode(item, max_bytes=max_bytes) for item in items)


# -- answers (client side) -------------------------------------------------------


def _answer(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ServerError(
            f"the server sent an answer that is not JSON ({exc}); is the URL a BotWire server?"
        ) from None
    if not isinstance(data, dict):
        raise ServerError("the server sent an unexpected answer; is the URL a BotWire server?")
    return data


def _record(data: Mapping[str, Any], key: str | None = None) -> Record:
    expires = data.get("expires_at")
    return Record(
        data.get("key", key) or "",
        encode(data["value"], max_bytes=None),
        int(data["version"]),
        float(data["created_at"]),
        float(data["updated_at"]),
        None if expires is None else float(expires),
    )


def _shape(fn: Any, body: bytes, what: str) -> Any:
    try:
        return fn(_answer(body))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BotWireError):
            raise
        raise ServerError(
            f"the server's answer to {what} lacks an expected field ({exc}); is the URL "
            "a BotWire server of a compatible version?"
        ) from None


def parse_record_answer(body: bytes) -> Record:
    """Read the answer of ``GET /memory/{ns}/{key}``."""
    return _shape(_record, body, "a read")  # type: ignore[no-any-return]


def parse_write_answer(body: bytes) -> WriteResult:
    """Read the answer of a ``PUT``."""
    return _shape(  # type: ignore[no-any-return]
        lambda d: WriteResult(int(d["version"]), int(d["bytes"])), body, "a write"
    )


def parse_append_answer(body: bytes) -> AppendResult:
    """Read the answer of an append."""
    return _shape(  # type: ignore[no-any-return]
        lambda d: AppendResult(int(d["version"]), int(d["length"])), body, "an append"
    )


def parse_keys_answer(body: bytes) -> KeyPage:
    """Read the answer of ``GET /memory/{ns}``."""
    return _shape(  # type: ignore[no-any-return]
        lambda d: KeyPage([str(k) for k in d["keys"]], d.get("next_cursor")), body, "a listing"
    )


def parse_usage_answer(body: bytes) -> Usage:
    """Read the answer of ``GET /namespaces/{ns}``."""
    return _shape(  # type: ignore[no-any-return]
        lambda d: Usage(int(d["keys"]), int(d["bytes"]), int(d.get("stored_bytes", 0))),
        body,
        "a usage report",
    )


def parse_batch_answer(ops: Sequence[Op], body: bytes) -> list[OpResult]:
    """Read the answer of a batch into the results ``Store.batch`` returns."""

    def read(data: Mapping[str, Any]) -> list[OpResult]:
        answers = data["results"]
        if len(answers) != len(ops):
            raise ValueError(f"{len(answers)} results for {len(ops)} operations")
        return [_wire_of(op).result(op, a) for op, a in zip(ops, answers, strict=True)]

    return _shape(read, body, "a batch")  # type: ignore[no-any-return]


def _get_result(op: GetOp, answer: Mapping[str, Any]) -> Record | None:
    return _record(answer, op.key) if answer.get("found") else None


def _written_result(op: SetOp | RestoreOp, answer: Mapping[str, Any]) -> WriteResult:
    return WriteResult(int(answer["version"]), int(answer["bytes"]))


def _delete_result(op: DeleteOp, answer: Mapping[str, Any]) -> bool:
    return bool(answer["deleted"])


def _append_result(op: AppendOp, answer: Mapping[str, Any]) -> AppendResult:
    return AppendResult(int(answer["version"]), int(answer["length"]))


class _OpWire(NamedTuple):
    """How one kind of batch operation travels: request, answer, and reading it back."""

    request: Callable[[Any], str]  # the op's JSON in a batch request (client)
    answer: Callable[[Any, Any], str]  # its result's JSON in the answer (server)
    result: Callable[[Any, Mapping[str, Any]], OpResult]  # that JSON read back (client)


_OP_WIRE: dict[str, _OpWire] = {
    "get": _OpWire(_get_json, _get_answer, _get_result),
    "set": _OpWire(_set_json, _written_answer, _written_result),
    "delete": _OpWire(_delete_json, _delete_answer, _delete_result),
    "append": _OpWire(_append_json, _append_answer, _append_result),
    "restore": _OpWire(_restore_json, _written_answer, _written_result),
}
"""The wire's one dispatch on an operation's kind (its ``op`` name)."""


def _wire_of(op: Op) -> _OpWire:
    name = getattr(op, "op", None)
    wire = _OP_WIRE.get(name) if isinstance(name, str) else None
    if wire is None:
        raise ValidationError(
            f"unknown batch operation {op!r}; use GetOp, SetOp, DeleteOp, AppendOp, RestoreOp"
        )
    return wire


def error_from_answer(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    key: str | None = None,
    where: str = "the server",
) -> BotWireError:
    """Turn an error answer into the exception an embedded store would have raised.

    An answer without a BotWire error body (``{"detail", "code"}``) is described by
    its status and content type, never by dumping its body: a 4xx that is not ours
    means ``where`` is not a BotWire server (a wrong URL, a web page, a proxy).
    """
    content_type = headers.get("content-type", "").split(";")[0].strip() or "no content type"
    detail = f"{where} answered HTTP {status} ({content_type})"
    code = ""
    data: dict[str, Any] = {}
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        data = parsed
        if isinstance(parsed.get("detail"), str):
            detail = parsed["detail"]
        if isinstance(parsed.get("code"), str):
            code = parsed["code"]
    elif status < 500:
        detail = (
            f"{where} does not look like a BotWire server (HTTP {status}, {content_type}); "
            "check the URL, e.g. http://host:8080"
        )
    cls = ERRORS_BY_CODE.get(code)
    if cls is None:
        code = "server_error" if status >= 500 else "invalid_request"
        cls = ERRORS_BY_CODE[code]
    if cls is ConflictError:
        current = data.get("current_version")
        return ConflictError(
            detail,
            key=data.get("key", key),
            current_version=current if isinstance(current, int) else None,
        )
    if cls is QuotaExceededError:
        return QuotaExceededError(detail, retry_after=retry_after(headers))
    if issubclass(cls, ValidationError):
        return cls(detail, code=code)
    return cls(detail)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds in a ``Retry-After`` header (the seconds form), or ``None``."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


# -- the change feed -------------------------------------------------------------


def changes_path(namespace: str) -> str:
    """Path of a namespace's change feed: ``/memory/{ns}/changes``."""
    return MEMORY_PREFIX + namespace + "/" + CHANGES_SEGMENT


def changes_request(
    namespace: str, since: int | None, prefix: str = "", wait: float = 0.0, limit: int = 0
) -> WireRequest:
    """``GET /memory/{ns}/changes?since=&prefix=&wait=`` (a long-poll)."""
    query: dict[str, str] = {"wait": f"{max(0.0, wait):g}"}
    if since is not None:
        query["since"] = str(since)
    if prefix:
        query["prefix"] = prefix
    if limit:
        query["limit"] = str(limit)
    path = changes_path(namespace) + "?" + urlencode(query)
    return WireRequest("GET", path, idempotent=True)


def _change_json(change: ChangeRecord) -> str:
    value = "null" if change.raw is None else change.raw
    omitted = ',"value_omitted":true' if change.omitted else ""
    return (
        f'{{"seq":{change.seq},"key":{_str(change.key)},"kind":"{change.kind}",'
        f'"version":{change.version},"value":{value}{omitted}}}'
    )


def changes_answer(namespace: str, page: ChangePage) -> bytes:
    """Body of a long-poll: ``{"namespace", "changes": [...], "next"}``."""
    changes = ",".join(_change_json(c) for c in page.changes)
    return _body(f'{{"namespace":{_str(namespace)},"changes":[{changes}],"next":{page.next}}}')


def change_event(change: ChangeRecord) -> bytes:
    """One Server-Sent Event: ``id`` is the seq (``Last-Event-ID`` resumes after it)."""
    return _body(f"id: {change.seq}\ndata: {_change_json(change)}\n\n")


def parse_changes_answer(body: bytes) -> ChangePage:
    """Read the answer of ``GET /memory/{ns}/changes``."""

    def read(data: Mapping[str, Any]) -> ChangePage:
        return ChangePage([_change(c) for c in data["changes"]], int(data["next"]))

    return _shape(read, body, "a read of the change feed")  # type: ignore[no-any-return]


def parse_change_event(data: str) -> ChangeRecord:
    """Read the ``data:`` of one Server-Sent Event of the change feed."""
    return _shape(_change, data.encode(), "an event of the change feed")  # type: ignore[no-any-return]


def _change(c: Mapping[str, Any]) -> ChangeRecord:
    return ChangeRecord(
        int(c["seq"]),
        str(c["key"]),
        c["kind"],
        int(c["version"]),
        None
        if c.get("value_omitted") or c["kind"] in ("delete", "expire")
        else encode(c["value"], max_bytes=None),
        bool(c.get("value_omitted", False)),
    )
