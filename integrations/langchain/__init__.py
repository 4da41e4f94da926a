"""BotWire for LangChain and LangGraph (``pip install "botwire[langchain]"``).

Three pieces, each on one BotWire namespace, durable across processes and machines
and working the same over the embedded SQLite file, PostgreSQL or a BotWire server:

``BotWireChatMessageHistory`` (alias ``BotWireChatHistory``)
    A ``BaseChatMessageHistory`` for ``RunnableWithMessageHistory``. One session is
    one BotWire list; each turn is one atomic append, so a turn's cost does not grow
    with the session and concurrent writers lose nothing. ``window=n`` reads only
    the newest ``n`` messages::

        from botwire import Memory
        from botwire.langchain import BotWireChatMessageHistory

        memory = Memory("langchain-sessions")
        chain = RunnableWithMessageHistory(
            prompt | model,
            lambda session_id: BotWireChatMessageHistory(session_id, memory=memory),
            input_messages_key="input",
            history_messages_key="history",
        )

``BotWireToolkit``
    ``remember`` / ``recall`` / ``forget`` / ``list_memories`` tools for an agent::

        tools = BotWireToolkit(memory=Memory("agent-memory")).get_tools()

``BotWireStore``
    A LangGraph ``BaseStore`` for ``create_agent(..., store=...)`` or
    ``graph.compile(store=...)``. ``search`` filters by namespace prefix and field
    values, newest first; it ignores ``query`` (no embeddings)::

        agent = create_agent(model, tools, store=BotWireStore(memory=Memory("lg")))

``BotWireSaver``
    A LangGraph checkpointer: durable, resumable threads (interrupts, time
    travel) on the same store, with pruning and thread TTLs::

        graph = builder.compile(checkpointer=BotWireSaver(Memory("lg-threads")))

Sync and async: every class takes ``memory=`` as a ``botwire.Memory`` or a
``botwire.AsyncMemory`` and builds the other twin when first needed. The async
twin of a ``Memory`` runs its store in worker threads (or opens ``url=`` natively
async, for HTTP or PostgreSQL); the sync twin of an
``AsyncMemory`` on SQLite shares its store, and on HTTP or PostgreSQL is opened
from ``url=`` (a sync call without it raises a ``ValidationError`` saying so).
With no ``memory=``, ``namespace=`` and ``url=`` (default ``$BOTWIRE_URL``, else
the embedded file) say where to open it; ``close()`` releases what was opened.
See ``docs/langchain.md``.
"""

from typing import TYPE_CHECKING, Any

from botwire import require_extra

require_extra("langchain_core", "langchain")

from botwire.langchain._history import (  # noqa: E402
    DEFAULT_SESSIONS_NAMESPACE,
    BotWireChatMessageHistory,
    session_key,
)

if TYPE_CHECKING:
    from botwire.langchain._checkpoint import DEFAULT_CHECKPOINT_NAMESPACE, BotWireSaver
    from botwire.langchain._store import DEFAULT_STORE_NAMESPACE, BotWireStore
    from botwire.langchain._toolkit import DEFAULT_TOOLS_NAMESPACE, BotWireToolkit

_LAZY = {
    "BotWireSaver": "botwire.langchain._checkpoint",
    "DEFAULT_CHECKPOINT_NAMESPACE": "botwire.langchain._checkpoint",
    "BotWireStore": "botwire.langchain._store",
    "DEFAULT_STORE_NAMESPACE": "botwire.langchain._store",
    "BotWireToolkit": "botwire.langchain._toolkit",
    "DEFAULT_TOOLS_NAMESPACE": "botwire.langchain._toolkit",
}


def __getattr__(name: str) -> Any:
    """Import the toolkit and the LangGraph store on first use.

    A process that only keeps chat histories then never pays for importing
    LangGraph (about half of this package's import time).
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'botwire.langchain' has no attribute {name!r}")
    if name in ("BotWireStore", "BotWireSaver"):
        require_extra("langgraph", "langchain")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


BotWireChatHistory = BotWireChatMessageHistory
"""The original SDK's name for :class:`BotWireChatMessageHistory`."""

__all__ = [
    "BotWireChatHistory",
    "BotWireChatMessageHistory",
    "BotWireSaver",
    "BotWireStore",
    "BotWireToolkit",
    "DEFAULT_CHECKPOINT_NAMESPACE",
    "DEFAULT_SESSIONS_NAMESPACE",
    "DEFAULT_STORE_NAMESPACE",
    "DEFAULT_TOOLS_NAMESPACE",
    "session_key",
]
