"""Scoped access tokens, without any I/O (the security issue; DESIGN.md §6).

A token looks like ``bw_<id>_<secret>``: ``bw_`` makes it recognisable (secret
scanners, logs), ``<id>`` (12 hex digits) names it for listing and revoking, and
``<secret>`` carries 256 random bits. A server stores only the SHA-256 hash of the
whole token, never the token itself; a plain hash is enough because the secret is
random, not a password (no dictionary to try). Checks compare hashes with
:func:`hmac.compare_digest`, in constant time.

A token's :class:`TokenScope` is a set of namespace glob patterns (``team-a-*``,
``agent-?``, ``*``) plus read and/or write rights. Namespaces that start with
``_botwire.`` are reserved for the server's own records (the tokens live in
``_botwire.tokens``) and no token ever reaches them.

Example:
    >>> new = new_token(["team-a-*"], read=True, write=False, expires="30d")
    >>> new.token.startswith("bw_")
    True
    >>> record = new.record
    >>> record.matches(new.token) and record.scope.allows("team-a-1", "read")
    True
    >>> record.scope.allows("team-b", "read")
    False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from botwire._errors import ValidationError

__all__ = [
    "MAX_TOKEN_CHARS",
    "RESERVED_PREFIX",
    "TOKENS_NAMESPACE",
    "TOKEN_PREFIX",
    "Access",
    "NewToken",
    "TokenRecord",
    "TokenScope",
    "bearer_token",
    "format_duration",
    "hash_token",
    "is_reserved",
    "new_token",
    "parse_expiry",
    "parse_token",
    "same_secret",
    "scope_from_request",
    "validate_pattern",
]

Access = Literal["read", "write"]

TOKEN_PREFIX = "bw_"
RESERVED_PREFIX = "_botwire."
"""Namespaces starting with this hold the server's own records; clients never reach them."""
TOKENS_NAMESPACE = RESERVED_PREFIX + "tokens"
"""Where a server keeps its token records (hashes, scopes), one key per token id."""

_ID_CHARS = 12
_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 256
"""Longest ``Authorization`` credential looked at (longer ones are refused unread)."""
MAX_PATTERNS = 64
MAX_EXPIRY = 10 * 366 * 86400
"""Longest lifetime a token may be given (about ten years)."""

_TOKEN_RE = re.compile(r"bw_([0-9a-f]{12})_([A-Za-z0-9_\-]{20,200})")
_PATTERN_RE = re.compile(r"[A-Za-z0-9_\-.:@*?]{1,128}")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def is_reserved(namespace: str) -> bool:
    """Whether ``namespace`` is reserved for the server (``_botwire.*``)."""
    return namespace.startswith(RESERVED_PREFIX)


def validate_pattern(pattern: str) -> str:
    """Return a namespace glob pattern if valid, else raise :class:`ValidationError`.

    A pattern is 1-128 characters from the namespace alphabet
    (``A-Z a-z 0-9 _ - . : @``) plus ``*`` (any run of characters) and ``?``
    (one character). Matching is case-sensitive, like namespaces.

    Raises:
        ValidationError: the pattern is not a string, has other characters, or
            names the reserved ``_botwire.`` namespaces.
    """
    if not isinstance(pattern, str):
        raise ValidationError(f"a namespace pattern must be a string, not {type(pattern).__name__}")
    if _PATTERN_RE.fullmatch(pattern) is None:
        raise ValidationError(
            f"invalid namespace pattern {pattern[:80]!r}: use 1-128 characters from "
            "A-Z a-z 0-9 _ - . : @ plus * (any run) and ? (one character), e.g. 'team-a-*'"
        )
    if pattern.startswith(RESERVED_PREFIX):
        raise ValidationError(
            f"namespace pattern {pattern!r} names the reserved {RESERVED_PREFIX}* namespaces, "
            "which no token can reach"
        )
    return pattern


