"""The one place that knows which ``mcp`` major is installed (1.x or 2.x).

2.0 renamed ``FastMCP`` to ``MCPServer`` and moved its modules; the decorators,
``add_tool``, ``run_stdio_async`` and ``streamable_http_app`` kept their names.
Everything else in ``botwire.mcp`` imports the SDK through this module.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from mcp.types import ToolAnnotations

__all__ = [
    "MCP_MAJOR",
    "Server",
    "ToolAnnotations",
    "ToolError",
    "keep_strings",
    "new_server",
    "streamable_http_app",
]

if TYPE_CHECKING:  # type-checked against the lock's 1.x
    from mcp.server.fastmcp import FastMCP as Server
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.server.fastmcp.utilities.func_metadata import FuncMetadata
    from starlette.applications import Starlette

    MCP_MAJOR: int
else:
    try:  # mcp >= 2
        from mcp.server.mcpserver import MCPServer as Server
        from mcp.server.mcpserver.exceptions import ToolError
        from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata

        MCP_MAJOR = 2
    except ImportError:  # mcp 1.x
        from mcp.server.fastmcp import FastMCP as Server
        from mcp.server.fastmcp.exceptions import ToolError
        from mcp.server.fastmcp.utilities.func_metadata import FuncMetadata

        MCP_MAJOR = 1

URI_PARAMS_DECODED = MCP_MAJOR >= 2
"""2.x percent-decodes resource template parameters itself (RFC 6570); 1.x does not."""


def new_server(name: str, instructions: str) -> Server:
    """A ``FastMCP`` / ``MCPServer`` that logs only warnings (to stderr)."""
    with warnings.catch_warnings():
        # mcp 1.x's settings model trips a pydantic-settings warning about its own
        # `lifespan` field on every construction; nothing a user can act on
        warnings.filterwarnings("ignore", message="Field 'lifespan' has an incomplete definition")
        return Server(name, instructions=instructions, log_level="WARNING")


def streamable_http_app(
    server: Server,
    *,
    path: str = "/mcp",
    stateless: bool = True,
    json_response: bool = True,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """The server's streamable-HTTP ASGI app, on either major.

    1.x reads these settings from the server object, 2.x takes them as arguments.
    Stateless (no session kept between requests) lets several server processes
    behind a load balancer answer one client. The app's lifespan runs the SDK's
    session manager; a host app that mounts it must run
    ``server.session_manager.run()`` in its own lifespan (mounted lifespans are
    not run).

    DNS-rebinding protection: ``allowed_hosts`` (``Host`` values, ``name:*`` for
    any port) turns it on for exactly those names, with the matching ``http://``
    and ``https://`` origins; ``None`` leaves it as the SDK sets it (on for a
    loopback host).
    """
    options: dict[str, Any] = {"stateless_http": stateless, "json_response": json_response}
    if allowed_hosts is not None:
        from mcp.server.transport_security import TransportSecuritySettings

        hosts = list(allowed_hosts)
        origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
        options["transport_security"] = TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
        )
    if MCP_MAJOR >= 2:
        app: Starlette = cast(Any, server).streamable_http_app(streamable_http_path=path, **options)
        return app
    server.settings.streamable_http_path = path
    for name, value in options.items():
        setattr(server.settings, name, value)
    return server.streamable_http_app()


def resource_options(*params: str) -> dict[str, Any]:
    """Extra ``@server.resource`` keywords: keys may hold ``..`` or start with ``/``.

    2.x rejects such template values as path traversal unless exempted; BotWire
    keys are not paths, so the check does not apply to them. 1.x has no check.
    """
    if MCP_MAJOR < 2:
        return {}
    import importlib

    security = importlib.import_module("mcp.server.mcpserver").ResourceSecurity
    return {"security": security(exempt_params=frozenset(params))}


class _KeepStrings(FuncMetadata):
    """Argument metadata that does not JSON-parse the string arguments named ``raw``."""

    raw: frozenset[str] = frozenset()

    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        parsed = super().pre_parse_json(data)
        for name in self.raw & data.keys():
            parsed[name] = data[name]
        return parsed


def keep_strings(server: Server, tool: str, *params: str) -> None:
    """Make ``tool``'s ``params`` arrive exactly as the client sent them.

    Both majors JSON-parse a string argument whose parameter is not typed ``str``
    (``FuncMetadata.pre_parse_json``, a workaround for clients that send objects
    as JSON text), and keep the result when it is an object, an array or null: a
    model storing the *string* ``'{"a": 1}'`` would get back an object. BotWire
    keeps what it is given, so ``memory_set``'s ``value`` opts out of that step.
    """
    registered: Any = server._tool_manager.get_tool(tool)
    meta = registered.fn_metadata
    fields = {name: getattr(meta, name) for name in type(meta).model_fields}
    registered.fn_metadata = _KeepStrings.model_construct(**fields, raw=frozenset(params))
