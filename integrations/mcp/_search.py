"""``memory_search``: keyword ranking over a namespace's keys and values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from botwire._client import AsyncMemory
from botwire._rules import decode
from botwire._types import GetOp, Op, Record

__all__ = ["SEARCH_SCAN", "search"]

T = TypeVar("T")

SEARCH_SCAN = 1000
"""Most keys (in key order) one search reads: the cost of a call stays bounded."""

_PAGE = 200
_WORD = re.compile(r"[^\W_]+")


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 1 or w.isdigit()}


def rank(query: str, candidates: Iterable[tuple[str, float, T]], limit: int) -> Sequence[T]:
    """Best ``limit`` candidates by words shared with ``query``, then newest first."""
    wanted = _terms(query)
    scored = []
    for position, (text, added_at, item) in enumerate(candidates):
        score = len(wanted & _terms(text)) if wanted else 0
        if score or not wanted:
            scored.append((score, added_at, position, item))
    scored.sort(key=lambda s: (-s[0], -s[1], -s[2]))
    return [s[3] for s in scored[:limit]]


async def _records(memory: AsyncMemory, scan: int) -> list[Record]:
    records: list[Record] = []
    cursor: str | None = None
    while len(records) < scan:
        page = await memory.store.list_keys(
            memory.namespace, limit=min(_PAGE, scan - len(records)), cursor=cursor
        )
        ops: list[Op] = [GetOp(k) for k in page.keys]
        if ops:
            records.extend(r for r in await memory.batch(ops) if isinstance(r, Record))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return records


async def search(
    memory: AsyncMemory, query: str, limit: int, *, scan: int = SEARCH_SCAN
) -> list[dict[str, Any]]:
    """Return the ``limit`` best matches of ``query`` among the first ``scan`` keys.

    A key matches by the words its name and its value (as JSON text) share with
    the query; ties go to the most recently updated key.
    """
    records = await _records(memory, scan)
    best = rank(query, ((f"{r.key} {r.raw}", r.updated_at, r) for r in records), limit)
    return [{"key": r.key, "value": decode(r.raw), "version": r.version} for r in best]
