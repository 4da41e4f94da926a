"""``memory_search``: the adapters' keyword ranker over a namespace's keys and values."""

from __future__ import annotations

import json
from typing import Any

from botwire import AsyncMemory, GetOp, Record
from botwire.tools import MAX_SEARCH, SEARCH_MEMORIES, SEARCH_SCAN, rank

__all__ = ["MAX_SEARCH", "QUERY_DESCRIPTION", "SEARCH_SCAN", "records", "search"]

QUERY_DESCRIPTION = next(p.description for p in SEARCH_MEMORIES.params if p.name == "query")
"""The ``query`` argument as every adapter's search tool describes it."""

_PAGE = 200


async def records(
    memory: AsyncMemory, *, prefix: str = "", most: int | None = None
) -> list[Record]:
    """The records of ``memory``'s keys starting with ``prefix``, in key order.

    Reads one page of keys and one batch of values at a time; stops after
    ``most`` keys if given.
    """
    found: list[Record] = []
    cursor: str | None = None
    while most is None or len(found) < most:
        limit = _PAGE if most is None else min(_PAGE, most - len(found))
        page = await memory.store.list_keys(
            memory.namespace, prefix=prefix, limit=limit, cursor=cursor
        )
        ops = [GetOp(k) for k in page.keys]
        if ops:
            found.extend(r for r in await memory.batch(ops) if isinstance(r, Record))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return found


async def search(
    memory: AsyncMemory, query: str, limit: int, *, scan: int = SEARCH_SCAN
) -> list[dict[str, Any]]:
    """Return the ``limit`` best matches of ``query`` among the first ``scan`` keys.

    A key matches by the search words its name and its value (as JSON text) share
    with the query (``botwire.tools.rank``, the ranker of every adapter);
    ties go to the most recently updated key.
    """
    scanned = await records(memory, most=scan)
    best = rank(query, ((f"{r.key} {r.raw}", r.updated_at, r) for r in scanned), limit)
    return [{"key": r.key, "value": json.loads(r.raw), "version": r.version} for r in best]
