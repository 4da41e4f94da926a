"""The reference server: a route table and one request pipeline (DESIGN.md §5, §6, §9).

Read it top to bottom::

    ASGI ─► RouteTable.match(raw path)           (_routes: parsed once into a Match)
         ─► guard.authenticate(call)             (auth: the token, if tokens are on)
         ─► call.allow(access)                   (the namespace checked is the one served;
                                                   ``_botwire.*`` refused here, always)
         ─► route.handler(call)                  (module-level functions below)
         ─► runner                               (_runner: store calls never on the loop)
         ─► one answer writer, one access log line, one metrics label (the route template)

**The seam.** The server is a plain ASGI app, not a FastAPI one: the route table
(:data:`ROUTES`, plus the token admin routes of :mod:`botwire.server.auth`) is the
only router, and each route carries its :class:`~botwire.server._shapes.Shape`,
from which ``/openapi.json`` is generated. FastAPI's router would parse the
*decoded* path a second time (the source of the old ``/%6Demory`` exploit), run
dependency solving and pydantic per request (half the throughput), and could
only be bypassed by overriding its internals; here nothing is overridden. What
FastAPI still gives is the Swagger UI page (``get_swagger_ui_html``), and
pydantic gives the JSON schemas.

Handlers take a :class:`Call` (the server, the ASGI scope, the match, the token)
and return an :class:`Answer`; they raise :class:`~botwire.BotWireError` to refuse.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Literal, NamedTuple, TypeAlias

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botwire import _wire
from botwire._codec import encoded_size
from botwire._errors import (
    BotWireError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    ServerError,
    ValidationError,
)
from botwire._store import AsyncStore, Store
from botwire._tokens import TokenRecord, is_reserved
from botwire._types import AppendOp, DeleteOp, KeyPage, Op, OpResult, RestoreOp, SetOp
from botwire.server import _feed, _requests, _runner, _shapes
from botwire.server._limits import Quotas
from botwire.server._observe import ACCESS_LOGGER, Metrics, log_request
from botwire.server._routes import (
    Access,
    Match,
    Route,
    RouteTable,
    UnknownRoute,
    allowed_methods,
    raw_target,
)
from botwire.server._settings import Settings

__all__ = ["ROUTES", "Answer", "Authorize", "Call", "Server", "create_app"]

_log = logging.getLogger("botwire.server")

Authorize: TypeAlias = Callable[[Request, str, Literal["read", "write"]], Awaitable[None]]
"""Checks a request's right to read or write a namespace; raises
``AuthenticationError`` / ``PermissionDeniedError`` to refuse it."""

OFF_LOOP_BYTES = 64 * 1024
"""Bodies larger than this are parsed in a worker thread, not on the event loop."""

STORE_UNAVAILABLE = "store unavailable; try again shortly (the server's log has the details)"
"""The detail of every 503: what went wrong (host, user, file) is logged, never sent."""

READY_PATH = "/readyz"
READY_NAMESPACE = "_botwire.ready"
"""What ``/readyz`` and startup read (a usage count): reserved, so no client writes it."""

_JSON = b"application/json"
_UNSET = object()
_NO_HEADERS: list[tuple[bytes, bytes]] = []


class Answer(NamedTuple):
    """What a handler answers: status, body, extra headers, content type."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = _NO_HEADERS
    media_type: bytes = _JSON


