"""Code the multi-process tests run in child processes (kept free of pytest)."""

from __future__ import annotations

import asyncio

from botwire import AsyncMemory, Memory

APPENDS = 100
UPDATES = 50
FORKED_APPENDS = 50


def sync_worker(url: str, namespace: str, n: int) -> None:
    """Append APPENDS items and do UPDATES increments through ``Memory``."""
    with Memory(namespace, url) as memory:
        for i in range(APPENDS):
            memory.append("items", f"{n}:{i}", id=f"{n}:{i}" if i % 2 else None)
            if i % 2:
                memory.update("counter", lambda c: c + 1, default=0)


def async_worker(url: str, namespace: str, n: int) -> None:
    """The same work through ``AsyncMemory``."""

    async def run() -> None:
        memory = AsyncMemory(namespace, url)
        try:
            for i in range(APPENDS):
                await memory.append("items", f"{n}:{i}", id=f"{n}:{i}" if i % 2 else None)
                if i % 2:
                    await memory.update("counter", lambda c: c + 1, default=0)
        finally:
            await memory.aclose()

    asyncio.run(run())


def forked_append(store: object, namespace: str) -> None:
    """Use a store the parent opened (reached through fork, not pickling)."""
    from botwire._postgres import PostgresStore

    assert isinstance(store, PostgresStore)
    for i in range(FORKED_APPENDS):
        store.append(namespace, "l", [f'"child {i}"'])
