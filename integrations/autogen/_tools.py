"""``memory_tools``: BotWire as AutoGen tools a model can call.

Names, descriptions, arguments and answers are those of
:mod:`botwire.tools`, shared with the LangChain and CrewAI tools.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from autogen_core import CancellationToken
from autogen_core.memory import MemoryContent, MemoryMimeType
from autogen_core.tools import BaseTool
from pydantic import BaseModel

from botwire.autogen._memory import (
    AnyMemory,
    BotWireMemory,
    _decode_entry,
    _encode_entry,
    _shown,
    async_memory,
)
from botwire.tools import TOOLS, MemoryTools, ToolSpec, args_model

__all__ = ["AgentTools", "BotWireTool", "memory_tools"]

AgentTools: TypeAlias = list[BaseTool[Any, Any] | Callable[..., Any]]
"""The list type ``AssistantAgent(tools=...)`` declares (lists are invariant, so
``list[BotWireTool]`` would not type-check there); the items are ``BotWireTool``s."""


class BotWireTool(BaseTool[BaseModel, Any]):
    """One memory tool (``remember``, ``recall``, ...) over a BotWire namespace.

    A mistake the model can fix (a bad key) is raised with the answer as its
    message, so the agent returns it to the model as an error result.
    """

    def __init__(self, spec: ToolSpec, tools: MemoryTools) -> None:
        super().__init__(args_model(spec), str, spec.name, spec.description)
        self._tools = tools

    async def run(self, args: BaseModel, cancellation_token: CancellationToken) -> str:
        """Run the tool with validated ``args``."""
        return await self._tools.arun(self.name, args.model_dump())


def _entry_text(value: Any) -> str | None:
    entry = _decode_entry(value)
    return None if entry is None else _shown(entry)


def _text_entry(text: str) -> Any:
    return _encode_entry(MemoryContent(content=text, mime_type=MemoryMimeType.TEXT))


def memory_tools(memory: AnyMemory, *, prefix: str = "", read_only: bool = False) -> AgentTools:
    """Return the tools ``remember``, ``recall``, ``forget`` and ``list_memories``.

    Async tools with typed, described parameters, for
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
        The tools in the order remember, recall, forget, list_memories (typed as
        the list ``AssistantAgent(tools=...)`` accepts).

    Raises:
        ValidationError: ``memory`` is not a BotWire memory, or ``prefix`` is not
            a string.
    """
    if isinstance(memory, BotWireMemory) and isinstance(prefix, str):
        behaviour = MemoryTools(
            memory.memory, prefix=memory.prefix + prefix, encode=_text_entry, show=_entry_text
        )
    else:
        behaviour = MemoryTools(async_memory(memory), prefix=prefix)
    chosen = [s for s in TOOLS if not read_only or s.name in ("recall", "list_memories")]
    return list[BaseTool[Any, Any] | Callable[..., Any]](BotWireTool(s, behaviour) for s in chosen)
