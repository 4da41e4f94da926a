"""Reading requests: query, headers and bodies, each refused with a sentence.

The path is parsed once, by :mod:`botwire.server._routes`. Bodies are read with a
size cap checked before and while reading, and a stall timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from botwire import _wire
from botwire._codec import encoded_size
from botwire._errors import ValidationError, ValueTooLargeError
from botwire._types import AppendOp, DeleteOp, GetOp, Op, RestoreOp, SetOp
from botwire._validation import check_timestamp, validate_key

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

__all__ = [
    "APPEND_FIELDS",
    "answer_size",
    "BATCH_FIELDS",
    "PUT_FIELDS",
    "condition",
    "etag_headers",
    "header",
    "idempotency_key",
    "int_param",
    "item_bytes",
    "parse_ops",
    "query_of",
    "read_body",
]


def query_of(scope: Scope) -> dict[str, str]:
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return {}
    try:
        return dict(
            parse_qsl(
                raw.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=32
            )
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(
            f"the query string is invalid ({exc}); percent-encode UTF-8 text",
            code="invalid_request",
        ) from None


def int_param(query: dict[str, str], name: str, low: int, high: int) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) < 12) or not low <= int(text) <= high:
        raise ValidationError(
            f"?{name}= must be an integer from {low} to {high}, not {text[:20]!r}",
            code="invalid_request",
        )
    return int(text)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_body(
    scope: Scope,
    receive: Receive,
    limit: int,
    max_value: int | None = None,
    timeout: float = 30.0,
) -> bytes:
    """Read the body, refusing one over ``limit`` before reading it all.

    A body not whole within ``timeout`` seconds is refused (trickled or stalled).
    """
    too_large = f"the request body is over {limit} bytes, the most this server reads"
    if max_value is not None:
        too_large += f" (values may be up to {max_value} bytes encoded)"
    length = header(scope, b"content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise ValidationError("Content-Length is not a number", code="invalid_request")
        if int(length) > limit:
            raise ValueTooLargeError(too_large)
    chunks: list[bytes] = []
    total = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout  # the whole body, not the gap between two chunks
    while True:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise ValidationError(
                f"the request body took over {timeout:g} s; send it whole, promptly",
                code="invalid_request",
            ) from None
        if message["type"] == "http.disconnect":
            raise ValidationError("the client went away mid-request", code="invalid_request")
        chunk = message.get("body", b"")
        if chunk:
            total += len(chunk)
            if total > limit:
                raise ValueTooLargeError(too_large)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def etag_headers(version: int) -> list[tuple[bytes, bytes]]:
    return [(b"etag", _wire.etag(version).encode("ascii"))]


def condition(scope: Scope) -> int | None:
    """``if_version`` from ``If-Match: "<v>"`` or ``If-None-Match: *``."""
    if_match = header(scope, b"if-match")
    if_none = header(scope, b"if-none-match")
    if if_match is not None and if_none is not None:
        raise ValidationError(
            "send either If-Match or If-None-Match, not both", code="invalid_request"
        )
    if if_none is not None:
        if if_none.strip() != "*":
            raise ValidationError(
                'on a write, If-None-Match only takes "*" (write only if the key is absent)',
                code="invalid_request",
            )
        return 0
    if if_match is not None:
        if if_match.strip() == "*":
            raise ValidationError(
                'If-Match needs the version to expect, e.g. If-Match: "3" (the ETag of a read)',
                code="invalid_request",
            )
        return _wire.parse_etag(if_match, "If-Match")
    return None


def idempotency_key(scope: Scope) -> str | None:
    """A ``PUT``'s idempotency id from its ``Idempotency-Key`` header, if any."""
    value = header(scope, _wire.IDEMPOTENCY_HEADER.encode("ascii"))
    if value is None:
        return None
    try:
        return _wire.parse_id(value)
    except ValidationError:
        raise ValidationError(
            f"Idempotency-Key must be 1-{_wire.MAX_ID_CHARS} characters, e.g. a UUID",
            code="invalid_request",
        ) from None