@dataclass(slots=True)
class Call:
    """One request on its way through the pipeline: what every handler reads."""

    server: Server
    scope: Scope
    receive: Receive
    match: Match
    token: str | None = None
    """The public id of the token used (``"admin"`` for the admin token), for the log."""
    principal: Any = None
    """What the guard authenticated (a token record), for :meth:`allow`."""
    authorized: bool = field(default=False)
    send: Send | None = None
    sent: tuple[int, int] | None = None
    """``(status, body bytes)`` of an answer another app sent (:meth:`forward`)."""

    @property
    def namespace(self) -> str:
        assert self.match.namespace is not None
        return self.match.namespace

    @property
    def key(self) -> str:
        assert self.match.key is not None
        return self.match.key

    async def allow(self, *needs: Literal["read", "write"]) -> None:
        """Authorize this call's namespace for ``needs`` (the pipeline calls it; a
        batch handler calls it once it knows from the body what the batch does).

        Raises:
            PermissionDeniedError: the token lacks the right.
        """
        await self.server.guard.authorize(self, self.namespace, needs)
        self.authorized = True

    async def body(self, limit: int | None = None) -> bytes:
        settings = self.server.settings
        return await _requests.read_body(
            self.scope,
            self.receive,
            settings.max_body_bytes if limit is None else limit,
            settings.max_value_bytes,
            settings.body_timeout,
        )

    def header(self, name: bytes) -> str | None:
        return _requests.header(self.scope, name)

    async def forward(self, app: ASGIApp, body: bytes) -> None:
        """Let another ASGI app answer (``/mcp``: the MCP SDK's) with the ``body``
        already read; the pipeline still writes the access log line and the metrics."""
        assert self.send is not None
        send, receive, given = self.send, self.receive, False

        async def replay() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # waits for the disconnect, as the app expects

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.sent = (message["status"], 0)
            elif message["type"] == "http.response.body" and self.sent is not None:
                self.sent = (self.sent[0], self.sent[1] + len(message.get("body", b"")))
            await send(message)

        await app(self.scope, replay, counted)


class Guard:
    """Who may do what: the open server's guard (no tokens) and the base of the others."""

    tokens = False

    async def authenticate(self, call: Call) -> None:
        """Identify the caller (sets ``call.principal``/``call.token``) or raise 401."""

    async def authorize(
        self, call: Call, namespace: str, needs: tuple[Literal["read", "write"], ...]
    ) -> None:
        """Raise ``PermissionDeniedError`` unless the caller may ``needs`` on ``namespace``."""

    def admin(self, call: Call) -> None:
        """Raise unless the caller holds the admin token."""
        raise NotFoundError(
            "token management is off on this server: start it with BOTWIRE_ADMIN_TOKEN set"
        )

    async def aclose(self) -> None:
        """Release what the guard holds."""


class _HookGuard(Guard):
    """``create_app(authorize=...)``: a caller's own per-namespace check."""

    def __init__(self, hook: Authorize) -> None:
        self.hook = hook

    async def authorize(
        self, call: Call, namespace: str, needs: tuple[Literal["read", "write"], ...]
    ) -> None:
        request = Request(call.scope, call.receive)
        for access in needs:
            await self.hook(request, namespace, access)


# -- handlers -------------------------------------------------------------------------


def _etag(version: int) -> list[tuple[bytes, bytes]]:
    return [(b"etag", _wire.etag(version).encode("ascii"))]


async def may_read(call: Call, namespace: str) -> bool:
    """Whether the caller may read ``namespace``: a write-only caller is not told what
    is stored (whether a deleted key existed; see :func:`as_told`)."""
    try:
        await call.server.guard.authorize(call, namespace, ("read",))
    except PermissionDeniedError:
        return False
    return True


async def as_told(
    call: Call,
    namespace: str,
    ops: Sequence[Op],
    results: list[OpResult],
    rights: tuple[str, ...],
) -> list[OpResult]:
    """A batch's results as the caller may see them: to a caller that may not read
    ``namespace``, every delete says done (whether the key existed is a read).

    ``rights`` are those the batch was authorized for; the read right is asked only
    for a batch with deletes that was not authorized to read.
    """
    if "read" in rights or not any(isinstance(op, DeleteOp) for op in ops):
        return results
    if await may_read(call, namespace):
        return results
    return [True if isinstance(op, DeleteOp) else r for op, r in zip(ops, results, strict=True)]


async def _off_loop(body: bytes, parse: Callable[[bytes], Any]) -> Any:
    """Parse a body; a large one in a worker thread, so the loop keeps answering."""
    if len(body) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(parse, body)
    return parse(body)


async def get_value(call: Call) -> Answer:
    """Read a value with its version and timestamps (the version is also the ETag)."""
    namespace, key = call.namespace, call.key
    last = _requests.int_param(_requests.query_of(call.scope), "last", 0, 2**31)
    run = call.server.run
    record = await (
        run("get", namespace, key) if last is None else run("get_list", namespace, key, last)
    )
    if record is None:
        raise NotFoundError(f"no key {key!r} in namespace {namespace!r}")
    headers = _etag(record.version)
    if_none = call.header(b"if-none-match")
    if if_none is not None and _wire.etag_listed(if_none, record.version):
        return Answer(304, b"", headers)
    return Answer(200, _wire.record_answer(namespace, record), headers)