@dataclass(frozen=True, slots=True)
class TokenScope:
    """What a token may do: namespace glob patterns and read and/or write rights.

    Example:
        >>> scope = TokenScope(("team-a-*",), read=True, write=True)
        >>> scope.allows("team-a-7", "write"), scope.allows("team-b", "read")
        (True, False)

    Args:
        patterns: namespace glob patterns (see :func:`validate_pattern`).
        read: may read values, list keys and see usage.
        write: may set, delete and append.

    Raises:
        ValidationError: no pattern, a bad pattern, or neither read nor write.
    """

    patterns: tuple[str, ...]
    read: bool
    write: bool

    def __post_init__(self) -> None:
        if isinstance(self.patterns, str) or not isinstance(self.patterns, tuple):
            raise ValidationError(
                "patterns must be a tuple of namespace patterns, e.g. ('team-a-*',)"
            )
        if not self.patterns:
            raise ValidationError("a token needs at least one namespace pattern, e.g. 'team-a-*'")
        if len(self.patterns) > MAX_PATTERNS:
            raise ValidationError(f"a token takes at most {MAX_PATTERNS} namespace patterns")
        for pattern in self.patterns:
            validate_pattern(pattern)
        if not isinstance(self.read, bool) or not isinstance(self.write, bool):
            raise ValidationError("read and write must be true or false")
        if not (self.read or self.write):
            raise ValidationError("a token must allow read, write or both")

    def covers(self, namespace: str) -> bool:
        """Whether ``namespace`` matches one of the patterns (never a reserved one)."""
        if is_reserved(namespace):
            return False
        return any(fnmatchcase(namespace, pattern) for pattern in self.patterns)

    def allows(self, namespace: str, access: Access) -> bool:
        """Whether the scope grants ``access`` (``"read"``/``"write"``) on ``namespace``."""
        granted = self.read if access == "read" else self.write
        return granted and self.covers(namespace)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What a server stores about a token: its hash and scope, never the token.

    Args:
        id: the public identifier (12 hex digits), part of the token.
        hash: SHA-256 hex digest of the whole token (:func:`hash_token`).
        scope: what the token may do.
        created_at: Unix seconds.
        expires_at: Unix seconds after which the token is refused, or ``None``.
        name: an optional label (who or what the token is for).
        writes_per_day: writes this token may make per UTC day, over every
            namespace it reaches (``None``: only the server's per-namespace limit).
    """

    id: str
    hash: str
    scope: TokenScope
    created_at: float
    expires_at: float | None = None
    name: str | None = None
    writes_per_day: int | None = None

    def matches(self, token: str) -> bool:
        """Whether ``token`` is this record's token (constant-time hash comparison)."""
        return hmac.compare_digest(hash_token(token), self.hash)

    def expired(self, now: float | None = None) -> bool:
        """Whether the token has expired at ``now`` (default: the current time)."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at

    def public(self, now: float | None = None) -> dict[str, Any]:
        """The record as the admin API lists it: no hash, no secret."""
        return {
            "id": self.id,
            "name": self.name,
            "namespaces": list(self.scope.patterns),
            "read": self.scope.read,
            "write": self.scope.write,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "expired": self.expired(now),
            "writes_per_day": self.writes_per_day,
        }

    def to_json(self) -> str:
        """Encode the record as the JSON text stored under its id."""
        return json.dumps(
            {
                "id": self.id,
                "hash": self.hash,
                "namespaces": list(self.scope.patterns),
                "read": self.scope.read,
                "write": self.scope.write,
                "created_at": self.created_at,
                "expires_at": self.expires_at,
                "name": self.name,
                "writes_per_day": self.writes_per_day,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> TokenRecord:
        """Decode a stored record.

        Raises:
            ValidationError: the text is not a token record.
        """
        try:
            data = json.loads(raw)
            expires = data.get("expires_at")
            return cls(
                id=str(data["id"]),
                hash=str(data["hash"]),
                scope=TokenScope(tuple(data["namespaces"]), read=data["read"], write=data["write"]),
                created_at=float(data["created_at"]),
                expires_at=None if expires is None else float(expires),
                name=data.get("name"),
                writes_per_day=data.get("writes_per_day"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationError(f"not a token record: {type(exc).__name__}") from None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly made token: the secret (show it once) and the record to store."""

    token: str
    record: TokenRecord

    def __repr__(self) -> str:  # never print the secret by accident
        return f"NewToken(id={self.record.id!r}, token='bw_…')"


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Compare two secrets in constant time (length included: hashes are compared)."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest(),
        hashlib.sha256(expected.encode("utf-8", "surrogateescape")).digest(),
    )


def parse_token(token: str) -> str | None:
    """Return the id of a well-formed token (``bw_<id>_<secret>``), else ``None``."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        return None
    match = _TOKEN_RE.fullmatch(token)
    return match.group(1) if match else None


def bearer_token(header: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer <token>`` header, else ``None``."""
    if not header or len(header) > MAX_TOKEN_CHARS + 16:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    credential = credential.strip()
    return credential or None


