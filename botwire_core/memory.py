"""The original BotWire SDK's import path for the CrewAI memory tools.

``from botwire.memory import memory_tools`` keeps working; new code imports
``from botwire.crewai import memory_tools``. CrewAI is imported only when the
function is called, so this module is as light as ``botwire`` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botwire._client import Memory

__all__ = ["memory_tools"]


def memory_tools(
    namespace_or_memory: str | Memory,
    url: str | None = None,
    *,
    api_key: str | None = None,
    prefix: str = "",
) -> list[Any]:
    """Return CrewAI ``remember``/``recall``/``forget``/``list_memories`` tools.

    Same as :func:`botwire.crewai.memory_tools` (see it for the arguments).

    Raises:
        MissingDependencyError: CrewAI is not installed (``pip install "botwire[crewai]"``).
    """
    from botwire.crewai import memory_tools as crewai_memory_tools

    return list(crewai_memory_tools(namespace_or_memory, url, api_key=api_key, prefix=prefix))