def _parse_put(max_value: int) -> Callable[[bytes], tuple[str, float | None]]:
    def parse(body: bytes) -> tuple[str, float | None]:
        data = _wire.object_body(body, '{"value": ..., "ttl": seconds}')
        _wire.check_fields(data, _shapes.PUT_FIELDS, "a PUT body")
        if "value" not in data:
            raise ValidationError(
                'the body needs a "value" field: {"value": <any JSON>}', code="invalid_value"
            )
        return _wire.encode_value(data["value"], max_value), _wire.parse_ttl(data.get("ttl"))

    return parse


async def put_value(call: Call) -> Answer:
    """Store any JSON value under a key; the answer carries the new version."""
    server, namespace, key = call.server, call.namespace, call.key
    if_version = _requests.condition(call.scope)
    if if_version is not None:  # its answer (412 or not) tells what is stored: a read
        await call.allow("read")  # (the pipeline has authorized the write)
    request_id = _requests.idempotency_key(call.scope)
    raw, ttl = await _off_loop(await call.body(), _parse_put(server.settings.max_value_bytes))
    reserved = await server.admit(namespace, 1, encoded_size(raw), key, call.principal)
    try:
        op = SetOp(key, raw, ttl, if_version, request_id)
        result = await server.runner().write(namespace, op)
    finally:
        server.quotas.done(namespace, reserved)
    return Answer(200, _wire.put_answer(namespace, key, result), _etag(result.version))


async def delete_value(call: Call) -> Answer:
    """Delete a key (404 if it did not exist; 200 either way for a caller that may
    not read the namespace, which is not told whether the key existed)."""
    namespace, key = call.namespace, call.key
    if not await call.server.run("delete", namespace, key) and await may_read(call, namespace):
        raise NotFoundError(f"no key {key!r} in namespace {namespace!r}")
    call.server.quotas.forget(namespace)
    return Answer(200, _wire.delete_answer(namespace, key))


def _parse_append(max_value: int) -> Callable[[bytes], tuple[tuple[str, ...], str | None]]:
    def parse(body: bytes) -> tuple[tuple[str, ...], str | None]:
        data = _wire.object_body(body, '{"append": [...], "id": "..."}')
        _wire.check_fields(data, _shapes.APPEND_FIELDS, "an append body")
        raws = _wire.encode_items(data.get("append"), max_value, "append")
        return raws, _wire.parse_id(data.get("id"))

    return parse


async def append_items(call: Call) -> Answer:
    """Append items to the list at a key, creating it; O(1) in the list's length."""
    server, namespace, key = call.server, call.namespace, call.key
    raws, append_id = await _off_loop(
        await call.body(), _parse_append(server.settings.max_value_bytes)
    )
    reserved = await server.admit(namespace, 1, _requests.item_bytes(raws), None, call.principal)
    try:
        result = await server.runner().write(namespace, AppendOp(key, raws, append_id))
    finally:
        server.quotas.done(namespace, reserved)
    return Answer(200, _wire.append_answer(result), _etag(result.version))


async def list_keys(call: Call) -> Answer:
    """List keys in code point order, a page at a time."""
    namespace = call.namespace
    query = _requests.query_of(call.scope)
    limit = _requests.int_param(query, "limit", 0, _wire.MAX_LIST_LIMIT)
    prefix = query.get("prefix", "")
    cursor = query.get("cursor") or None
    if limit == 0:
        page = KeyPage([], None)
    else:
        page = await call.server.run(
            "list_keys", namespace, prefix=prefix, limit=limit, cursor=cursor
        )
    return Answer(200, _wire.keys_answer(namespace, page))


def _parse_batch(max_value: int) -> Callable[[bytes], list[Op]]:
    def parse(body: bytes) -> list[Op]:
        data = _wire.object_body(body, '{"ops": [...]}')
        _wire.check_fields(data, _shapes.BATCH_FIELDS, "a batch body")
        return _requests.parse_ops(data.get("ops"), max_value)

    return parse


class BatchNeeds(NamedTuple):
    """What a batch asks of the caller and of the quotas."""

    rights: tuple[Literal["read", "write"], ...]
    writes: int
    incoming: int
    """Bytes the writes bring."""
    changes: bool


