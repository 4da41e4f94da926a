"""``memory_tools``: BotWire as four AutoGen ``FunctionTool``s a model can call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeAlias

from autogen_core.memory import MemoryContent, MemoryMimeType
from autogen_core.tools import BaseTool, FunctionTool

from botwire._client import AsyncMemory
from botwire._errors import ValidationError
from botwire.autogen._kv import AnyMemory, as_async_memory
from botwire.autogen._memory import BotWireMemory, _decode_entry, _shown

__all__ = ["AgentTools", "memory_tools"]

AgentTools: TypeAlias = list[BaseTool[Any, Any] | Callable[..., Any]]
"""The list type ``AssistantAgent(tools=...)`` declares (lists are invariant, so
``list[FunctionTool]`` would not type-check there); the items are ``FunctionTool``s."""

MAX_LIST = 100
SHOWN_CHARS = 200
"""How much of each value ``list_memories`` shows; ``recall`` gives the whole value."""

Key = Annotated[str, "Short, stable name of the fact, e.g. 'user:favourite_colour'."]


class _Facts:
    """Key-value access for the tools, over a plain namespace or a BotWireMemory."""

    def __init__(self, memory: AnyMemory, prefix: str) -> None:
        self.kv: AsyncMemory = as_async_memory(memory)
        self.entries: BotWireMemory | None = memory if isinstance(memory, BotWireMemory) else None
        self.prefix = prefix  # the tools' own prefix, inside the entries' prefix if any
        self.full = (self.entries.prefix if self.entries is not None else "") + prefix

    async def remember(self, key: str, value: str) -> int:
        if self.entries is not None:
            content = MemoryContent(content=value, mime_type=MemoryMimeType.TEXT)
            return await self.entries._put(self.prefix + key, content)
        return await self.kv.set(self.full + key, value)

    async def recall(self, key: str) -> str | None:
        if self.entries is not None:
            content = await self.entries._get(self.prefix + key)
            return None if content is None else _shown(content)
        item = await self.kv.get_item(self.full + key)
        return None if item is None else _as_text(item.value)

    async def forget(self, key: str) -> bool:
        return await self.kv.delete(self.full + key)

    async def listing(self, prefix: str, limit: int) -> list[tuple[str, str]]:
        keys = await self.kv.list_keys(self.full + prefix, limit=limit)
        values = await self.kv.get_many(keys) if keys else {}
        out = []
        for full in keys:
            value = values.get(full)
            entry = _decode_entry(value) if self.entries is not None else None
            text = _shown(entry) if entry is not None else _as_text(value)
            out.append((full[len(self.full) :], text))
        return out


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def memory_tools(memory: AnyMemory, *, prefix: str = "", read_only: bool = False) -> AgentTools:
    """Return the tools ``remember``, ``recall``, ``forget`` and ``list_memories``.

    They are async ``FunctionTool``s with typed, described parameters, for
    ``AssistantAgent(tools=memory_tools(memory))``. Every result is a sentence the
    model can read; a key that holds nothing is an ordinary answer, not an error.

    Given a :class:`BotWireMemory`, facts are stored as its entries, so what the
    model remembers also comes back through ``update_context`` in later turns
    and sessions.

    Example:
        >>> tools = memory_tools(AsyncMemory("user-42"))
        >>> agent = AssistantAgent("assistant", model_client=client, tools=tools)

    Args:
        memory: a :class:`botwire.AsyncMemory`, :class:`botwire.Memory` or
            :class:`BotWireMemory`.
        prefix: prepended to every key the model uses (keeps its keys apart from
            your own in a shared namespace); never shown to the model.
        read_only: give only ``recall`` and ``list_memories``.

    Returns:
        ``FunctionTool``s in the order remember, recall, forget, list_memories
        (typed as the list ``AssistantAgent(tools=...)`` accepts).

    Raises:
        ValidationError: ``memory`` is not a BotWire memory, or ``prefix`` is not
            a string.
    """
    if not isinstance(prefix, str):
        raise ValidationError(f"prefix must be a string, not {type(prefix).__name__}")
    facts = _Facts(memory, prefix)

    async def remember(
        key: Key,
        value: Annotated[str, "The fact to store, as plain text."],
    ) -> str:
        version = await facts.remember(key, value)
        return f"Remembered {key!r}" + (" (updated)." if version > 1 else ".")

    async def recall(key: Key) -> str:
        value = await facts.recall(key)
        if value is not None:
            return value
        known = [k for k, _ in await facts.listing("", 20)]
        hint = f" Known keys: {', '.join(known)}." if known else " Nothing is remembered yet."
        return f"Nothing is remembered under {key!r}.{hint}"

    async def forget(key: Key) -> str:
        if await facts.forget(key):
            return f"Forgot {key!r}."
        return f"Nothing was remembered under {key!r}; nothing to forget."

    async def list_memories(
        prefix: Annotated[str, "Only keys that start with this text; empty for all."] = "",
        limit: Annotated[int, f"At most this many keys (1-{MAX_LIST})."] = 20,
    ) -> str:
        if not 1 <= limit <= MAX_LIST:
            raise ValidationError(f"limit must be between 1 and {MAX_LIST}, not {limit}")
        rows = await facts.listing(prefix, limit)
        if not rows:
            where = f" with keys starting {prefix!r}" if prefix else ""
            return f"No memories{where}."
        return "\n".join(f"{key}: {_clip(value)}" for key, value in rows)

    tools = [
        FunctionTool(
            remember,
            name="remember",
            description="Store a fact durably under a key so it can be recalled in later "
            "conversations. Writing an existing key replaces its value.",
        ),
        FunctionTool(
            recall,
            name="recall",
            description="Return the fact stored under a key. If the key holds nothing, "
            "the answer says so and lists the keys that exist.",
        ),
        FunctionTool(
            forget,
            name="forget",
            description="Delete the fact stored under a key.",
        ),
        FunctionTool(
            list_memories,
            name="list_memories",
            description="List remembered keys with the start of each value, in key order.",
        ),
    ]
    chosen = [t for t in tools if not read_only or t.name in ("recall", "list_memories")]
    return list[BaseTool[Any, Any] | Callable[..., Any]](chosen)
