"""Token authentication for the BotWire server: one pure ASGI middleware.

:class:`TokenAuth` wraps any ASGI app (the reference server from
:func:`botwire.server.create_app`, or your own) and decides, from the method, the
path and the ``Authorization: Bearer <token>`` header alone, whether a request
reaches it::

    from botwire import SQLiteStore
    from botwire.server import create_app
    from botwire.server.auth import TokenAuth

    store = SQLiteStore("/srv/botwire.db")
    app = TokenAuth(create_app(store), store, admin_token=os.environ["BOTWIRE_ADMIN_TOKEN"])

Rules (``docs/security.md`` has the threat model):

* ``/healthz`` is open. Everything else needs a token: 401 without one, or with
  an unknown, revoked or expired one (checked against the store on every
  request, so a revoked token is refused at once by every server process).
* ``/memory/{ns}``, ``/memory/{ns}/{key}`` and ``/namespaces/{ns}``: ``GET``/``HEAD``
  need *read*, anything else *write*, on a namespace the token's patterns cover;
  403 otherwise. A batch (``POST /memory/{ns}``) made only of ``get`` operations
  needs only *read*; one with a set/delete/append needs *write* (and *read* too
  if it also reads). The middleware reads such a body (up to the server's body
  limit) only when the token lacks one of the two rights.
* ``/docs``, ``/openapi.json``, ``/metrics`` and any other path: any valid token,
  or the admin token (they hold no stored data).
* ``/admin/tokens`` (the admin API, served here, not by the app): the admin token
  only. ``POST`` creates a token (shown once), ``GET`` lists tokens (no secrets,
  no hashes), ``DELETE /admin/tokens/{id}`` revokes one. The admin token reaches
  no data: make a scoped token for that.
* Namespaces ``_botwire.*`` are reserved: tokens are stored hashed in
  ``_botwire.tokens`` of the same store (so server processes sharing one
  PostgreSQL share tokens), and no client request ever reaches them, with or
  without tokens enabled.

Requests the middleware answers itself (refusals, the admin API) are logged as
one JSON line on the ``botwire.access`` logger, like the app's own access log;
no token, hash or ``Authorization`` header is ever logged.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from botwire import _wire
from botwire._errors import BotWireError, ValidationError
from botwire._store import AsyncStore, Store
from botwire._tokens import (
    TOKENS_NAMESPACE,
    Access,
    TokenRecord,
    bearer_token,
    is_reserved,
    new_token,
    parse_token,
    same_secret,
    scope_from_request,
)
from botwire._types import GetOp
from botwire._validation import validate_namespace
from botwire.server._requests import header, read_body

if TYPE_CHECKING:  # the ASGI types only: `botwire token` must import without the server extra
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ADMIN_PATH", "MIN_ADMIN_TOKEN_CHARS", "TokenAuth", "check_exposure", "is_loopback"]

ADMIN_PATH = "/admin/tokens"
MIN_ADMIN_TOKEN_CHARS = 16
PUBLIC_PATHS = ("/healthz",)
ACCESS_LOGGER = "botwire.access"  # the same logger as the app's access log

_DEFAULT_BODY_LIMIT = 4 * 1024 * 1024 + 64 * 1024
_ADMIN_BODY_LIMIT = 64 * 1024
_READ_METHODS = frozenset({"GET", "HEAD"})

Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


# -- deciding what a request needs -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """The namespace a request touches and the right it needs (``None``: a batch)."""

    namespace: str
    access: Access | None
    route: str


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :]
    return path


def _raw_route_path(scope: Scope) -> bytes:
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return _route_path(scope).encode("utf-8", "surrogateescape")
    raw = raw.split(b"?", 1)[0]
    root = scope.get("root_path", "").encode("utf-8")
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    return raw


_AMBIGUOUS = (
    "the namespace in the path is ambiguous (a percent-encoded '/' or prefix); "
    "write /memory/<namespace>/<percent-encoded key>"
)


def _target(scope: Scope) -> _Target | None:
    """What a request touches, read the way both the router and the server read it.

    The router matches the *decoded* path; the server's handlers read the
    namespace from the *raw* path. Both readings must name the same namespace,
    else the request is refused, so no encoding trick can make the two disagree.

    Raises:
        ValidationError: the two readings differ, or the namespace is invalid.
    """
    path = _route_path(scope)
    for prefix, kind in (("/memory/", "memory"), ("/namespaces/", "usage")):
        if not path.startswith(prefix):
            continue
        namespace, slash, _ = path[len(prefix) :].partition("/")
        raw = _raw_route_path(scope)
        if not raw.startswith(prefix.encode("ascii")):
            raise ValidationError(_AMBIGUOUS, code="invalid_namespace")
        raw_namespace = raw[len(prefix) :].partition(b"/")[0]
        try:
            from_raw = unquote_to_bytes(raw_namespace).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(_AMBIGUOUS, code="invalid_namespace") from None
        if from_raw != namespace:
            raise ValidationError(_AMBIGUOUS, code="invalid_namespace")
        validate_namespace(namespace)
        method = scope["method"]
        reads = method in _READ_METHODS
        if kind == "usage":
            return _Target(namespace, "read" if reads else "write", "/namespaces/{namespace}")
        if slash:
            return _Target(namespace, "read" if reads else "write", "/memory/{namespace}/{key}")
        if reads:
            return _Target(namespace, "read", "/memory/{namespace}")
        return _Target(namespace, None if method == "POST" else "write", "/memory/{namespace}")
    return None


def batch_needs(body: bytes) -> set[Access]:
    """The rights a batch body needs: *read* for ``get`` ops, *write* for the rest.

    A body that is not a well-formed list of operations needs *write* (the app
    refuses it anyway; this only keeps the check on the safe side).
    """
    try:
        data = _wire.loads(body)
    except ValidationError:
        return {"write"}
    ops = data.get("ops") if isinstance(data, dict) else None
    if not isinstance(ops, list):
        return {"write"}
    needs: set[Access] = set()
    for op in ops:
        needs.add("read" if isinstance(op, dict) and op.get("op") == "get" else "write")
    return needs or {"read"}


# -- exposure rule -----------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``).

    Hostnames other than ``localhost`` count as not loopback: they may resolve
    to anything.
    """
    text = host.strip().strip("[]").lower()
    if text == "localhost" or text.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, tokens_enabled: bool, insecure_open: bool) -> str | None:
    """Refuse to serve a non-loopback address without tokens (DESIGN.md §6).

    Args:
        host: the address the server binds (``127.0.0.1``, ``0.0.0.0``, ``::``...).
        tokens_enabled: whether an admin token is set (``TokenAuth`` is on).
        insecure_open: the operator passed ``--insecure-open``.

    Returns:
        ``None`` when the setup is safe, else a warning to print (open server on a
        non-loopback address, allowed by ``--insecure-open``).

    Raises:
        ValidationError: a non-loopback address without tokens and without
            ``--insecure-open``; the message says how to fix it.
    """
    if tokens_enabled or is_loopback(host):
        return None
    if insecure_open:
        return (
            f"WARNING: serving {host} with no tokens (--insecure-open): anyone who can reach "
            "this address can read and overwrite every namespace"
        )
    raise ValidationError(
        f"refusing to serve {host} without tokens: anyone who can reach it could read and "
        "overwrite every namespace. Set BOTWIRE_ADMIN_TOKEN to turn tokens on (then create "
        "scoped tokens with `botwire token create`), bind 127.0.0.1, or pass --insecure-open "
        "if the network is private"
    )