def batch_needs(ops: list[Op]) -> BatchNeeds:
    """The rights (an empty batch needs ``read``), writes and incoming bytes of ``ops``."""
    writes = [op for op in ops if isinstance(op, (SetOp, AppendOp, RestoreOp))]
    changes = bool(writes) or any(isinstance(op, DeleteOp) for op in ops)
    reads = len(ops) > len(writes) + sum(isinstance(op, DeleteOp) for op in ops) or not ops
    # a conditional set's result (done or conflict) tells what is stored: a read too
    reads = reads or any(isinstance(op, SetOp) and op.if_version is not None for op in ops)
    incoming = sum(
        encoded_size(op.raw)
        if isinstance(op, (SetOp, RestoreOp))
        else _requests.item_bytes(op.raws)
        for op in writes
    )
    rights = (*(("read",) if reads else ()), *(("write",) if changes else ()))
    return BatchNeeds(rights, len(writes), incoming, changes)


async def batch(call: Call) -> Answer:
    """Run get/set/delete/append operations in one transaction: all or nothing."""
    server, namespace = call.server, call.namespace
    ops = await _off_loop(await call.body(), _parse_batch(server.settings.max_value_bytes))
    needs = batch_needs(ops)
    await call.allow(*needs.rights)
    reserved = 0
    if needs.writes:
        reserved = await server.admit(namespace, needs.writes, needs.incoming, None, call.principal)
    try:
        results = await server.run("batch", namespace, ops) if ops else []
    finally:
        server.quotas.done(namespace, reserved)
    if needs.changes:
        server.quotas.forget(namespace)
    results = await as_told(call, namespace, ops, results, needs.rights)
    size = _requests.answer_size(ops, results, server.settings.answer_cap)
    if size > OFF_LOOP_BYTES:
        return Answer(200, await asyncio.to_thread(_wire.batch_answer, ops, results))
    return Answer(200, _wire.batch_answer(ops, results))


async def usage(call: Call) -> Answer:
    """A namespace's keys, bytes and writes today, with the server's limits."""
    server, namespace = call.server, call.namespace
    used = await server.run("usage", namespace)
    writes = await server.quotas.writes_today(namespace)
    return Answer(200, _wire.usage_answer(namespace, used, writes, server.settings.limits()))


async def list_namespaces(call: Call) -> Answer:
    """The namespaces this credential may see, a page at a time, each with its keys,
    bytes and writes today, and what the credential may do.

    On an open server and with the admin token: every namespace holding a live key;
    with a scoped token: those its patterns cover (whether it may read or write them
    is in ``access``).
    """
    from botwire._cursors import decode_cursor, encode_cursor

    server = call.server
    query = _requests.query_of(call.scope)
    limit = _requests.int_param(query, "limit", 0, _shapes.MAX_NAMESPACES_LIMIT)
    limit = _shapes.DEFAULT_NAMESPACES_LIMIT if limit is None else limit
    prefix = query.get("prefix", "")
    cursor = query.get("cursor") or None
    after = decode_cursor(cursor) if cursor is not None else None
    if not callable(getattr(server.store, "namespaces", None)):
        raise NotFoundError(
            "this server's store cannot list its namespaces; open a namespace by its name"
        )
    names: list[str] = await server.run("namespaces")
    page: list[str] = []
    more = False
    for name in names:
        if (
            is_reserved(name)
            or not name.startswith(prefix)
            or (after is not None and name <= after)
        ):
            continue
        if not await _may_see(call, name):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(name)
    listed = []
    for name in page:
        used = await server.run("usage", name)
        writes = await server.quotas.writes_today(name)
        listed.append(
            {
                "namespace": name,
                "keys": used.keys,
                "bytes": used.bytes,
                "stored_bytes": used.stored_bytes,
                "writes_today": writes,
            }
        )
    answer = {
        "namespaces": listed,
        "count": len(listed),
        "next_cursor": encode_cursor(page[-1]) if more and page else None,
        "limits": server.settings.limits(),
        "access": _rights(call),
    }
    return Answer(200, json.dumps(answer, separators=(",", ":")).encode("utf-8"))


async def _may_see(call: Call, namespace: str) -> bool:
    principal = call.principal
    if isinstance(principal, TokenRecord):
        return principal.scope.covers(namespace)
    if principal == "admin" or type(call.server.guard) is Guard:
        return True
    try:  # a caller's own check (create_app(authorize=...)): what it lets this caller read
        await call.server.guard.authorize(call, namespace, ("read",))
    except BotWireError:
        return False
    return True


