"""``memory_search``: the adapters' keyword ranker over a namespace's keys and values."""

from __future__ import annotations

from typing import Any

from botwire._client import AsyncMemory
from botwire._memory_tools import MAX_SEARCH, SEARCH_MEMORIES, SEARCH_SCAN, rank
from botwire._rules import decode
from botwire._types import GetOp, Op, Record

__all__ = ["MAX_SEARCH", "QUERY_DESCRIPTION", "SEARCH_SCAN", "search"]

QUERY_DESCRIPTION = next(p.description for p in SEARCH_MEMORIES.params if p.name == "query")
"""The ``query`` argument as every adapter's search tool describes it."""

_PAGE = 200


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

    A key matches by the search words its name and its value (as JSON text) share
    with the query (``botwire._memory_tools.rank``, the ranker of every adapter);
    ties go to the most recently updated key.
    """
    records = await _records(memory, scan)
    best = rank(query, ((f"{r.key} {r.raw}", r.updated_at, r) for r in records), limit)
    return [{"key": r.key, "value": decode(r.raw), "version": r.version} for r in best]