def answer_size(ops: Sequence[Op], results: Sequence[Any], cap: int) -> int:
    """The size a batch answer would have (bytes, a little over), checked before it is built.

    A value read several times counts each time (it is written out each time);
    its size is measured once.

    Raises:
        ValidationError: the answer would pass ``cap`` bytes (``answer_too_large``, 413).
    """
    total = 16
    measured: dict[int, int] = {}
    for op, result in zip(ops, results, strict=True):
        total += 2 * len(op.key) + 160  # the op, key (escaped) and numbers around it
        raw = getattr(result, "raw", None)
        if isinstance(raw, str):
            size = measured.get(id(raw))
            if size is None:
                size = measured[id(raw)] = encoded_size(raw)
            total += size
        if total > cap:
            raise ValidationError(
                f"this batch's answer would be over {cap} bytes, the most this server "
                "sends at once; read fewer or smaller values per batch (split it), or "
                "page a list with GET ?last=",
                code="answer_too_large",
            )
    return total


def item_bytes(raws: Sequence[str]) -> int:
    return sum(encoded_size(r) for r in raws) + len(raws)


from botwire.server._shapes import APPEND_FIELDS, BATCH_FIELDS, OP_FIELDS, PUT_FIELDS  # noqa: E402


def parse_ops(raw_ops: Any, max_value: int) -> list[Op]:
    if not isinstance(raw_ops, list):
        raise ValidationError(
            'the body needs "ops": a JSON array of operations', code="invalid_request"
        )
    if len(raw_ops) > _wire.MAX_BATCH_OPS:
        raise ValidationError(
            f"a batch holds at most {_wire.MAX_BATCH_OPS} operations, not {len(raw_ops)}",
            code="invalid_request",
        )
    ops: list[Op] = []
    for index, item in enumerate(raw_ops):
        try:
            ops.append(parse_op(item, max_value))
        except ValidationError as exc:
            raise type(exc)(f"ops[{index}]: {exc}", code=exc.code) from None
    return ops


def parse_op(item: Any, max_value: int) -> Op:
    if not isinstance(item, dict):
        raise ValidationError(
            'each operation is an object like {"op": "get", "key": "..."}', code="invalid_request"
        )
    kind = item.get("op")
    if not isinstance(kind, str) or kind not in OP_FIELDS:
        raise ValidationError(
            f'"op" must be one of get, set, delete, append, restore, not {str(kind)[:20]!r}',
            code="invalid_request",
        )
    _wire.check_fields(item, OP_FIELDS[kind], f"a {kind} operation")
    key = item.get("key")
    if not isinstance(key, str):  # validate_key caches by value: hash only strings
        raise ValidationError(
            f'"key" must be a string, not {_wire.json_type(key)}', code="invalid_key"
        )
    validate_key(key)
    if kind == "get":
        return GetOp(key)
    if kind == "delete":
        return DeleteOp(key)
    if kind == "set":
        if "value" not in item:
            raise ValidationError('a set operation needs a "value"', code="invalid_value")
        return SetOp(
            key,
            _wire.encode_value(item["value"], max_value),
            _wire.parse_ttl(item.get("ttl")),
            _wire.parse_version(item.get("if_version"), "if_version"),
            _wire.parse_id(item.get("id")),
        )
    if kind == "restore":
        return _restore_op(key, item, max_value)
    return AppendOp(
        key,
        _wire.encode_items(item.get("items"), max_value, "items"),
        _wire.parse_id(item.get("id")),
    )


def _restore_op(key: str, item: dict[str, Any], max_value: int) -> RestoreOp:
    """A record written verbatim by ``botwire import`` (versions, timestamps, expiry)."""
    if "value" not in item:
        raise ValidationError('a restore operation needs a "value"', code="invalid_value")
    version = _wire.parse_version(item.get("version"), "version")
    if version is None or version < 1:
        raise ValidationError(
            '"version" must be an integer from 1 to 2**53-1', code="invalid_request"
        )
    stamps: list[float | None] = []
    for name in ("created_at", "updated_at", "expires_at"):
        value = item.get(name)
        if value is None and name == "expires_at":
            stamps.append(None)
            continue
        stamps.append(check_timestamp(value, f'"{name}"'))
    created, updated, expires = stamps
    assert created is not None and updated is not None
    return RestoreOp(
        key, _wire.encode_value(item["value"], max_value), version, created, updated, expires
    )