def _rights(call: Call) -> dict[str, Any]:
    principal = call.principal
    if isinstance(principal, TokenRecord):
        scope = principal.scope
        return {
            "token": principal.id,
            "read": scope.read,
            "write": scope.write,
            "patterns": list(scope.patterns),
            "expires_at": principal.expires_at,
        }
    if principal == "admin":  # sees every namespace, reaches no data
        return {"token": "admin", "read": False, "write": False, "patterns": ["*"],
                "expires_at": None}  # fmt: skip
    return {"token": None, "read": True, "write": True, "patterns": ["*"], "expires_at": None}


async def health(call: Call) -> Answer:
    """Liveness: 200 while the server runs."""
    kind = call.server.runner().kind.encode()
    return Answer(200, b'{"status":"ok","store":"' + kind + b'"}')


async def ready(call: Call) -> Answer:
    """Readiness: 200 once the store answers, 503 while it cannot be reached."""
    await call.server.check_store()
    kind = call.server.runner().kind.encode()
    return Answer(200, b'{"status":"ready","store":"' + kind + b'"}')


async def prometheus(call: Call) -> Answer:
    """Requests by route and status, request latency, store operation latency."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest(call.server.metrics.registry)
    return Answer(200, body, media_type=CONTENT_TYPE_LATEST.encode("ascii"))


async def openapi_json(call: Call) -> Answer:
    """The OpenAPI document, generated from the route table."""
    return Answer(200, call.server.openapi_bytes())


async def swagger_ui(call: Call) -> Answer:
    """The interactive API documentation (Swagger UI, served by this server)."""
    from botwire.server import _assets

    return Answer(200, _assets.swagger_page(), media_type=b"text/html; charset=utf-8")


async def asset(call: Call) -> Answer:
    """A Swagger UI file (JavaScript, CSS), from the installed package."""
    from botwire.server import _assets

    body, media_type = _assets.read(call.match.route.template)
    return Answer(200, body, [(b"cache-control", b"max-age=86400")], media_type)


_S = _shapes
_KEY = (_S.NAMESPACE, _S.KEY)

ROUTES: list[Route] = [
    Route("GET", "/memory/{namespace}/{key}", "get_value", get_value, "read", _S.Shape(
        "Read a value", "keys", _S.ValueAnswer, None,
        (*_KEY, _S.LAST, _S.IF_NONE_MATCH_READ), (304, 400, 401, 403, 404, 409, 503))),
    Route("PUT", "/memory/{namespace}/{key}", "put_value", put_value, "write", _S.Shape(
        "Store a value", "keys", _S.PutAnswer, _S.PutBody,
        (*_KEY, _S.IF_MATCH, _S.IF_NONE_MATCH_WRITE, _S.IDEMPOTENCY_KEY),
        (400, 401, 403, 412, 413, 429, 503))),
    Route("DELETE", "/memory/{namespace}/{key}", "delete_value", delete_value, "write", _S.Shape(
        "Delete a key", "keys", _S.DeleteAnswer, None, _KEY, (400, 401, 403, 404, 503))),
    Route("POST", "/memory/{namespace}/{key}", "append_items", append_items, "write", _S.Shape(
        "Append to a list", "lists", _S.AppendAnswer, _S.AppendBody, _KEY,
        (400, 401, 403, 409, 413, 429, 503))),
    Route("GET", "/memory/{namespace}/changes", "watch_changes", _feed.watch_changes, "read",
        _S.Shape("Watch changes", "feed", _S.ChangesAnswer, None, _S.FEED_PARAMS,
        (400, 401, 403, 410, 429, 503))),
    Route("GET", "/memory/{namespace}", "list_keys", list_keys, "read", _S.Shape(
        "List keys", "namespaces", _S.KeysAnswer, None,
        (_S.NAMESPACE, _S.PREFIX, _S.LIMIT, _S.CURSOR), (400, 401, 403, 503))),
    Route("POST", "/memory/{namespace}", "batch", batch, "batch", _S.Shape(
        "Run a batch", "namespaces", _S.BatchAnswer, _S.BatchBody, (_S.NAMESPACE,),
        (400, 401, 403, 404, 409, 412, 413, 429, 503))),
    Route("GET", "/namespaces/{namespace}", "usage", usage, "read", _S.Shape(
        "Namespace usage", "namespaces", _S.UsageAnswer, None, (_S.NAMESPACE,),
        (400, 401, 403, 503))),
    Route("GET", "/namespaces", "list_namespaces", list_namespaces, "token", _S.Shape(
        "List namespaces", "namespaces", _S.NamespacesAnswer, None,
        (_S.NAMESPACE_PREFIX, _S.NAMESPACES_LIMIT, _S.CURSOR), (400, 401, 404, 503))),
    Route("GET", _wire.HEALTH_PATH, "health", health, "open", _S.Shape(
        "Liveness", "operations", _S.Health, secured=False)),
    Route("GET", READY_PATH, "ready", ready, "open", _S.Shape(
        "Readiness (the store answers)", "operations", _S.Health, errors=(503,),
        secured=False)),
    Route("GET", _wire.METRICS_PATH, "metrics", prometheus, "token", _S.Shape(
        "Prometheus metrics", "operations", None, media_type="text/plain", errors=(401,))),
]  # fmt: skip
"""The data and operations routes; :func:`create_app` adds the token admin routes
(:data:`botwire.server._guard.ADMIN_ROUTES`) and the documentation routes."""

DOC_ROUTES: list[Route] = [
    Route("GET", "/openapi.json", "openapi", openapi_json, "token",
          _S.Shape("OpenAPI document", "operations"), in_schema=False),
    Route("GET", "/docs", "docs", swagger_ui, "token",
          _S.Shape("API documentation", "operations"), in_schema=False),
    Route("GET", "/docs/swagger-ui-bundle.js", "docs_js", asset, "open",
          _S.Shape("Swagger UI", "operations"), in_schema=False),
    Route("GET", "/docs/swagger-ui.css", "docs_css", asset, "open",
          _S.Shape("Swagger UI", "operations"), in_schema=False),
]  # fmt: skip
"""Documentation routes: served, but not themselves in the OpenAPI document."""


# -- the pipeline -----------------------------------------------------------------------


class Server:
    """The BotWire server as a plain ASGI app: :data:`ROUTES` and one pipeline.

    Build it with :func:`create_app`.
    """

    def __init__(
        self,
        store: Store | AsyncStore | None,
        settings: Settings,
        guard: Guard,
        routes: list[Route],
    ) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.table = RouteTable(routes)
        self.guard = guard
        self.state = SimpleNamespace(settings=settings, metrics=self.metrics, server=self)
        self._store = store
        self._owned = store is None
        self._runner: _runner.Runner | None = None
        self._openapi: bytes | None = None
        self._hosts: frozenset[str] | None | object = _UNSET
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._shared_counts = _runner.StoreCounter(self.run)
        self.lifespans: list[Callable[[], AbstractAsyncContextManager[None]]] = []
        """Entered at startup, left at shutdown: a door's background work (MCP's sessions)."""
        self._running = AsyncExitStack()
        self.quotas = Quotas(
            settings.writes_per_day,
            settings.max_namespace_bytes,
            lambda namespace: self.run("usage", namespace),
            counter=lambda: self._shared_counts if self.runner().counts_writes else None,
        )
        if store is not None:
            self.runner()

    # -- the store ----------------------------------------------------------------

    def runner(self) -> _runner.Runner:
        """The store's runner (the store is opened on first use when not given)."""
        if self._runner is None:
            store = self._store if self._store is not None else _runner.open_store(self.settings)
            self._store = store
            self._runner = _runner.Runner(
                store, self.metrics, max_bytes=self.settings.max_namespace_bytes
            )
        return self._runner

    @property
    def store(self) -> Store | AsyncStore:
        """The one store this server (and its token book) uses."""
        return self.runner().store

    async def run(self, op: str, *args: Any, **kwargs: Any) -> Any:
        """Call a store operation off the event loop (see :class:`~._runner.Runner`)."""
        return await self.runner()(op, *args, **kwargs)

    async def admit(
        self,
        namespace: str,
        writes: int,
        incoming: int,
        key: str | None = None,
        principal: Any = None,
    ) -> int:
        """Admit writes against the quotas, or raise ``QuotaExceededError``.

        Returns the bytes reserved: hand them to ``quotas.done`` once the write ends.
        """

        async def replaced() -> int:
            record = await self.run("get", namespace, key)
            return 0 if record is None else encoded_size(record.raw)

        if self.runner().max_bytes is not None:
            incoming = 0  # the store checks the size itself, exactly, in the write
        try:
            per_token = getattr(principal, "writes_per_day", None)
            if per_token is not None and writes:  # a token's own limit, over its namespaces
                await self.quotas.admit_token(principal.id, writes, per_token)
            return await self.quotas.admit(namespace, writes, incoming, replaced if key else None)
        except QuotaExceededError:
            self.metrics.refusals.inc()
            raise

    async def check_store(self) -> None:
        """One cheap read, so a store that cannot be reached raises ``UnavailableError``."""
        await self.run("usage", READY_NAMESPACE)

    async def aclose(self) -> None:
        """Stop the store's threads; close the store if this server opened it."""
        runner, self._runner = self._runner, None
        await self.guard.aclose()
        if runner is not None:
            await runner.close(self._owned)
            if self._owned:
                self._store = None

    def use_tokens(self, admin_token: str) -> None:
        """Require scoped tokens (see :mod:`botwire.server.auth`), managed with ``admin_token``.

        Raises:
            ValidationError: the admin token is shorter than 16 characters.
        """
        from botwire.server._guard import TokenGuard

        checked = self.settings.replace(admin_token=admin_token).admin_token
        assert checked is not None
        guard = TokenGuard(checked)
        guard.bind(self)
        self.guard = guard

    # -- the schema -----------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document: every route of the table that is in the schema."""
        from botwire import __version__

        routes = [r for r in self.table.routes if r.in_schema]
        return _shapes.openapi(routes, title="BotWire", version=__version__)

    def openapi_bytes(self) -> bytes:
        if self._openapi is None:
            self._openapi = json.dumps(self.openapi()).encode("utf-8")
        return self._openapi

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # no websocket route exists
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.runner()  # open the store now, so a bad --db fails at start
                    await self.check_store()  # and reach it, before listening
                    for lifespan in self.lifespans:
                        await self._running.enter_async_context(lifespan())
                except Exception as exc:  # noqa: BLE001 - reported to the ASGI server
                    await self._running.aclose()
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._running.aclose()
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        call: Call | None = None
        route_label = "unmatched"
        headers: list[tuple[bytes, bytes]]
        code: str | None = None
        try:
            try:
                match = self.table.match(scope["method"], raw_target(scope))
            except BotWireError as exc:  # 404/405: still behind the token, if tokens are on
                match = Match(_UNMATCHED, error=exc)
            route_label = match.route.template
            call = Call(self, scope, receive, match, send=send)
            answer = await self._serve(call)
            if isinstance(answer, _feed.Stream):  # the change feed's event stream
                await answer.send_to(send)
                seconds = time.perf_counter() - started
                self.metrics.observe_request(scope["method"], route_label, 200, seconds)
                return
            status, body, headers, media_type = answer
        except BotWireError as exc:
            status, body, headers = _error(exc)
            code, media_type = exc.code, _JSON
            if status == 500:
                code = "server_error"
            elif status == 503:  # the detail names hosts, users, files: for the log only
                _log.warning("store unavailable (%s %s): %s", scope["method"], route_label, exc)
                body = _wire.error_body(code, STORE_UNAVAILABLE)
        except Exception:
            _log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            status, headers, media_type, code = 500, [], _JSON, ServerError.code
            body = _wire.error_body(code, "the server failed; its log has the details")
        size = len(body)
        if call is not None and call.sent is not None:  # answered by another app (/mcp)
            status, size = call.sent
        else:
            if status == 304:
                start = headers
            else:
                length = str(size).encode("ascii")
                start = [(b"content-type", media_type), (b"content-length", length), *headers]
            await send({"type": "http.response.start", "status": status, "headers": start})
            head = status == 304 or scope["method"] == "HEAD"
            await send({"type": "http.response.body", "body": b"" if head else body})
        seconds = time.perf_counter() - started
        self.metrics.observe_request(scope["method"], route_label, status, seconds)
        if self.settings.access_log and self._logger.isEnabledFor(logging.INFO):
            match_ns = call.match.namespace if call is not None else None
            token = call.token if call is not None else None
            log_request(
                self._logger, scope, route_label, status, seconds, size, match_ns, token, code
            )

    def _browser_rules(self, call: Call) -> None:
        """Without tokens: refuse what a web page could send (see ``auth.check_browser_rules``)."""
        from botwire.server.auth import allowed_host_set, check_browser_rules

        if self._hosts is _UNSET:
            settings = self.settings
            self._hosts = allowed_host_set(settings.allowed_hosts, settings.insecure_open)
        check_browser_rules(
            call.scope["method"],
            call.header(b"host"),
            call.header(b"origin"),
            call.header(b"content-type"),
            self._hosts,  # type: ignore[arg-type]
        )

    async def _serve(self, call: Call) -> Answer | _feed.Stream:
        """Authenticate, authorize, handle: the steps every matched request takes."""
        route = call.match.route
        access: Access = route.access
        if not self.guard.tokens:
            self._browser_rules(call)
        if access != "open":
            await self.guard.authenticate(call)
        namespace = call.match.namespace
        if namespace is not None and is_reserved(namespace):  # the one place, tokens or not
            raise PermissionDeniedError(
                f"namespace {namespace!r} is reserved for the server; "
                "no client can reach _botwire.*"
            )
        if call.match.error is not None:
            raise call.match.error
        if access == "read" or access == "write":
            await call.allow(access)
        elif access == "admin":
            self.guard.admin(call)
        answer: Answer | _feed.Stream = await route.handler(call)
        if access == "batch" and not call.authorized:  # pragma: no cover - a handler's bug
            raise ServerError("a batch route answered without authorizing")
        return answer


