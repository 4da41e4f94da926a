"""``BotWireToolkit``: remember / recall / forget / list_memories tools for agents.

Each tool has a sync function and a native async coroutine, a pydantic args schema
whose descriptions tell a model what to pass, and reports a missing key or a bad
argument as its result (``handle_tool_error``) so one wrong call does not end the
run. Values are shown to the model as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from botwire._errors import QuotaExceededError, ValidationError
from botwire.langchain._twins import MemoryPair

__all__ = ["DEFAULT_TOOLS_NAMESPACE", "BotWireToolkit"]

DEFAULT_TOOLS_NAMESPACE = "agent-memory"
"""Namespace the toolkit uses when given no ``memory=``."""


class RememberInput(BaseModel):
    """Arguments of ``remember``."""

    key: str = Field(
        description="A short, stable name for the fact, e.g. 'user:name' or "
        "'project:deadline'. Reusing a key overwrites its value."
    )
    value: str = Field(description="The fact to remember, as text.")


class RecallInput(BaseModel):
    """Arguments of ``recall``."""

    key: str = Field(description="The exact key the fact was remembered under.")


class ForgetInput(BaseModel):
    """Arguments of ``forget``."""

    key: str = Field(description="The exact key of the fact to delete.")


class ListMemoriesInput(BaseModel):
    """Arguments of ``list_memories``."""

    prefix: str = Field(
        default="",
        description="Only list keys that start with this text, e.g. 'user:'. "
        "Empty lists every key.",
    )


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _bad_arguments(exc: Exception) -> str:
    """Tell the model which argument was wrong, in one line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in errors()]
        return "Error: invalid arguments: " + "; ".join(parts)
    return f"Error: invalid arguments: {exc}"


def _tool_error(exc: Exception) -> ToolException:
    return ToolException(f"Error: {exc}")


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
        list_limit: most keys ``list_memories`` shows at once.

    Raises:
        ValidationError: ``memory`` is not a BotWire client, or a bad ``namespace``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(default=None, exclude=True)
    namespace: str = DEFAULT_TOOLS_NAMESPACE
    url: str | None = None
    list_limit: int = Field(default=100, ge=1)

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
            Four ``StructuredTool`` objects that work with ``invoke`` and ``ainvoke``.
        """
        pair = self._pair
        limit = self.list_limit

        def remember(key: str, value: str) -> str:
            try:
                version = pair.sync.set(key, value)
            except (ValidationError, QuotaExceededError) as exc:
                raise _tool_error(exc) from exc
            return _remembered(key, version)

        async def aremember(key: str, value: str) -> str:
            try:
                version = await pair.async_.set(key, value)
            except (ValidationError, QuotaExceededError) as exc:
                raise _tool_error(exc) from exc
            return _remembered(key, version)

        def recall(key: str) -> str:
            try:
                item = pair.sync.get_item(key)
            except ValidationError as exc:
                raise _tool_error(exc) from exc
            return _recalled(key, item)

        async def arecall(key: str) -> str:
            try:
                item = await pair.async_.get_item(key)
            except ValidationError as exc:
                raise _tool_error(exc) from exc
            return _recalled(key, item)

        def forget(key: str) -> str:
            try:
                existed = pair.sync.delete(key)
            except (ValidationError, QuotaExceededError) as exc:
                raise _tool_error(exc) from exc
            return _forgot(key, existed)

        async def aforget(key: str) -> str:
            try:
                existed = await pair.async_.delete(key)
            except (ValidationError, QuotaExceededError) as exc:
                raise _tool_error(exc) from exc
            return _forgot(key, existed)

        def list_memories(prefix: str = "") -> str:
            return _listed(prefix, pair.sync.list_keys(prefix, limit=limit + 1), limit)

        async def alist_memories(prefix: str = "") -> str:
            return _listed(prefix, await pair.async_.list_keys(prefix, limit=limit + 1), limit)

        common: dict[str, Any] = {
            "handle_tool_error": True,
            "handle_validation_error": _bad_arguments,
        }
        return [
            StructuredTool.from_function(
                func=remember,
                coroutine=aremember,
                name="remember",
                description="Save a fact to long-term memory under a key, so it can be "
                "recalled in later conversations. Overwrites an existing key.",
                args_schema=RememberInput,
                **common,
            ),
            StructuredTool.from_function(
                func=recall,
                coroutine=arecall,
                name="recall",
                description="Look up the fact stored under a key in long-term memory. "
                "Returns the value as JSON, or says that nothing is stored.",
                args_schema=RecallInput,
                **common,
            ),
            StructuredTool.from_function(
                func=forget,
                coroutine=aforget,
                name="forget",
                description="Delete the fact stored under a key from long-term memory.",
                args_schema=ForgetInput,
                **common,
            ),
            StructuredTool.from_function(
                func=list_memories,
                coroutine=alist_memories,
                name="list_memories",
                description="List the keys stored in long-term memory (optionally only "
                "those starting with a prefix), to find what can be recalled.",
                args_schema=ListMemoriesInput,
                **common,
            ),
        ]


def _remembered(key: str, version: int) -> str:
    what = "Remembered" if version == 1 else f"Updated (version {version})"
    return f"{what}: {_show(key)}."


def _recalled(key: str, item: Any) -> str:
    if item is None:
        return f"Nothing is stored under {_show(key)}. Use list_memories to see the keys."
    return _show(item.value)


def _forgot(key: str, existed: bool) -> str:
    if existed:
        return f"Forgot {_show(key)}."
    return f"Nothing was stored under {_show(key)}; nothing to forget."


def _listed(prefix: str, keys: list[str], limit: int) -> str:
    if not keys:
        where = f" starting with {_show(prefix)}" if prefix else ""
        return f"No memories{where} are stored."
    shown = _show(keys[:limit])
    if len(keys) > limit:
        return f"{shown} (only the first {limit} keys; pass a longer prefix to see others)"
    return shown
