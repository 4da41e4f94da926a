"""``create_server``: a BotWire MCP server, and ``run_stdio`` for ``botwire mcp``."""

from __future__ import annotations

from collections.abc import Iterable

from botwire import AsyncStore, ValidationError
from botwire.mcp._access import Namespaces
from botwire.mcp._compat import Server, new_server
from botwire.mcp._graph import add_graph_tools
from botwire.mcp._kv import add_kv_tools, add_resources

__all__ = ["DEFAULT_NAMESPACE", "TOOL_SETS", "create_server", "run_stdio"]

DEFAULT_NAMESPACE = "mcp"
TOOL_SETS = ("kv", "graph")
"""``kv``: the ``memory_*`` tools; ``graph``: server-memory's knowledge-graph tools."""

INSTRUCTIONS = (
    "Durable memory that outlives this conversation and may be shared with other "
    "assistants and agents. Store facts worth keeping with memory_set under short, "
    "stable keys; look them up with memory_get, memory_list_keys or memory_search "
    "before asking the user again."
)


def _tool_sets(tools: Iterable[str] | str) -> set[str]:
    names = tools.split(",") if isinstance(tools, str) else list(tools)
    chosen = {n.strip() for n in names if n.strip()}
    unknown = chosen - set(TOOL_SETS)
    if unknown or not chosen:
        raise ValidationError(
            f"tools must name one or more of {', '.join(TOOL_SETS)}, "
            f"not {', '.join(sorted(unknown)) or 'nothing'}"
        )
    return chosen


def create_server(
    memory_url: str | None = None,
    *,
    api_key: str | None = None,
    store: AsyncStore | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    allow: Iterable[str] | None = None,
    read_only: bool = False,
    tools: Iterable[str] | str = ("kv",),
    name: str = "botwire",
) -> Server:
    """Build an MCP server (``FastMCP`` on mcp 1.x, ``MCPServer`` on 2.x) over BotWire.

    Example:
        >>> from botwire.mcp import create_server
        >>> server = create_server("sqlite:///memory.db", allow=["mcp", "team-*"])
        >>> server.run("stdio")  # or botwire.mcp.streamable_http_app(server)

    Args:
        memory_url: where the data lives (default ``$BOTWIRE_URL``, else the
            embedded file). The store opens on the first tool call and stays open
            for the server's life; pass ``store=`` to manage it yourself.
        api_key: token for a BotWire server (default ``$BOTWIRE_API_KEY``).
        store: an open ``botwire.AsyncStore`` to use instead of ``memory_url``.
        namespace: what a tool call without ``namespace`` uses; the knowledge
            graph lives there too.
        allow: namespace patterns (as in token scopes: ``*``, ``?``; ``team-*``)
            the tools may touch besides ``namespace`` (always allowed). Others,
            and the reserved ``_botwire.*``, are refused as tool errors.
        read_only: register only the tools that do not write.
        tools: ``"kv"`` (the ``memory_*`` tools), ``"graph"`` (server-memory's
            knowledge-graph tools), or both.
        name: the server name hosts show.

    Raises:
        ValidationError: an invalid namespace or pattern, or an unknown tool set.
    """
    chosen = _tool_sets(tools)
    spaces = Namespaces(
        namespace, allow, read_only=read_only, url=memory_url, api_key=api_key, store=store
    )
    server = new_server(name, INSTRUCTIONS)
    if "kv" in chosen:
        add_kv_tools(server, spaces, read_only=read_only)
        add_resources(server, spaces)
    if "graph" in chosen:
        add_graph_tools(server, spaces, read_only=read_only)
    server.botwire_namespaces = spaces  # type: ignore[attr-defined]
    return server


async def run_stdio(server: Server) -> None:
    """Serve ``server`` over stdin/stdout until the host closes them, then close its store."""
    try:
        await server.run_stdio_async()
    finally:
        spaces = getattr(server, "botwire_namespaces", None)
        if isinstance(spaces, Namespaces):
            await spaces.aclose()
