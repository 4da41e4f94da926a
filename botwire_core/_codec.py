"""The value codec (DESIGN.md §4): any JSON value to compact JSON text and back.

What you set is what you get back, type for type; the encoder refuses what JSON
would silently change (non-string object keys, NaN) and enforces depth and size.
Pure and I/O-free, shared by every store and both ends of the wire.
"""

from __future__ import annotations

import json
from typing import Any

from botwire._errors import ValidationError, ValueTooLargeError

__all__ = ["DEFAULT_MAX_VALUE_BYTES", "MAX_DEPTH", "decode", "encode", "encoded_size"]

DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
MAX_DEPTH = 100
"""Deepest nesting of lists/objects accepted in a value (JSON parsers recurse)."""

_SCALARS = frozenset({str, int, float, bool, type(None)})
_TREES = (dict, list, tuple)
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
)


def _not_serializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _c_encoder() -> Any:
    """The C encoder ``_ENCODER.encode`` builds on every call, built once.

    ``JSONEncoder.encode`` makes a new one per call (two Python frames and a
    closure); reusing one halves the cost of encoding a small value. ``None``
    where the C accelerator is missing.
    """
    from json import encoder

    try:
        return encoder.c_make_encoder(  # type: ignore[attr-defined]
            None, _not_serializable, encoder.encode_basestring, None, ":", ",", False, False, False
        )
    except (AttributeError, TypeError):
        return None


_C_ENCODE = _c_encoder()
_ENCODE_STR = json.encoder.encode_basestring


def _check_tree(value: Any, depth: int) -> None:
    """Reject what json.dumps would silently change (non-str object keys) and depth."""
    if depth > MAX_DEPTH:
        raise ValidationError(f"value is nested more than {MAX_DEPTH} levels deep")
    scalars = _SCALARS
    if isinstance(value, dict):
        for k, v in value.items():
            if type(k) is not str and not isinstance(k, str):
                raise ValidationError(
                    f"object keys must be strings, got {type(k).__name__} {k!r} "
                    "(JSON would turn it into a string)"
                )
            if type(v) not in scalars and isinstance(v, _TREES):
                _check_tree(v, depth + 1)
    elif not scalars.issuperset(map(type, value)):  # a list of scalars passes in C
        for v in value:
            if type(v) not in scalars and isinstance(v, _TREES):
                _check_tree(v, depth + 1)


def encode(value: Any, *, max_bytes: int | None = DEFAULT_MAX_VALUE_BYTES) -> str:
    """Encode a JSON value as compact JSON text, validating it.

    Raises:
        ValidationError: the value is not a JSON value (e.g. a set, NaN, bytes).
        ValueTooLargeError: its encoding is over ``max_bytes``.
    """
    kind = type(value)
    if kind is dict or kind is list or (kind not in _SCALARS and isinstance(value, _TREES)):
        _check_tree(value, 1)
    try:
        # _C_ENCODE and the string encoder directly: JSONEncoder.encode would build a
        # new C encoder for this one call.
        if kind is str:
            text: str = _ENCODE_STR(value)
        elif _C_ENCODE is not None:
            text = "".join(_C_ENCODE(value, 0))
        else:
            text = _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        if "Out of range" in str(exc):
            raise ValidationError(
                "value contains NaN or Infinity, which JSON cannot represent"
            ) from None
        raise ValidationError(f"value is not JSON-serializable: {exc}") from None
    except RecursionError:
        raise ValidationError(f"value is nested more than {MAX_DEPTH} levels deep") from None
    if max_bytes is not None:
        # ASCII text is the common case and needs no second pass to count bytes.
        size = len(text) if text.isascii() else _utf8_len(text)
        if size > max_bytes:
            raise ValueTooLargeError(
                f"value is {size} bytes encoded; the limit is {max_bytes} bytes"
            )
    elif not text.isascii():
        _utf8_len(text)
    return text


def _utf8_len(text: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError(
            "value contains a lone surrogate character, which is not valid Unicode"
        ) from None


def decode(text: str) -> Any:
    """Decode JSON text written by :func:`encode`."""
    return json.loads(text)


def encoded_size(text: str) -> int:
    """UTF-8 size in bytes of an encoded value."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))
