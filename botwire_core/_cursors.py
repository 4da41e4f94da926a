"""Listing and list helpers shared by every store: cursors, prefix bounds, list rows.

Both stores use them, so a cursor from one page format means the same everywhere.
"""

from __future__ import annotations

import base64

from botwire._codec import decode, encode
from botwire._errors import ValidationError

__all__ = ["decode_cursor", "encode_cursor", "prefix_upper_bound", "split_list"]


def encode_cursor(key: str) -> str:
    """Opaque cursor that resumes a listing after ``key``."""
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str) -> str:
    """The key a cursor resumes after; ValidationError if it is not one of ours."""
    try:
        if not isinstance(cursor, str) or not cursor:
            raise ValueError("empty")
        key = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
        if encode_cursor(key) != cursor:  # junk that happens to decode: refuse it
            raise ValueError("not canonical")
        return key
    except (ValueError, UnicodeError):
        raise ValidationError(
            f"cursor {cursor[:40]!r} is not one this store returned; pass next_cursor "
            "from the previous page unchanged",
            code="invalid_request",
        ) from None


def prefix_upper_bound(prefix: str) -> str | None:
    """Smallest string greater than every string that starts with ``prefix``."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # skip the surrogate block
                nxt = 0xE000
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None


def split_list(raw: str) -> list[str] | None:
    """Split the JSON text of a whole list into item texts; None if not a list."""
    if not raw.startswith("["):
        return None
    return [encode(item, max_bytes=None) for item in decode(raw)]
