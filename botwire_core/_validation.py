"""What a valid namespace, key and option is (DESIGN.md §4), checked once.

Pure and I/O-free: both clients, the server's request parser and every store call
these checks, so the rules and their sentences cannot drift between doors. The
value codec (JSON text, depth and size) is ``botwire._codec``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from botwire._errors import ValidationError

__all__ = [
    "MAX_ID_CHARS",
    "MAX_KEY_BYTES",
    "MAX_NAMESPACE_CHARS",
    "MAX_SAFE_INT",
    "MAX_TTL",
    "check_limit",
    "check_id",
    "check_prefix",
    "check_timestamp",
    "check_ttl",
    "check_version",
    "validate_key",
    "validate_namespace",
]

MAX_KEY_BYTES = 512
MAX_NAMESPACE_CHARS = 128
MAX_TTL = 100 * 365 * 86400
"""Longest TTL accepted, in seconds (100 years); omit ``ttl`` to keep a key forever."""
MAX_ID_CHARS = 128
"""Longest request idempotency id (an append's ``id``, a set's ``Idempotency-Key``)."""
MAX_SAFE_INT = 2**53 - 1
"""Largest version or timestamp accepted from anyone: every JSON reader holds it exactly
(a double), and both stores hold it and far more versions after it (a 64-bit integer)."""

_NAMESPACE_RE = re.compile(rf"[A-Za-z0-9_\-.:@]{{1,{MAX_NAMESPACE_CHARS}}}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def validate_namespace(namespace: str) -> str:
    """Return ``namespace`` if valid, else raise :class:`ValidationError`.

    A namespace is 1–128 characters from ``A-Z a-z 0-9 _ - . : @``.
    """
    if type(namespace) is str:
        return _validate_namespace(namespace)
    if not isinstance(namespace, str):
        raise ValidationError(
            f"namespace must be a string, not {type(namespace).__name__}",
            code="invalid_namespace",
        )
    return _validate_namespace(str(namespace))


@lru_cache(maxsize=1024)
def _validate_namespace(namespace: str) -> str:
    if _NAMESPACE_RE.fullmatch(namespace) is None:
        if not namespace:
            reason = "it is empty"
        elif len(namespace) > MAX_NAMESPACE_CHARS:
            reason = f"it is {len(namespace)} characters long (at most {MAX_NAMESPACE_CHARS})"
        else:
            bad = sorted({c for c in namespace if _NAMESPACE_RE.fullmatch(c) is None})
            reason = f"it contains {''.join(bad)!r}"
        raise ValidationError(
            f"invalid namespace {namespace[:80]!r}: {reason}; use "
            f"1-{MAX_NAMESPACE_CHARS} characters from A-Z a-z 0-9 _ - . : @",
            code="invalid_namespace",
        )
    return namespace


def validate_key(key: str) -> str:
    """Return ``key`` if valid, else raise :class:`ValidationError`.

    A key is any non-empty Unicode string of at most 512 UTF-8 bytes without
    control characters.
    """
    if type(key) is str:
        return _validate_key(key)
    if not isinstance(key, str):
        raise ValidationError(f"key must be a string, not {type(key).__name__}", code="invalid_key")
    return _validate_key(str(key))


@lru_cache(maxsize=65536)
def _validate_key(key: str) -> str:
    if not key:
        raise ValidationError("key must not be empty", code="invalid_key")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError(
            f"key {key[:40]!r} is not valid Unicode (it has a lone surrogate)",
            code="invalid_key",
        ) from None
    if size > MAX_KEY_BYTES:
        raise ValidationError(
            f"key is {size} bytes in UTF-8; keys may be at most {MAX_KEY_BYTES} bytes",
            code="invalid_key",
        )
    match = _CONTROL_RE.search(key)
    if match is not None:
        raise ValidationError(
            f"key {key[:40]!r} contains the control character {match.group()!r} "
            f"at position {match.start()}; keys may not contain control characters",
            code="invalid_key",
        )
    return key


def check_ttl(value: Any) -> float | None:
    """A ``ttl``: ``None``, or seconds > 0 (at most :data:`MAX_TTL`)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(
            f"ttl must be a positive number of seconds, not {value!r}", code="invalid_value"
        )
    if value > MAX_TTL:
        raise ValidationError(
            f"ttl {value!r} is over 100 years; omit ttl to keep the key forever",
            code="invalid_value",
        )
    return float(value)


def check_version(value: Any, name: str = "if_version") -> int | None:
    """An expected version (``if_version``): ``None`` or an integer >= 0 (0: absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAFE_INT:
        shown = repr(value) if not isinstance(value, int) or value < 10**20 else "a huge number"
        raise ValidationError(
            f"{name} must be an integer from 0 to 2**53-1 (0: only if absent), not {shown[:40]}",
            code="invalid_value",
        )
    return value


def check_timestamp(value: Any, name: str) -> float:
    """Unix seconds: a finite number from 0 to :data:`MAX_SAFE_INT` (``restore``'s stamps)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 <= value <= MAX_SAFE_INT  # also refuses NaN; checked before float(): no overflow
    ):
        shown = "a huge number" if isinstance(value, int) and value > 10**20 else repr(value)
        raise ValidationError(
            f"{name} must be Unix seconds (a number from 0 to 2**53-1), not {shown[:40]}",
            code="invalid_request",
        )
    return float(value)


def check_id(value: Any) -> str | None:
    """A request idempotency id: ``None`` or 1-:data:`MAX_ID_CHARS` characters."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_ID_CHARS
        or _CONTROL_RE.search(value) is not None
        or not _encodes(value)
    ):
        raise ValidationError(
            f"id must be 1-{MAX_ID_CHARS} characters of valid Unicode without control "
            f"characters (a UUID, say), not {str(value)[:40]!r}",
            code="invalid_value",
        )
    return value


def _encodes(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogate): what every store can hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_limit(name: str, value: Any) -> int | None:
    """A ``limit`` or ``last``: ``None`` or an integer >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be an integer >= 0, not {value!r}")
    return value


def check_prefix(prefix: Any) -> str:
    """A key prefix: any string."""
    if not isinstance(prefix, str):
        raise ValidationError(f"prefix must be a string, not {type(prefix).__name__}")
    return prefix
