"""Accept any BotWire client where the adapter needs an ``AsyncMemory``."""

from __future__ import annotations

from typing import Any, TypeAlias

from botwire._client import AsyncMemory, Memory
from botwire._errors import ValidationError
from botwire._store import ThreadedAsyncStore
from botwire.autogen._memory import BotWireMemory

__all__ = ["AnyMemory", "as_async_memory"]

AnyMemory: TypeAlias = Memory | AsyncMemory | BotWireMemory
"""What the adapter's functions accept as their ``memory`` argument."""


def as_async_memory(memory: Any, *, what: str = "memory") -> AsyncMemory:
    """Return an :class:`~botwire.AsyncMemory` over the same namespace and store.

    ``memory`` may be a :class:`botwire.AsyncMemory` (used as is), a
    :class:`botwire.Memory` (its store is shared and run in worker threads) or a
    :class:`botwire.autogen.BotWireMemory` (its underlying ``AsyncMemory``).

    Raises:
        ValidationError: ``memory`` is none of these.
    """
    if isinstance(memory, AsyncMemory):
        return memory
    if isinstance(memory, Memory):
        return AsyncMemory(
            memory.namespace,
            store=ThreadedAsyncStore(memory.store),
            max_value_bytes=memory.max_value_bytes,
        )
    if isinstance(memory, BotWireMemory):
        return memory.memory
    raise ValidationError(
        f"{what} must be a botwire.Memory, botwire.AsyncMemory or "
        f"botwire.autogen.BotWireMemory, not {type(memory).__name__}"
    )
