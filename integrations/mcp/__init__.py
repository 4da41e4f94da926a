"""BotWire as an MCP server (`pip install "botwire[mcp]"`), for mcp 1.x and 2.x.

Every MCP host (Claude Desktop, VS Code, Cursor, agent SDKs) gets durable memory
that several hosts and agents can share. Run it over stdio::

    botwire mcp                                  # embedded SQLite file, namespace "mcp"
    botwire mcp --url http://host:8080           # a shared `botwire serve`
    botwire mcp --allow 'mcp' --allow 'team-*' --read-only
    botwire mcp --tools kv,graph                 # + server-memory's knowledge graph
    botwire mcp config claude-desktop            # the JSON block for the host's config

Tools (names fixed): ``memory_set``, ``memory_get``, ``memory_delete``,
``memory_list_keys``, ``memory_append``, ``memory_get_list``, ``memory_search``;
with ``--tools graph`` the nine tools of ``@modelcontextprotocol/server-memory``.
Resources: ``botwire://{namespace}/{key}`` (keys percent-encoded) and
``botwire://{namespace}`` (the keys).

In Python, build the server and run or mount it yourself::

    from botwire.mcp import create_server, streamable_http_app

    server = create_server("sqlite:///memory.db", allow=["mcp", "team-*"])
    server.run("stdio")                          # or: app = streamable_http_app(server)

Values are any JSON and come back exactly as stored: a string that looks like
JSON (``'{"a": 1}'``) stays a string, although the SDK would otherwise parse it
(see docs/mcp.md). A BotWire error (bad key, version conflict, refused
namespace) reaches the model as a tool error carrying the same sentence.
``--allow`` takes the patterns of token scopes (``team-*``); the default
namespace is always allowed and ``_botwire.*`` never is.
"""

from botwire import require_extra

require_extra("mcp", "mcp")

from botwire.mcp._compat import MCP_MAJOR, streamable_http_app  # noqa: E402
from botwire.mcp._config import HOSTS, host_config  # noqa: E402
from botwire.mcp._graph import GRAPH_TOOLS, import_jsonl  # noqa: E402
from botwire.mcp._kv import KV_TOOLS, READ_TOOLS  # noqa: E402
from botwire.mcp._server import DEFAULT_NAMESPACE, create_server, run_stdio  # noqa: E402

__all__ = [
    "DEFAULT_NAMESPACE",
    "GRAPH_TOOLS",
    "HOSTS",
    "KV_TOOLS",
    "MCP_MAJOR",
    "READ_TOOLS",
    "create_server",
    "host_config",
    "import_jsonl",
    "run_stdio",
    "streamable_http_app",
]
