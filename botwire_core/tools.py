"""The memory tools a model calls, for adapter authors: one core, every framework.

``remember``, ``recall``, ``forget``, ``list_memories`` and ``search_memories``,
written once without any framework import. An adapter turns each
:class:`ToolSpec` into its framework's tool type (:func:`args_model` gives the
pydantic model of its arguments) and calls :meth:`MemoryTools.run` (or
``arun`` for an ``AsyncMemory``); ``botwire.langchain``, ``botwire.crewai``,
``botwire.autogen`` and ``botwire.mcp`` are built this way.

Example:
    >>> from botwire import Memory
    >>> from botwire.tools import TOOLS, MemoryTools
    >>> [spec.name for spec in TOOLS]
    ['remember', 'recall', 'forget', 'list_memories']
    >>> tools = MemoryTools(Memory("agent-memory"))
    >>> tools.run("remember", {"key": "user:name", "value": "Ada"})
    'Remembered "user:name".'

Also here: :func:`run_plan` / :func:`arun_plan` drive a *plan* (a generator that
yields :data:`Call` tuples) with a ``Memory`` or an ``AsyncMemory``, so a sync and
an async adapter method share one body; :func:`terms` and :func:`rank` are the
keyword ranker every adapter's search uses (no embeddings, no model calls).
Mistakes the model can fix raise :class:`ToolInputError`, whose text is the
answer to show it.
"""

from botwire._memory_tools import (
    FORGET,
    LIST_MEMORIES,
    MAX_SEARCH,
    RECALL,
    REMEMBER,
    SEARCH_MEMORIES,
    SEARCH_SCAN,
    TOOLS,
    Call,
    MemoryTools,
    Param,
    ToolInputError,
    ToolSpec,
    args_model,
    arun_plan,
    rank,
    run_plan,
    terms,
)

__all__ = [
    "FORGET",
    "LIST_MEMORIES",
    "MAX_SEARCH",
    "RECALL",
    "REMEMBER",
    "SEARCH_MEMORIES",
    "SEARCH_SCAN",
    "TOOLS",
    "Call",
    "MemoryTools",
    "Param",
    "ToolInputError",
    "ToolSpec",
    "args_model",
    "arun_plan",
    "rank",
    "run_plan",
    "terms",
]