# -- the token book: token records in the store ------------------------------------


def _open_store(url: str | None) -> Store | AsyncStore:
    from botwire._open import open_serving_store

    return open_serving_store(url)


class _TokenBook:
    """Token records in the reserved namespace of a store (sync or async)."""

    def __init__(self, store: Store | AsyncStore | str | None) -> None:
        self._given = store if not isinstance(store, str) and store is not None else None
        self._url = store if isinstance(store, str) else None
        self._store: Store | AsyncStore | None = self._given

    def _get_store(self) -> Store | AsyncStore:
        if self._store is None:
            self._store = _open_store(self._url)
        return self._store

    async def _call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        store = self._get_store()
        fn = getattr(store, op)
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        if getattr(store, "kind", "") == "sqlite":  # microseconds: no thread hop
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def get(self, token_id: str) -> TokenRecord | None:
        record = await self._call("get", TOKENS_NAMESPACE, token_id)
        if record is None:
            return None
        try:
            return TokenRecord.from_json(record.raw)
        except ValidationError:
            return None

    async def add(self, record: TokenRecord) -> None:
        await self._call("set", TOKENS_NAMESPACE, record.id, record.to_json(), if_version=0)

    async def remove(self, token_id: str) -> bool:
        return bool(await self._call("delete", TOKENS_NAMESPACE, token_id))

    async def all(self) -> list[TokenRecord]:
        page = await self._call("list_keys", TOKENS_NAMESPACE)
        if not page.keys:
            return []
        found = await self._call("batch", TOKENS_NAMESPACE, [GetOp(k) for k in page.keys])
        records = []
        for item in found:
            if item is not None:
                try:
                    records.append(TokenRecord.from_json(item.raw))
                except ValidationError:
                    continue
        return sorted(records, key=lambda r: (r.created_at, r.id))

    async def close(self) -> None:
        store = self._store
        if store is None or self._given is not None:
            return  # a store passed in belongs to the caller
        self._store = None
        if hasattr(store, "aclose"):
            await store.aclose()
        else:
            store.close()


