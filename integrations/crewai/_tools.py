"""CrewAI tools over a BotWire namespace: ``remember``, ``recall``, ``forget``, ``list_memories``.

The agent decides what to keep and under which key; the facts outlive the
process. Errors the agent can fix (a bad key) come back as a readable tool
result instead of an exception.
"""

from __future__ import annotations

import json
from typing import Any

from crewai.tools import BaseTool
from pydantic import BaseModel, Field

from botwire._client import Memory
from botwire._errors import ValidationError

__all__ = ["BotWireMemoryTools", "memory_tools"]

LIST_LIMIT = 100
"""Most keys ``list_memories`` shows in one answer."""


class RememberArgs(BaseModel):
    """Arguments of the ``remember`` tool."""

    key: str = Field(description="Short, stable name for the fact, e.g. 'user:favourite_colour'.")
    value: str = Field(description="The fact to store; replaces any value under the key.")


class KeyArgs(BaseModel):
    """Arguments of the ``recall`` and ``forget`` tools."""

    key: str = Field(description="The exact key the fact was remembered under.")


class ListArgs(BaseModel):
    """Arguments of the ``list_memories`` tool."""

    prefix: str = Field(
        default="", description="Only keys starting with this text (empty for all keys)."
    )


class _BotWireTool(BaseTool):
    memory: Any = Field(exclude=True)
    prefix: str = Field(default="", exclude=True)

    def _key(self, key: str) -> str:
        return self.prefix + key


class RememberTool(_BotWireTool):
    """Store a fact under a key."""

    name: str = "remember"
    description: str = (
        "Save a fact to long-term memory under a short key, so it can be recalled in "
        "later runs. Saving under an existing key replaces the old fact."
    )
    args_schema: type[BaseModel] = RememberArgs

    def _run(self, key: str, value: str, **_: Any) -> str:
        try:
            version = self.memory.set(self._key(key), value)
        except ValidationError as exc:
            return f"Could not remember {key!r}: {exc}"
        return f"Remembered {key!r}" + (" (replaced the old value)." if version > 1 else ".")


class RecallTool(_BotWireTool):
    """Read the fact stored under a key."""

    name: str = "recall"
    description: str = (
        "Read the fact saved in long-term memory under a key. Use list_memories first "
        "if you do not know the key."
    )
    args_schema: type[BaseModel] = KeyArgs

    def _run(self, key: str, **_: Any) -> str:
        missing = object()
        try:
            value = self.memory.get(self._key(key), missing)
        except ValidationError as exc:
            return f"Could not recall {key!r}: {exc}"
        if value is missing:
            return f"Nothing is remembered under {key!r}. Use list_memories to see the keys."
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class ForgetTool(_BotWireTool):
    """Delete the fact stored under a key."""

    name: str = "forget"
    description: str = "Delete the fact saved in long-term memory under a key."
    args_schema: type[BaseModel] = KeyArgs

    def _run(self, key: str, **_: Any) -> str:
        try:
            existed = self.memory.delete(self._key(key))
        except ValidationError as exc:
            return f"Could not forget {key!r}: {exc}"
        return f"Forgot {key!r}." if existed else f"Nothing was remembered under {key!r}."


class ListMemoriesTool(_BotWireTool):
    """List the keys of the stored facts."""

    name: str = "list_memories"
    description: str = "List the keys of the facts saved in long-term memory."
    args_schema: type[BaseModel] = ListArgs

    def _run(self, prefix: str = "", **_: Any) -> str:
        keys = self.memory.list_keys(prefix=self._key(prefix or ""), limit=LIST_LIMIT + 1)
        shown = [k[len(self.prefix) :] for k in keys[:LIST_LIMIT]]
        if not shown:
            return "No memories saved" + (f" with keys starting {prefix!r}." if prefix else ".")
        more = "\n(more keys exist; narrow with a prefix)" if len(keys) > LIST_LIMIT else ""
        return "Saved memory keys:\n" + "\n".join(f"- {k}" for k in shown) + more


class BotWireMemoryTools:
    """The four BotWire memory tools for a CrewAI agent, over one namespace.

    Example:
        >>> from botwire import Memory
        >>> from botwire.crewai import BotWireMemoryTools
        >>> tools = BotWireMemoryTools(Memory("crew-facts")).tools()
        >>> [t.name for t in tools]
        ['remember', 'recall', 'forget', 'list_memories']
        >>> agent = Agent(role="Assistant", goal="...", backstory="...", tools=tools)

    Args:
        memory: the :class:`botwire.Memory` the tools read and write.
        prefix: put before every key, to give each user or agent its own keys
            in a shared namespace (``"user-42:"``); the agent never sees it.

    Raises:
        ValidationError: ``memory`` is not a ``botwire.Memory`` or ``prefix`` not a string.
    """

    def __init__(self, memory: Memory, *, prefix: str = "") -> None:
        if not isinstance(memory, Memory):
            raise ValidationError(
                "BotWireMemoryTools needs a botwire.Memory (use memory_tools('namespace') "
                f"to open one by name), not {type(memory).__name__}"
            )
        if not isinstance(prefix, str):
            raise ValidationError(f"prefix must be a string, not {type(prefix).__name__}")
        self.memory = memory
        self.prefix = prefix

    def tools(self) -> list[BaseTool]:
        """Return new ``remember``, ``recall``, ``forget`` and ``list_memories`` tools."""
        return [
            cls(memory=self.memory, prefix=self.prefix)
            for cls in (RememberTool, RecallTool, ForgetTool, ListMemoriesTool)
        ]

    def __repr__(self) -> str:
        return f"BotWireMemoryTools({self.memory!r}, prefix={self.prefix!r})"


def memory_tools(
    namespace_or_memory: str | Memory,
    url: str | None = None,
    *,
    api_key: str | None = None,
    prefix: str = "",
) -> list[BaseTool]:
    """Return the ``remember``/``recall``/``forget``/``list_memories`` tools.

    The original BotWire SDK's entry point (``from botwire.memory import
    memory_tools`` still works).

    Example:
        >>> from botwire.crewai import memory_tools
        >>> agent = Agent(role="Assistant", goal="...", backstory="...",
        ...               tools=memory_tools("crew-facts"))

    Args:
        namespace_or_memory: a namespace name, or an open :class:`botwire.Memory`.
        url: where the data lives when a name is given (default ``$BOTWIRE_URL``
            or the embedded SQLite file).
        api_key: token for a server that requires one.
        prefix: put before every key (see :class:`BotWireMemoryTools`).

    Raises:
        ValidationError: the namespace or URL is invalid.
    """
    if isinstance(namespace_or_memory, Memory):
        if url is not None or api_key is not None:
            raise ValidationError("url and api_key go with a namespace name, not a Memory")
        memory = namespace_or_memory
    elif isinstance(namespace_or_memory, str):
        memory = Memory(namespace_or_memory, url, api_key=api_key)
    else:
        raise ValidationError(
            "memory_tools takes a namespace name or a botwire.Memory, "
            f"not {type(namespace_or_memory).__name__}"
        )
    return BotWireMemoryTools(memory, prefix=prefix).tools()
