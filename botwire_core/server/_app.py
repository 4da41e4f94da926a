"""The reference server: a thin HTTP layer over any store (DESIGN.md §5, §6).

Built for speed without losing the documentation:

* Each memory route is a FastAPI ``APIRoute`` whose typed signature and pydantic
  models (``_docs``) produce the OpenAPI schema, but whose request path is a
  plain ASGI handler: bodies are parsed and answers written by
  :mod:`botwire._wire` (values are spliced in as the JSON text the store holds,
  never re-encoded), with no dependency solving, no pydantic validation and no
  ``Request``/``Response`` objects per request.
* A small dispatcher in front of FastAPI sends those routes straight to their
  handlers; ``/docs``, ``/openapi.json``, ``/metrics`` and unknown paths go
  through FastAPI as usual.
* SQLite calls run on the event loop (no thread hop), and concurrent writes to
  one namespace share a commit (``_runner``); other synchronous stores run in a
  thread pool, asynchronous stores (``AsyncPostgresStore``) are awaited.

Access control plugs in as one ``authorize`` callable (called with the request,
the namespace and ``"read"``/``"write"`` before the store is touched), or as an
ASGI middleware around the app (``botwire.server.auth``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypeAlias

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from botwire import _wire
from botwire._codec import encoded_size
from botwire._errors import (
    BotWireError,
    NotFoundError,
    QuotaExceededError,
    ServerError,
    ValidationError,
)
from botwire._store import AsyncStore, Store
from botwire._types import AppendOp, DeleteOp, KeyPage, RestoreOp, SetOp
from botwire.server import _docs, _requests, _runner
from botwire.server._limits import Quotas
from botwire.server._observe import Metrics, ObserveMiddleware
from botwire.server._settings import Settings

__all__ = ["Authorize", "create_app"]

_log = logging.getLogger("botwire.server")

Authorize: TypeAlias = Callable[[Request, str, Literal["read", "write"]], Awaitable[None]]
"""Checks a request's right to read or write a namespace; raises
``AuthenticationError`` / ``PermissionDeniedError`` to refuse it."""

Answer: TypeAlias = tuple[int, bytes, list[tuple[bytes, bytes]]]
Handler: TypeAlias = Callable[[Scope, Receive], Awaitable[Answer]]

_JSON = (b"content-type", b"application/json")
_RETRY_SOON = (b"retry-after", str(_wire.UNAVAILABLE_RETRY_AFTER).encode("ascii"))
_NO_HEADERS: list[tuple[bytes, bytes]] = []


# -- the app ------------------------------------------------------------------


class _WireRoute(APIRoute):
    """An ``APIRoute`` documented by its endpoint's signature, served by a raw handler."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, handler: Handler, **kw: Any):
        super().__init__(path, endpoint, **kw)
        self.app = _asgi(handler)

    def get_route_handler(self) -> Any:  # pragma: no cover - replaced by self.app above
        return super().get_route_handler()


def _asgi(handler: Handler) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status, body, headers = await handler(scope, receive)
        except BotWireError as exc:
            status, body, extra = _wire.error_answer(exc)
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
            if status == 503:
                headers.append(_RETRY_SOON)
        except Exception:
            _log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            status, headers = 500, []
            body = _wire.error_body("server_error", "the server failed; its log has the details")
        if status == 304:
            start = headers
        else:
            start = [_JSON, (b"content-length", str(len(body)).encode("ascii")), *headers]
        await send({"type": "http.response.start", "status": status, "headers": start})
        await send({"type": "http.response.body", "body": b"" if status == 304 else body})

    return app