# -- the middleware ----------------------------------------------------------------


def _json(status: int, data: Any, *extra: tuple[bytes, bytes]) -> Answer:
    body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    return status, body, [(b"cache-control", b"no-store"), *extra]


def _error(status: int, code: str, detail: str, *extra: tuple[bytes, bytes]) -> Answer:
    return status, _wire.error_body(code, detail), list(extra)


def _unauthorized(detail: str, invalid: bool = False) -> Answer:
    challenge = b'Bearer realm="botwire"' + (b', error="invalid_token"' if invalid else b"")
    return _error(401, "unauthorized", detail, (b"www-authenticate", challenge))


def _forbidden(detail: str) -> Answer:
    return _error(403, "forbidden", detail)


_NO_TOKEN = (
    "this server needs a token: send Authorization: Bearer <token> "
    "(the client reads it from api_key= or BOTWIRE_API_KEY)"
)
_BAD_TOKEN = "the token is not valid (unknown, revoked or malformed); ask for a new one"


class TokenAuth:
    """An ASGI middleware that requires scoped bearer tokens (see the module docstring).

    Example:
        >>> from botwire import SQLiteStore
        >>> from botwire.server import create_app
        >>> store = SQLiteStore("/tmp/auth-example.db")
        >>> app = TokenAuth(create_app(store), store, admin_token="a-long-random-admin-secret")

    Args:
        app: the ASGI app to protect (any ASGI app).
        store: where token records live: a :class:`~botwire.Store` /
            :class:`~botwire.AsyncStore` (usually the one the app serves; the
            caller closes it), or a store URL opened on first use and closed at
            shutdown (``None``: the embedded SQLite file).
        admin_token: the secret that manages tokens (``BOTWIRE_ADMIN_TOKEN``), at
            least 16 characters. ``None`` turns tokens off: every request passes,
            except those to the reserved ``_botwire.*`` namespaces.
        public_paths: paths served without a token (default: ``/healthz``).
        max_body_bytes: largest batch body read to decide if it only reads
            (default: the app's ``settings.max_body_bytes`` if it has one).

    Raises:
        ValidationError: the admin token is too short or not text.
    """

    def __init__(
        self,
        app: ASGIApp,
        store: Store | AsyncStore | str | None,
        admin_token: str | None,
        *,
        public_paths: Sequence[str] = PUBLIC_PATHS,
        max_body_bytes: int | None = None,
    ) -> None:
        if admin_token is not None:
            if not isinstance(admin_token, str) or len(admin_token.strip()) < MIN_ADMIN_TOKEN_CHARS:
                raise ValidationError(
                    f"the admin token (BOTWIRE_ADMIN_TOKEN) must be at least "
                    f"{MIN_ADMIN_TOKEN_CHARS} characters; make one with: "
                    'python -c "import secrets; print(secrets.token_urlsafe(32))"'
                )
            admin_token = admin_token.strip()
        self.app = app
        self.enabled = admin_token is not None
        self._admin = admin_token
        self._book = _TokenBook(store)
        self._public = frozenset(public_paths)
        if max_body_bytes is None:
            settings = getattr(getattr(app, "state", None), "settings", None)
            max_body_bytes = getattr(settings, "max_body_bytes", _DEFAULT_BODY_LIMIT)
        self._body_limit = int(max_body_bytes)
        self._logger = logging.getLogger(ACCESS_LOGGER)
        self._metrics = getattr(getattr(app, "state", None), "metrics", None)

    # -- ASGI entry ------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self.app(scope, receive, self._watch_shutdown(send))
        elif self.enabled:  # no websocket route exists; do not let one bypass the check
            await send({"type": "websocket.close", "code": 1008})
        else:
            await self.app(scope, receive, send)

    def _watch_shutdown(self, send: Send) -> Send:
        async def watched(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self._book.close()
            await send(message)

        return watched

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path = _route_path(scope)
        if path == ADMIN_PATH or path.startswith(ADMIN_PATH + "/"):
            answer, token_id = await self._admin_api(scope, receive, path)
            await self._answer(scope, send, answer, started, "/admin/tokens", token_id)
            return
        if path in self._public:
            await self.app(scope, receive, send)
            return
        if not self.enabled:
            guarded = self._reserved_guard(scope)
            if guarded is None:
                await self.app(scope, receive, send)
            else:
                await self._refuse(scope, send, guarded, started, None)
            return

        credential = bearer_token(header(scope, b"authorization"))
        if credential is None:
            await self._refuse(scope, send, _unauthorized(_NO_TOKEN), started, None)
            return
        admin = self._admin is not None and same_secret(credential, self._admin)
        try:
            record = None if admin else await self._lookup(credential)
        except BotWireError as exc:  # the token store failed, e.g. PostgreSQL is down
            await self._refuse(scope, send, _store_failed(exc), started, None)
            return
        if not admin and record is None:
            await self._refuse(scope, send, _unauthorized(_BAD_TOKEN, invalid=True), started, None)
            return
        if record is not None and record.expired():
            detail = f"token {record.id} expired at {_when(record.expires_at)}; create a new one"
            await self._refuse(scope, send, _unauthorized(detail, invalid=True), started, record.id)
            return
        token_id = record.id if record is not None else "admin"
        try:
            target = _target(scope)
        except ValidationError as exc:
            status, body, headers = _wire.error_answer(exc)
            answer = status, body, [(k.encode(), v.encode()) for k, v in headers.items()]
            await self._refuse(scope, send, answer, started, token_id)
            return
        if target is None:
            await self.app(scope, receive, send)  # docs, metrics, unknown paths: any token
            return
        if is_reserved(target.namespace):
            answer = _forbidden(_reserved_detail(target.namespace))
        elif record is None:  # the admin token
            answer = _forbidden(
                "the admin token only manages tokens (/admin/tokens); use a scoped token "
                "for data (botwire token create --namespace PATTERN --read --write)"
            )
        else:
            refusal, receive = await self._authorize(scope, receive, record, target)
            if refusal is None:
                scope["botwire.token"] = record.id
                await self.app(scope, receive, send)
                return
            answer = refusal
        await self._answer(scope, send, answer, started, target.route, token_id)

    async def _refuse(
        self, scope: Scope, send: Send, answer: Answer, started: float, token_id: str | None
    ) -> None:
        await self._answer(scope, send, answer, started, "refused", token_id)

    async def _lookup(self, credential: str) -> TokenRecord | None:
        token_id = parse_token(credential)
        if token_id is None:
            return None
        record = await self._book.get(token_id)
        if record is None or not record.matches(credential):
            return None
        return record

    async def _authorize(
        self, scope: Scope, receive: Receive, record: TokenRecord, target: _Target
    ) -> tuple[Answer | None, Receive]:
        """Check the token's scope; a batch's body may be read (and replayed) to do it."""
        namespace = target.namespace
        granted = record.scope
        if target.access is not None:
            if granted.allows(namespace, target.access):
                return None, receive
            return _forbidden(_scope_detail(record, target.access, namespace)), receive
        can_read = granted.allows(namespace, "read")
        can_write = granted.allows(namespace, "write")
        if can_read and can_write:
            return None, receive
        if not (can_read or can_write):
            return _forbidden(_scope_detail(record, "read", namespace)), receive
        try:
            body = await read_body(scope, receive, self._body_limit)
        except ValidationError as exc:
            status, data, _ = _wire.error_answer(exc)
            return (status, data, []), receive
        for access in sorted(batch_needs(body)):
            if not granted.allows(namespace, access):
                detail = _scope_detail(record, access, namespace)
                return _forbidden(detail + " (this batch needs it)"), receive
        return None, _replay(body, receive)

    def _reserved_guard(self, scope: Scope) -> Answer | None:
        try:
            target = _target(scope)
        except ValidationError:
            return None  # the app answers 400 itself
        if target is not None and is_reserved(target.namespace):
            return _forbidden(_reserved_detail(target.namespace))
        return None

    # -- the admin API ---------------------------------------------------------

    async def _admin_api(
        self, scope: Scope, receive: Receive, path: str
    ) -> tuple[Answer, str | None]:
        if self._admin is None:
            return _error(
                404,
                "not_found",
                "token management is off on this server: start it with BOTWIRE_ADMIN_TOKEN set",
            ), None
        credential = bearer_token(header(scope, b"authorization"))
        if credential is None:
            return _unauthorized(
                "the admin API needs the admin token: Authorization: Bearer $BOTWIRE_ADMIN_TOKEN"
            ), None
        if not same_secret(credential, self._admin):
            try:
                record = await self._lookup(credential)
            except BotWireError as exc:
                return _store_failed(exc), None
            if record is not None and not record.expired():
                return _forbidden(
                    "a scoped token cannot manage tokens; use the admin token (BOTWIRE_ADMIN_TOKEN)"
                ), record.id
            return _unauthorized("the admin token is wrong", invalid=True), None
        method = scope["method"]
        token_id = path[len(ADMIN_PATH) + 1 :] if path != ADMIN_PATH else ""
        try:
            if not token_id:
                if method == "POST":
                    return await self._create(scope, receive), "admin"
                if method in _READ_METHODS:
                    now = time.time()
                    tokens = [r.public(now) for r in await self._book.all()]
                    return _json(200, {"tokens": tokens, "count": len(tokens)}), "admin"
                return _not_allowed(method, "GET or POST"), "admin"
            if "/" in token_id or parse_token(f"bw_{token_id}_{'x' * 20}") is None:
                return _error(404, "not_found", f"no token {token_id[:40]!r}"), "admin"
            if method == "DELETE":
                if await self._book.remove(token_id):
                    self._audit("revoked", token_id)
                    return _json(200, {"revoked": True, "id": token_id}), "admin"
                return _error(404, "not_found", f"no token {token_id!r}"), "admin"
            if method in _READ_METHODS:
                record = await self._book.get(token_id)
                if record is None:
                    return _error(404, "not_found", f"no token {token_id!r}"), "admin"
                return _json(200, record.public()), "admin"
            return _not_allowed(method, "GET or DELETE"), "admin"
        except BotWireError as exc:
            return _store_failed(exc), "admin"

    async def _create(self, scope: Scope, receive: Receive) -> Answer:
        data = _wire.object_body(
            await read_body(scope, receive, _ADMIN_BODY_LIMIT),
            '{"namespaces": ["team-a-*"], "read": true, "write": true, "expires": "30d"}',
        )
        made = new_token(**scope_from_request(data))
        await self._book.add(made.record)
        self._audit("created", made.record.id)
        return _json(201, {**made.record.public(), "token": made.token})

    # -- answering -------------------------------------------------------------

    def _audit(self, action: str, token_id: str) -> None:
        self._logger.info(
            json.dumps({"ts": round(time.time(), 3), "event": f"token {action}", "id": token_id})
        )

    async def _answer(
        self,
        scope: Scope,
        send: Send,
        answer: Answer,
        started: float,
        route: str,
        token_id: str | None,
    ) -> None:
        status, body, headers = answer
        start = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            *headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": start})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
        seconds = time.perf_counter() - started
        if self._metrics is not None:
            self._metrics.observe_request(scope["method"], route, status, seconds)
        if self._logger.isEnabledFor(logging.INFO):
            self._log(scope, route, status, seconds, len(body), token_id, body)

    def _log(
        self,
        scope: Scope,
        route: str,
        status: int,
        seconds: float,
        sent: int,
        token_id: str | None,
        body: bytes,
    ) -> None:
        client = scope.get("client")
        raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
        line: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "method": scope["method"],
            "path": raw.split(b"?", 1)[0].decode("ascii", "replace")[:300],
            "route": route,
            "status": status,
            "ms": round(seconds * 1000, 3),
            "bytes": sent,
            "client": f"{client[0]}:{client[1]}" if client else None,
        }
        if token_id is not None:
            line["token"] = token_id  # the public id, never the secret
        if status >= 400:
            try:
                line["code"] = json.loads(body).get("code")
            except (ValueError, AttributeError):
                pass
        self._logger.info(json.dumps(line, separators=(",", ":")))


# -- small helpers -----------------------------------------------------------------


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real stream."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _store_failed(exc: BotWireError) -> Answer:
    """The answer for an error raised while reading or writing token records."""
    status, body, headers = _wire.error_answer(exc)
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if status == 503:
        extra.append((b"retry-after", b"1"))
    return status, body, extra


def _not_allowed(method: str, allowed: str) -> Answer:
    return _error(
        405,
        "invalid_request",
        f"{method} is not allowed on this path; use {allowed}",
        (b"allow", allowed.replace(" or ", ", ").encode("ascii")),
    )


def _scope_detail(record: TokenRecord, access: Access, namespace: str) -> str:
    rights = "/".join(
        r for r, ok in (("read", record.scope.read), ("write", record.scope.write)) if ok
    )
    return (
        f"token {record.id} may not {access} namespace {namespace!r} "
        f"(it may {rights} {', '.join(record.scope.patterns)})"
    )


def _reserved_detail(namespace: str) -> str:
    return f"namespace {namespace!r} is reserved for the server; no client can reach _botwire.*"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