async def _refuse(call: Call) -> Answer:
    raise AssertionError("unreachable: the match error is raised first")  # pragma: no cover


_UNMATCHED = Route(
    "*", "unmatched", "unmatched", _refuse, "token", _shapes.Shape("", ""), in_schema=False
)
"""The route of a request no route matches: authenticated (with tokens on), then 404/405."""


def _error(exc: BotWireError) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    status, body, extra = _wire.error_answer(exc)
    if isinstance(exc, UnknownRoute):
        body = _wire.error_body(exc.code, str(exc), route=None)
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
    allowed = allowed_methods(exc)
    if allowed is not None:
        status = 405
        headers.append((b"allow", ", ".join(allowed).encode("ascii")))
    if status == 503:
        headers.append((b"retry-after", str(_wire.UNAVAILABLE_RETRY_AFTER).encode("ascii")))
    challenge = getattr(exc, "challenge", None)
    if challenge:
        headers.append((b"www-authenticate", challenge))
    return status, body, headers


def create_app(
    store: Store | AsyncStore | None = None,
    settings: Settings | None = None,
    *,
    authorize: Authorize | None = None,
) -> Server:
    """Build the BotWire server as an ASGI app.

    Example:
        >>> from botwire import SQLiteStore
        >>> from botwire.server import Settings, create_app
        >>> app = create_app(SQLiteStore("/tmp/server.db"), Settings(writes_per_day=1000))
        >>> # uvicorn.run(app, host="127.0.0.1", port=8080)

    Args:
        store: the store to serve (a :class:`~botwire.Store` or
            :class:`~botwire.AsyncStore`); the caller closes it. ``None``: open
            ``settings.db`` on first use and close it at shutdown. Token records
            live in this same store.
        settings: limits and options (default :class:`Settings` (), which reads
            ``BOTWIRE_*`` variables). With ``settings.admin_token`` every request
            needs a scoped token (:mod:`botwire.server.auth`).
        authorize: a per-namespace check instead of tokens: called with the
            request, the namespace and ``"read"``/``"write"`` before the store is
            touched; raise ``AuthenticationError`` or ``PermissionDeniedError``.

    Returns:
        An ASGI app serving DESIGN.md §5, with ``/docs``, ``/healthz``, ``/metrics``
        and the web UI at ``/ui`` (``settings.ui``), MCP at ``/mcp`` (``settings.mcp``;
        started by the app's lifespan).
    """
    from botwire.server._guard import ADMIN_ROUTES

    settings = settings if settings is not None else Settings()
    if settings.admin_token is not None and authorize is not None:
        raise ValidationError("use either tokens (admin_token) or authorize=, not both")
    guard = _HookGuard(authorize) if authorize is not None else Guard()
    routes = [*ROUTES, *ADMIN_ROUTES, *DOC_ROUTES]
    if settings.ui_enabled:
        from botwire.server._ui import UI_ROUTES

        routes += UI_ROUTES
    server = Server(store, settings, guard, routes)
    if settings.admin_token is not None:
        server.use_tokens(settings.admin_token)
    if settings.mcp_enabled:
        from botwire.server import _mcp

        _mcp.install(server)
    return server