class _Dispatch:
    """Send memory requests straight to their handlers; everything else to FastAPI.

    The routes stay registered in FastAPI (the OpenAPI schema and ``/docs`` come
    from them); this only skips FastAPI's per-request middleware and route
    scanning for the routes that carry the load.
    """

    def __init__(self, routes: dict[tuple[str, str], APIRoute], fallback: ASGIApp) -> None:
        self.routes = routes
        self.fallback = fallback

    def _match(self, scope: Scope) -> APIRoute | None:
        raw: bytes | None = scope.get("raw_path")
        if raw is None:
            raw = scope["path"].encode("utf-8", "surrogateescape")
        root = scope.get("root_path")
        if root and raw.startswith(root.encode("utf-8")):
            raw = raw[len(root) :]
        if raw.startswith(_MEMORY):
            kind = "key" if b"/" in raw[len(_MEMORY) :].split(b"?", 1)[0] else "namespace"
        elif raw.startswith(_NAMESPACES) and b"/" not in raw[len(_NAMESPACES) :]:
            kind = "usage"
        elif raw == _HEALTH:
            kind = "health"
        else:
            return None
        return self.routes.get((kind, scope["method"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._match(scope)
            if route is not None:
                scope["route"] = route
                await route.app(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


_HEALTH = _wire.HEALTH_PATH.encode("ascii")
_MEMORY = _wire.MEMORY_PREFIX.encode("ascii")
_NAMESPACES = _wire.NAMESPACES_PREFIX.encode("ascii")


class _App(FastAPI):
    """FastAPI, entered through the metrics/log middleware and the fast dispatcher."""

    entry: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.entry is None:
            await super().__call__(scope, receive, send)
        else:
            await self.entry(scope, receive, send)

    async def _fastapi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(
    store: Store | AsyncStore | None = None,
    settings: Settings | None = None,
    *,
    authorize: Authorize | None = None,
) -> FastAPI:
    """Build the BotWire server as an ASGI app.

    Example:
        >>> from botwire import SQLiteStore
        >>> from botwire.server import Settings, create_app
        >>> app = create_app(SQLiteStore("/tmp/server.db"), Settings(writes_per_day=1000))
        >>> # uvicorn.run(app, host="127.0.0.1", port=8080)

    Args:
        store: the store to serve (a :class:`~botwire.Store` or
            :class:`~botwire.AsyncStore`); the caller closes it. ``None``: open
            ``settings.db`` on first use and close it at shutdown.
        settings: limits and options (default :class:`Settings` ()).
        authorize: called before every memory operation with the request, the
            namespace and ``"read"``/``"write"``; raise ``AuthenticationError`` or
            ``PermissionDeniedError`` to refuse (the hook token auth uses).

    Returns:
        A FastAPI app serving DESIGN.md §5, with ``/docs``, ``/healthz`` and ``/metrics``.
    """
    settings = settings or Settings()
    metrics = Metrics()
    state: dict[str, _runner.Runner] = {}
    owned = store is None

    def runner() -> _runner.Runner:
        run = state.get("runner")
        if run is None:
            opened = store if store is not None else _runner.open_store(settings)
            run = state["runner"] = _runner.Runner(opened, settings.inline_store, metrics)
        return run

    if store is not None:
        runner()

    async def run(op: str, *args: Any, **kwargs: Any) -> Any:
        return await runner()(op, *args, **kwargs)

    async def usage_of(namespace: str) -> Any:
        return await run("usage", namespace)

    shared_counts = _runner.StoreCounter(run)

    def write_counter() -> _runner.StoreCounter | None:
        # The store's shared daily write counts, if it keeps them (SQLite, PostgreSQL).
        return shared_counts if runner().counts_writes else None

    quotas = Quotas(
        settings.writes_per_day, settings.max_namespace_bytes, usage_of, counter=write_counter
    )
    max_value = settings.max_value_bytes
    body_limit = settings.max_body_bytes

    async def guard(scope: Scope, receive: Receive, namespace: str, access: Any) -> None:
        if authorize is not None:
            await authorize(Request(scope, receive), namespace, access)

    async def admit(namespace: str, writes: int, incoming: int, key: str | None = None) -> None:
        async def replaced() -> int:
            record = await run("get", namespace, key)
            return 0 if record is None else encoded_size(record.raw)

        try:
            await quotas.admit(namespace, writes, incoming, replaced if key else None)
        except QuotaExceededError:
            metrics.refusals.inc()
            raise

    # -- handlers ------------------------------------------------------------

    async def get_value(scope: Scope, receive: Receive) -> Answer:
        namespace, key = _requests.path_of(scope, _MEMORY)
        assert key is not None
        await guard(scope, receive, namespace, "read")
        last = _requests.int_param(_requests.query_of(scope), "last", 0, 2**31)
        if last is None:
            record = await run("get", namespace, key)
        else:
            record = await run("get_list", namespace, key, last)
        if record is None:
            raise NotFoundError(f"no key {key!r} in namespace {namespace!r}")
        headers = _requests.etag_headers(record.version)
        if_none = _requests.header(scope, b"if-none-match")
        if if_none is not None and _wire.etag_listed(if_none, record.version):
            return 304, b"", headers
        return 200, _wire.record_answer(namespace, record), headers

    async def put_value(scope: Scope, receive: Receive) -> Answer:
        namespace, key = _requests.path_of(scope, _MEMORY)
        assert key is not None
        await guard(scope, receive, namespace, "write")
        if_version = _requests.condition(scope)
        request_id = _requests.idempotency_key(scope)
        data = _wire.object_body(
            await _requests.read_body(scope, receive, body_limit, max_value),
            '{"value": ..., "ttl": seconds}',
        )
        _wire.check_fields(data, _requests.PUT_FIELDS, "a PUT body")
        if "value" not in data:
            raise ValidationError(
                'the body needs a "value" field: {"value": <any JSON>}', code="invalid_value"
            )
        raw = _wire.encode_value(data["value"], max_value)
        ttl = _wire.parse_ttl(data.get("ttl"))
        await admit(namespace, 1, encoded_size(raw), key)
        result = await runner().write(namespace, SetOp(key, raw, ttl, if_version, request_id))
        return 200, _wire.put_answer(namespace, key, result), _requests.etag_headers(result.version)

    async def delete_value(scope: Scope, receive: Receive) -> Answer:
        namespace, key = _requests.path_of(scope, _MEMORY)
        assert key is not None
        await guard(scope, receive, namespace, "write")
        if not await run("delete", namespace, key):
            raise NotFoundError(f"no key {key!r} in namespace {namespace!r}")
        quotas.forget(namespace)
        return 200, _wire.delete_answer(namespace, key), _NO_HEADERS

    async def append_items(scope: Scope, receive: Receive) -> Answer:
        namespace, key = _requests.path_of(scope, _MEMORY)
        assert key is not None
        await guard(scope, receive, namespace, "write")
        data = _wire.object_body(
            await _requests.read_body(scope, receive, body_limit, max_value),
            '{"append": [...], "id": "..."}',
        )
        _wire.check_fields(data, _requests.APPEND_FIELDS, "an append body")
        raws = _wire.encode_items(data.get("append"), max_value, "append")
        append_id = _wire.parse_id(data.get("id"))
        await admit(namespace, 1, _requests.item_bytes(raws))
        result = await runner().write(namespace, AppendOp(key, raws, append_id))
        return 200, _wire.append_answer(result), _requests.etag_headers(result.version)

    async def list_keys(scope: Scope, receive: Receive) -> Answer:
        namespace, _ = _requests.path_of(scope, _MEMORY)
        await guard(scope, receive, namespace, "read")
        query = _requests.query_of(scope)
        limit = _requests.int_param(query, "limit", 0, _wire.MAX_LIST_LIMIT)
        prefix = query.get("prefix", "")
        cursor = query.get("cursor") or None
        if limit == 0:
            page = KeyPage([], None)
        else:
            page = await run("list_keys", namespace, prefix=prefix, limit=limit, cursor=cursor)
        return 200, _wire.keys_answer(namespace, page), _NO_HEADERS

    async def batch(scope: Scope, receive: Receive) -> Answer:
        namespace, _ = _requests.path_of(scope, _MEMORY)
        data = _wire.object_body(
            await _requests.read_body(scope, receive, body_limit, max_value), '{"ops": [...]}'
        )
        _wire.check_fields(data, _requests.BATCH_FIELDS, "a batch body")
        ops = _requests.parse_ops(data.get("ops"), max_value)
        writes = [op for op in ops if isinstance(op, (SetOp, AppendOp, RestoreOp))]
        changes = writes or any(isinstance(op, DeleteOp) for op in ops)
        await guard(scope, receive, namespace, "write" if changes else "read")
        if writes:
            incoming = sum(
                encoded_size(op.raw)
                if isinstance(op, (SetOp, RestoreOp))
                else _requests.item_bytes(op.raws)
                for op in writes
            )
            await admit(namespace, len(writes), incoming)
        results = await run("batch", namespace, ops) if ops else []
        if changes:
            quotas.forget(namespace)
        return 200, _wire.batch_answer(ops, results), _NO_HEADERS

    async def usage(scope: Scope, receive: Receive) -> Answer:
        namespace, _ = _requests.path_of(scope, _NAMESPACES)
        await guard(scope, receive, namespace, "read")
        used = await run("usage", namespace)
        writes = await quotas.writes_today(namespace)
        body = _wire.usage_answer(namespace, used, writes, settings.limits())
        return 200, body, _NO_HEADERS

    async def health(scope: Scope, receive: Receive) -> Answer:
        return 200, b'{"status":"ok","store":"' + runner().kind.encode() + b'"}', _NO_HEADERS

    # -- the app -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner()  # open the store now, so a bad --db fails at start
        try:
            yield
        finally:
            run_ = state.pop("runner", None)
            if run_ is not None:
                await run_.close(owned)

    app = _App(
        title="BotWire",
        version=_version(),
        summary="Durable key-value memory for AI agents.",
        description=_docs.DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics

    fast_routes: dict[tuple[str, str], APIRoute] = {}
    kinds = {
        "/memory/{namespace}/{key:path}": "key",
        "/memory/{namespace}": "namespace",
        "/namespaces/{namespace}": "usage",
        _wire.HEALTH_PATH: "health",
    }

    def add(path: str, method: str, stub: Callable[..., Any], handler: Handler, **kw: Any) -> None:
        route = _WireRoute(path, stub, handler=handler, methods=[method], **kw)
        app.router.routes.append(route)
        fast_routes[(kinds[path], method)] = route

    key_path = "/memory/{namespace}/{key:path}"
    add(
        key_path,
        "GET",
        _docs.get_doc,
        get_value,
        response_model=_docs.ValueAnswer,
        responses=_docs.errors(304, 400, 404, 409),
        tags=["keys"],
    )
    add(
        key_path,
        "PUT",
        _docs.put_doc,
        put_value,
        response_model=_docs.PutAnswer,
        responses=_docs.errors(400, 412, 413, 429),
        tags=["keys"],
    )
    add(
        key_path,
        "DELETE",
        _docs.delete_doc,
        delete_value,
        response_model=_docs.DeleteAnswer,
        responses=_docs.errors(400, 404),
        tags=["keys"],
    )
    add(
        key_path,
        "POST",
        _docs.append_doc,
        append_items,
        response_model=_docs.AppendAnswer,
        responses=_docs.errors(400, 409, 413, 429),
        tags=["lists"],
    )
    add(
        "/memory/{namespace}",
        "GET",
        _docs.keys_doc,
        list_keys,
        response_model=_docs.KeysAnswer,
        responses=_docs.errors(400),
        tags=["namespaces"],
    )
    add(
        "/memory/{namespace}",
        "POST",
        _docs.batch_doc,
        batch,
        response_model=_docs.BatchAnswer,
        responses=_docs.errors(400, 404, 409, 412, 413, 429),
        tags=["namespaces"],
    )
    add(
        "/namespaces/{namespace}",
        "GET",
        _docs.usage_doc,
        usage,
        response_model=_docs.UsageAnswer,
        responses=_docs.errors(400),
        tags=["namespaces"],
    )
    add(
        _wire.HEALTH_PATH,
        "GET",
        _docs.health_doc,
        health,
        response_model=_docs.Health,
        tags=["operations"],
    )

    @app.get(
        _wire.METRICS_PATH,
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
        summary="Prometheus metrics",
    )
    def prometheus() -> Response:
        """Requests by route and status, request latency, store operation latency."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    _install_error_handlers(app)
    app.entry = ObserveMiddleware(
        _Dispatch(fast_routes, app._fastapi), metrics=metrics, access_log=settings.access_log
    )
    return app


def _install_error_handlers(app: FastAPI) -> None:
    def answer(status: int, code: str, detail: str, headers: Any = None) -> Response:
        return Response(
            _wire.error_body(code, detail),
            status_code=status,
            media_type="application/json",
            headers=headers,
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return answer(404, "invalid_request", f"no route {request.url.path[:200]}; see /docs")
        if exc.status_code == 405:
            return answer(
                405,
                "invalid_request",
                f"{request.method} is not allowed on this path; see /docs",
                exc.headers,
            )
        return answer(exc.status_code, "invalid_request", str(exc.detail), exc.headers)

    async def invalid(request: Request, exc: Exception) -> Response:
        return answer(400, "invalid_request", f"invalid request: {exc}")

    async def botwire_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BotWireError)
        status, body, headers = _wire.error_answer(exc)
        if status == 503:
            headers["retry-after"] = str(_wire.UNAVAILABLE_RETRY_AFTER)
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    async def crashed(request: Request, exc: Exception) -> Response:
        return answer(500, ServerError.code, "the server failed; its log has the details")

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(BotWireError, botwire_error)
    app.add_exception_handler(Exception, crashed)


def _version() -> str:
    from botwire import __version__

    return __version__
