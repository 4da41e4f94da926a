"""``BotWireToolkit``: the memory tools of :mod:`botwire.tools` for LangChain.

Each tool has a sync function and a native async coroutine and a pydantic args
schema whose descriptions tell a model what to pass. A mistake the model can fix
(a bad key, a missing argument) comes back as the tool's result
(``handle_tool_error``), so one wrong call does not end the run; an outage raises.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit, StructuredTool, ToolException
from pydantic import ConfigDict, Field, PrivateAttr

from botwire.langchain._twins import MemoryPair
from botwire.tools import TOOLS, MemoryTools, ToolInputError, ToolSpec, args_model

__all__ = ["DEFAULT_TOOLS_NAMESPACE", "BotWireToolkit"]

DEFAULT_TOOLS_NAMESPACE = "agent-memory"
"""Namespace the toolkit uses when given no ``memory=``."""


def _bad_arguments(exc: Exception) -> str:
    """Tell the model which argument was wrong, in one line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in errors()]
        return "Error: invalid arguments: " + "; ".join(parts)
    return f"Error: invalid arguments: {exc}"


class BotWireToolkit(BaseToolkit):
    """Durable memory tools for a LangChain agent, backed by one BotWire namespace.

    Example:
        >>> from botwire import Memory
        >>> from botwire.langchain import BotWireToolkit
        >>> tools = BotWireToolkit(memory=Memory("agent-memory")).get_tools()
        >>> [t.name for t in tools]
        ['remember', 'recall', 'forget', 'list_memories']

    Args:
        memory: a ``botwire.Memory`` or ``botwire.AsyncMemory`` (the other twin is
            derived; see :mod:`botwire.langchain`).
        namespace: namespace to open when ``memory`` is not given.
        url: store URL when ``memory`` is not given (default ``$BOTWIRE_URL``, else
            the embedded file).
        prefix: put before every key the model uses (never shown to it).
        list_limit: most keys ``list_memories`` shows at once.

    Raises:
        ValidationError: ``memory`` is not a BotWire client, or a bad ``namespace``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(default=None, exclude=True)
    namespace: str = DEFAULT_TOOLS_NAMESPACE
    url: str | None = None
    prefix: str = ""
    list_limit: int = Field(default=50, ge=1)

    _pair: MemoryPair = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        """Resolve the memory clients once the fields are validated."""
        self._pair = MemoryPair(self.memory, self.namespace, self.url, type(self).__name__)

    def close(self) -> None:
        """Close a store this toolkit opened itself (not a ``memory=`` passed in)."""
        self._pair.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self._pair.aclose()

    def get_tools(self) -> list[BaseTool]:
        """Return the ``remember``, ``recall``, ``forget`` and ``list_memories`` tools.

        Returns:
            ``StructuredTool`` objects that work with ``invoke`` and ``ainvoke``.
        """
        return [self._tool(spec) for spec in TOOLS]

    def _tool(self, spec: ToolSpec) -> BaseTool:
        pair = self._pair
        options: dict[str, Any] = {"prefix": self.prefix, "list_limit": self.list_limit}

        def run(**arguments: Any) -> str:
            try:
                return MemoryTools(pair.sync, **options).run(spec.name, arguments)
            except ToolInputError as exc:
                raise ToolException(str(exc)) from exc

        async def arun(**arguments: Any) -> str:
            try:
                return await MemoryTools(pair.async_, **options).arun(spec.name, arguments)
            except ToolInputError as exc:
                raise ToolException(str(exc)) from exc

        return StructuredTool.from_function(
            func=run,
            coroutine=arun,
            name=spec.name,
            description=spec.description,
            args_schema=args_model(spec),
            handle_tool_error=True,
            handle_validation_error=_bad_arguments,
        )
