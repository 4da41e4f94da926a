"""``/mcp``: MCP's streamable-HTTP transport on the server, through the one pipeline.

The route is in the route table like any other (``access="token"``): the guard
authenticates the bearer token, the access log and the metrics label are the
pipeline's (``/mcp``). The handler then hands the request to the MCP SDK's app
(stateless, JSON answers: any server process behind a load balancer can answer
any request) with the caller's scope set for the tools:

* :data:`botwire.mcp._access.request_check` (a context variable, so per request)
  holds the caller's token scope: ``Namespaces.memory(ns, access)`` refuses a
  namespace the token does not cover with the same sentence as the REST routes,
  and the SDK answers it as a tool error (``isError``), not a protocol error.
* The tools' ``AsyncMemory`` runs over :class:`ServedStore`: the server's own
  store, called through the same runner as the routes (never on the event loop,
  group commit), with the same quotas, and with the guard asked again for every
  store call (``create_app(authorize=...)``'s hook included). ``_botwire.*`` is
  refused at both steps.

The MCP server is built, and its session manager started, in the server's
lifespan (``botwire serve`` runs it), and only then: importing ``mcp`` costs
nothing to a server that never starts one.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from botwire._codec import encoded_size
from botwire._errors import PermissionDeniedError, UnavailableError
from botwire._tokens import TokenRecord, is_reserved
from botwire._types import AppendOp, Op, SetOp
from botwire.server import _requests, _shapes
from botwire.server._app import Answer, Call, Server, as_told, batch_needs, may_read
from botwire.server._routes import Route

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["MCP_PATH", "MCP_ROUTES", "ServedStore", "allowed_hosts", "mcp_lifespan"]

MCP_PATH = "/mcp"
MCP_NAMESPACE = "mcp"
"""What a tool call without ``namespace`` uses (and where the knowledge graph lives)."""

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD = ("0.0.0.0", "::", "")

_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "botwire_mcp_call", default=None
)


def _current() -> Call:
    call = _call.get()
    if call is None:  # pragma: no cover - only the /mcp handler runs the tools
        raise PermissionDeniedError("the MCP tools answer only requests to /mcp")
    return call


class ServedStore:
    """The server's store as the MCP tools' ``AsyncStore``: the routes' runner, quotas and guard.

    Every call is authorized for the request being served (a context variable
    set by the ``/mcp`` handler), exactly as a REST route on the same namespace.
    """

    def __init__(self, server: Server) -> None:
        self._server = server
        self.kind = "server"

    async def _allow(self, namespace: str, *needs: Any) -> None:
        if is_reserved(namespace):
            raise PermissionDeniedError(
                f"namespace {namespace!r} is reserved for the server; "
                "no client can reach _botwire.*"
            )
        if needs:
            await self._server.guard.authorize(_current(), namespace, needs)

    async def _write(
        self, namespace: str, writes: int, incoming: int, key: str | None, run: Any
    ) -> Any:
        """Admit against the quotas, as the routes do, run the write, release the bytes."""
        if not writes:
            return await run()
        reserved = await self._server.admit(namespace, writes, incoming, key, _current().principal)
        try:
            return await run()
        finally:
            self._server.quotas.done(namespace, reserved)

    async def get(self, namespace: str, key: str) -> Any:
        await self._allow(namespace, "read")
        return await self._server.run("get", namespace, key)

    async def get_list(self, namespace: str, key: str, last: int | None = None) -> Any:
        await self._allow(namespace, "read")
        return await self._server.run("get_list", namespace, key, last)

    async def set(
        self,
        namespace: str,
        key: str,
        raw: str,
        *,
        ttl: float | None = None,
        if_version: int | None = None,
        id: str | None = None,  # noqa: A002 - the protocol's name
    ) -> Any:
        # a conditional write's outcome tells what is stored: it needs the read right
        await self._allow(namespace, "write", *(() if if_version is None else ("read",)))
        op = SetOp(key, raw, ttl, if_version, id)
        return await self._write(
            namespace, 1, encoded_size(raw), key, lambda: self._server.runner().write(namespace, op)
        )

    async def delete(self, namespace: str, key: str) -> bool:
        await self._allow(namespace, "write")
        deleted = bool(await self._server.run("delete", namespace, key))
        self._server.quotas.forget(namespace)
        return deleted or not await may_read(_current(), namespace)

    async def append(
        self,
        namespace: str,
        key: str,
        raws: Sequence[str],
        *,
        id: str | None = None,  # noqa: A002 - the protocol's name
    ) -> Any:
        await self._allow(namespace, "write")
        items = tuple(raws)
        op = AppendOp(key, items, id)
        return await self._write(
            namespace,
            1,
            _requests.item_bytes(items),
            None,
            lambda: self._server.runner().write(namespace, op),
        )

    async def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Any:
        await self._allow(namespace, "read")
        return await self._server.run(
            "list_keys", namespace, prefix=prefix, limit=limit, cursor=cursor
        )

    async def batch(self, namespace: str, ops: Sequence[Op]) -> Any:
        listed = list(ops)
        needs = batch_needs(listed)
        if not listed:
            return []
        await self._allow(namespace, *needs.rights)
        results = await self._write(
            namespace,
            needs.writes,
            needs.incoming,
            None,
            lambda: self._server.run("batch", namespace, listed),
        )
        if needs.changes:
            self._server.quotas.forget(namespace)
        return await as_told(_current(), namespace, listed, results, needs.rights)

    async def usage(self, namespace: str) -> Any:
        await self._allow(namespace, "read")
        return await self._server.run("usage", namespace)

    async def aclose(self) -> None:
        """Nothing to close: the server owns its store."""


def allowed_hosts(host: str) -> list[str] | None:
    """The ``Host`` names DNS-rebinding protection accepts: the server's own, any port.

    A loopback address accepts the loopback names; a named address that name. A
    server listening on every interface (``0.0.0.0``) cannot know the names it is
    reached by (a load balancer's, a DNS name): ``None``, the SDK's own choice
    for a non-loopback host (no check); such a server needs tokens (or
    ``--insecure-open``), and a rebinding page has no token.
    """
    name = host.strip().strip("[]")
    if name in _WILDCARD:
        return None
    from botwire.server.auth import is_loopback

    shown = f"[{name}]" if ":" in name else name
    names = [*_LOOPBACK, shown] if is_loopback(name) else [shown]
    return [f"{n}:*" for n in dict.fromkeys(names)] + list(dict.fromkeys(names))


class _McpState:
    """The MCP SDK's app once the lifespan has started it."""

    app: ASGIApp | None = None


def _check_for(call: Call) -> Any:
    """The caller's scope as ``Namespaces.memory`` asks it (see ``request_check``)."""
    principal = call.principal
    if isinstance(principal, TokenRecord):
        from botwire.server._guard import _scope_detail

        def check(namespace: str, access: Any) -> None:
            if not principal.scope.allows(namespace, access):
                raise PermissionDeniedError(_scope_detail(principal, access, namespace))

        return check
    return _open_check  # no tokens (or a create_app(authorize=) hook, asked per store call)


def _open_check(namespace: str, access: Any) -> None:
    """Any namespace but ``_botwire.*`` (refused before this is asked)."""


async def handle_mcp(call: Call) -> Answer:
    """MCP streamable HTTP (stateless, JSON answers): the BotWire memory tools."""
    state: _McpState = call.server.state.mcp
    if state.app is None:
        raise UnavailableError(
            "MCP starts with the server's lifespan; run the app with lifespan "
            "events on (botwire serve and uvicorn do)"
        )
    if call.principal == "admin":
        raise PermissionDeniedError(
            "the admin token only manages tokens (/admin/tokens); use a scoped token "
            "for MCP (botwire token create --namespace PATTERN --read --write)"
        )
    from botwire.mcp._access import request_check

    # the body is read as every route reads one: bounded in size and time
    body = await call.body() if call.scope["method"] == "POST" else b""
    server_token = _call.set(call)
    check_token = request_check.set(_check_for(call))
    try:
        await call.forward(state.app, body)
    finally:
        request_check.reset(check_token)
        _call.reset(server_token)
    return Answer(0, b"")  # sent by the SDK's app (call.sent says what)


_SHAPE = _shapes.Shape("MCP (streamable HTTP)", "mcp")
MCP_ROUTES = [
    Route(method, MCP_PATH, "mcp", handle_mcp, "token", _SHAPE, in_schema=False)
    for method in ("POST", "GET", "DELETE")
]
"""``/mcp``: the SDK answers each method (POST carries the JSON-RPC messages)."""


@asynccontextmanager
async def mcp_lifespan(server: Server) -> AsyncIterator[None]:
    """Build the MCP server over :class:`ServedStore` and run its session manager."""
    from botwire.mcp import create_server
    from botwire.mcp._compat import streamable_http_app

    mcp = create_server(
        store=ServedStore(server),
        namespace=MCP_NAMESPACE,
        allow=["*"],
        tools=server.settings.mcp_tools,
    )
    app = streamable_http_app(mcp, path=MCP_PATH, allowed_hosts=allowed_hosts(server.settings.host))
    state: _McpState = server.state.mcp
    async with mcp.session_manager.run():
        state.app = app
        try:
            yield
        finally:
            state.app = None


def install(server: Server) -> None:
    """Add ``/mcp`` to ``server``'s routes and its session manager to the lifespan."""
    server.state.mcp = _McpState()
    for route in MCP_ROUTES:
        server.table.add(route)
    server.lifespans.append(lambda: mcp_lifespan(server))
