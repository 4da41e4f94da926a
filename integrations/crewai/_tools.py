"""CrewAI tools over a BotWire namespace: ``remember``, ``recall``, ``forget``, ``list_memories``.

The agent decides what to keep and under which key; the facts outlive the
process. Names, descriptions, arguments and answers are those of
:mod:`botwire.tools`, shared with the LangChain and AutoGen tools. A
mistake the agent can fix (a bad key) comes back as a readable tool result.
"""

from __future__ import annotations

from typing import Any

from crewai.tools import BaseTool
from pydantic import Field

from botwire import Memory, ValidationError
from botwire.tools import TOOLS, MemoryTools, ToolInputError, ToolSpec, args_model

__all__ = ["BotWireMemoryTools", "memory_tools"]


class BotWireTool(BaseTool):
    """One memory tool (which one: ``spec``) for a CrewAI agent."""

    spec: Any = Field(exclude=True)
    tools: Any = Field(exclude=True)

    def _run(self, **arguments: Any) -> str:
        spec: ToolSpec = self.spec
        given = {p.name: arguments[p.name] for p in spec.params if p.name in arguments}
        try:
            return str(self.tools.run(spec.name, given))
        except ToolInputError as exc:
            return str(exc)


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
        behaviour = MemoryTools(self.memory, prefix=self.prefix)
        return [
            BotWireTool(
                name=spec.name,
                description=spec.description,
                args_schema=args_model(spec),
                spec=spec,
                tools=behaviour,
            )
            for spec in TOOLS
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