def parse_expiry(expires: str | float | None) -> float | None:
    """Read a token lifetime in seconds: ``"30d"``, ``"12h"``, ``"15m"``, ``"2w"``, ``3600``.

    Args:
        expires: a number of seconds, a number with a unit (s, m, h, d, w), or
            ``None``/``"never"`` for a token that does not expire.

    Returns:
        The lifetime in seconds, or ``None`` for no expiry.

    Raises:
        ValidationError: not a positive duration, or longer than about ten years.
    """
    if expires is None:
        return None
    if isinstance(expires, bool):
        raise ValidationError("expires must be a duration like '30d' or a number of seconds")
    if isinstance(expires, (int, float)):
        # A 400-digit integer does not fit a float: too long, not a crash.
        seconds = float(max(-1, min(expires, MAX_EXPIRY + 1)))
    elif isinstance(expires, str):
        text = expires.strip().lower()
        if text in ("", "never", "none"):
            return None
        match = _DURATION_RE.fullmatch(text)
        if match is None:
            raise ValidationError(
                f"expires must be a duration like 30d, 12h, 15m, 90s or 2w, not {expires[:40]!r}"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValidationError(
            f"expires must be a duration like '30d' or seconds, not {type(expires).__name__}"
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValidationError(f"expires must be a positive duration, not {expires!r}")
    if seconds > MAX_EXPIRY:
        raise ValidationError("a token may last at most about ten years (3660d)")
    return seconds


def format_duration(seconds: float) -> str:
    """Write seconds the way :func:`parse_expiry` reads them (``2592000`` -> ``30d``)."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _patterns(namespaces: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(namespaces, str):
        return (namespaces,)
    try:
        return tuple(namespaces)
    except TypeError:
        raise ValidationError("namespaces must be a list of patterns, e.g. ['team-a-*']") from None


def new_token(
    namespaces: str | Iterable[str],
    *,
    read: bool,
    write: bool,
    expires: str | float | None = None,
    name: str | None = None,
    now: float | None = None,
    writes_per_day: int | None = None,
) -> NewToken:
    """Make a token and the record a server stores for it.

    Args:
        namespaces: namespace glob patterns the token reaches (``"team-a-*"``).
        read: allow reads (values, key listings, usage).
        write: allow writes (set, delete, append).
        expires: lifetime (see :func:`parse_expiry`); ``None``: never expires.
        name: optional label, up to 200 characters.
        writes_per_day: writes allowed per UTC day over all the token's
            namespaces (``None``: no per-token limit).
        now: creation time in Unix seconds (default: now).

    Returns:
        The token (show it once, then forget it) and its :class:`TokenRecord`.

    Raises:
        ValidationError: a bad pattern, no right granted, a bad lifetime or name.
    """
    scope = TokenScope(_patterns(namespaces), read=read, write=write)
    lifetime = parse_expiry(expires)
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise ValidationError("name must be text of at most 200 characters")
    if writes_per_day is not None and (
        isinstance(writes_per_day, bool)
        or not isinstance(writes_per_day, int)
        or not 1 <= writes_per_day <= 2**31
    ):
        raise ValidationError(
            f"writes_per_day must be an integer from 1 to 2**31, not {str(writes_per_day)[:40]}"
        )
    created = time.time() if now is None else float(now)
    token_id = secrets.token_hex(_ID_CHARS // 2)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    record = TokenRecord(
        id=token_id,
        hash=hash_token(token),
        scope=scope,
        created_at=created,
        expires_at=None if lifetime is None else created + lifetime,
        name=name or None,
        writes_per_day=writes_per_day,
    )
    return NewToken(token, record)


def scope_from_request(data: Mapping[str, Any]) -> dict[str, Any]:
    """Read the fields of an admin "create token" body into :func:`new_token` arguments.

    The body is ``{"namespaces": [...], "read": bool, "write": bool,
    "expires"?: "30d" | seconds | null, "name"?: str}``.

    Raises:
        ValidationError: a field is missing, unknown or of the wrong type.
    """
    allowed = {"namespaces", "read", "write", "expires", "name", "writes_per_day"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            f"unknown field(s) {', '.join(unknown)}; a token takes "
            '{"namespaces": ["team-a-*"], "read": true, "write": false, "expires": "30d"}'
        )
    namespaces = data.get("namespaces")
    if isinstance(namespaces, str):
        namespaces = [namespaces]
    if not isinstance(namespaces, list) or not namespaces:
        raise ValidationError(
            '"namespaces" must be a non-empty list of patterns, e.g. ["team-a-*"]'
        )
    read, write = data.get("read", False), data.get("write", False)
    if not isinstance(read, bool) or not isinstance(write, bool):
        raise ValidationError('"read" and "write" must be true or false')
    return {
        "namespaces": namespaces,
        "read": read,
        "write": write,
        "expires": data.get("expires"),
        "name": data.get("name"),
        "writes_per_day": data.get("writes_per_day"),
    }
