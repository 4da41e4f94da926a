"""Scoped bearer tokens: the token guard of the pipeline, and the token admin routes.

The rules are in :mod:`botwire.server.auth`. Token records live hashed in the
reserved ``_botwire.tokens`` namespace of the server's own store (one store per
process; server processes sharing one database share tokens), read through the
same runner as every other store call, so never on the event loop.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Literal

from botwire import _wire
from botwire._errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from botwire._tokens import (
    TOKENS_NAMESPACE,
    TokenRecord,
    bearer_token,
    new_token,
    parse_token,
    same_secret,
    scope_from_request,
)
from botwire._types import GetOp
from botwire.server import _shapes
from botwire.server._app import Answer, Call, Guard
from botwire.server._observe import ACCESS_LOGGER
from botwire.server._routes import Route

if TYPE_CHECKING:
    from botwire.server._app import Server

__all__ = ["ADMIN_ROUTES", "TokenBook", "TokenGuard"]

ADMIN_BODY_LIMIT = 64 * 1024

_NO_TOKEN = (
    "this server needs a token: send Authorization: Bearer <token> "
    "(the client reads it from api_key= or BOTWIRE_API_KEY)"
)
_BAD_TOKEN = "the token is not valid (unknown, revoked or malformed); ask for a new one"
_NO_STORE = [(b"cache-control", b"no-store")]


def _unauthorized(detail: str, invalid: bool = False) -> AuthenticationError:
    exc = AuthenticationError(detail)
    challenge = b'Bearer realm="botwire"' + (b', error="invalid_token"' if invalid else b"")
    exc.challenge = challenge  # type: ignore[attr-defined]
    return exc


class TokenBook:
    """Token records in the reserved namespace of the server's store."""

    def __init__(self, server: Server) -> None:
        self._run = server.run

    async def get(self, token_id: str) -> TokenRecord | None:
        record = await self._run("get", TOKENS_NAMESPACE, token_id)
        if record is None:
            return None
        try:
            return TokenRecord.from_json(record.raw)
        except ValidationError:
            return None

    async def add(self, record: TokenRecord) -> None:
        await self._run("set", TOKENS_NAMESPACE, record.id, record.to_json(), if_version=0)

    async def remove(self, token_id: str) -> bool:
        return bool(await self._run("delete", TOKENS_NAMESPACE, token_id))

    async def all(self) -> list[TokenRecord]:
        page = await self._run("list_keys", TOKENS_NAMESPACE)
        if not page.keys:
            return []
        found = await self._run("batch", TOKENS_NAMESPACE, [GetOp(k) for k in page.keys])
        records = []
        for item in found:
            if item is not None:
                try:
                    records.append(TokenRecord.from_json(item.raw))
                except ValidationError:
                    continue
        return sorted(records, key=lambda r: (r.created_at, r.id))


class TokenGuard(Guard):
    """Every request but ``/healthz`` needs a token; data needs a token whose scope covers it."""

    tokens = True

    def __init__(self, admin_token: str) -> None:
        self._admin = admin_token
        self.book: TokenBook | None = None

    def bind(self, server: Server) -> None:
        self.book = TokenBook(server)

    async def _lookup(self, credential: str) -> TokenRecord | None:
        assert self.book is not None
        token_id = parse_token(credential)
        if token_id is None:
            return None
        record = await self.book.get(token_id)
        if record is None or not record.matches(credential):
            return None
        return record

    async def authenticate(self, call: Call) -> None:
        admin_route = call.match.route.access == "admin"
        credential = bearer_token(call.header(b"authorization"))
        if credential is None:
            if admin_route:
                raise _unauthorized(
                    "the admin API needs the admin token: "
                    "Authorization: Bearer $BOTWIRE_ADMIN_TOKEN"
                )
            raise _unauthorized(_NO_TOKEN)
        if same_secret(credential, self._admin):
            call.principal, call.token = "admin", "admin"
            return
        record = await self._lookup(credential)
        if record is None:
            raise _unauthorized(
                "the admin token is wrong" if admin_route else _BAD_TOKEN, invalid=True
            )
        call.token = record.id
        if record.expired():
            raise _unauthorized(
                f"token {record.id} expired at {_when(record.expires_at)}; create a new one",
                invalid=True,
            )
        call.principal = record

    async def authorize(
        self, call: Call, namespace: str, needs: tuple[Literal["read", "write"], ...]
    ) -> None:
        record = call.principal
        if not isinstance(record, TokenRecord):
            raise PermissionDeniedError(
                "the admin token only manages tokens (/admin/tokens); use a scoped token "
                "for data (botwire token create --namespace PATTERN --read --write)"
            )
        for access in needs:
            if not record.scope.allows(namespace, access):
                detail = _scope_detail(record, access, namespace)
                if call.match.route.access == "batch":
                    detail += " (this batch needs it)"
                raise PermissionDeniedError(detail)

    def admin(self, call: Call) -> None:
        if call.principal != "admin":
            raise PermissionDeniedError(
                "a scoped token cannot manage tokens; use the admin token (BOTWIRE_ADMIN_TOKEN)"
            )


# -- the admin routes ---------------------------------------------------------------


def _book(call: Call) -> TokenBook:
    guard = call.server.guard
    assert isinstance(guard, TokenGuard) and guard.book is not None
    return guard.book


def _json(status: int, data: Any) -> Answer:
    return Answer(status, json.dumps(data, separators=(",", ":")).encode("utf-8"), _NO_STORE)


def _audit(action: str, token_id: str) -> None:
    logging.getLogger(ACCESS_LOGGER).info(
        json.dumps({"ts": round(time.time(), 3), "event": f"token {action}", "id": token_id})
    )


def _token_id(call: Call) -> str:
    token_id = call.match.param or ""
    if "/" in token_id or parse_token(f"bw_{token_id}_{'x' * 20}") is None:
        raise NotFoundError(f"no token {token_id[:40]!r}")
    return token_id


async def create_token(call: Call) -> Answer:
    """Create a scoped token; its secret is in this answer only."""
    data = _wire.object_body(
        await call.body(ADMIN_BODY_LIMIT),
        '{"namespaces": ["team-a-*"], "read": true, "write": true, "expires": "30d"}',
    )
    made = new_token(**scope_from_request(data))
    await _book(call).add(made.record)
    _audit("created", made.record.id)
    return _json(201, {**made.record.public(), "token": made.token})


async def list_tokens(call: Call) -> Answer:
    """Every token, without secrets or hashes."""
    now = time.time()
    tokens = [r.public(now) for r in await _book(call).all()]
    return _json(200, {"tokens": tokens, "count": len(tokens)})


async def get_token(call: Call) -> Answer:
    """One token, without its secret or hash."""
    token_id = _token_id(call)
    record = await _book(call).get(token_id)
    if record is None:
        raise NotFoundError(f"no token {token_id!r}")
    return _json(200, record.public())


async def revoke_token(call: Call) -> Answer:
    """Revoke a token: every server process sharing the store refuses it at once."""
    token_id = _token_id(call)
    if not await _book(call).remove(token_id):
        raise NotFoundError(f"no token {token_id!r}")
    _audit("revoked", token_id)
    return _json(200, {"revoked": True, "id": token_id})


_S = _shapes
_ADMIN_ERRORS = (401, 403, 404, 503)

ADMIN_ROUTES: list[Route] = [
    Route("POST", "/admin/tokens", "create_token", create_token, "admin", _S.Shape(
        "Create a token", "tokens", _S.NewToken, _S.TokenBody, (), (400, *_ADMIN_ERRORS),
        status=201)),
    Route("GET", "/admin/tokens", "list_tokens", list_tokens, "admin", _S.Shape(
        "List tokens", "tokens", _S.TokenList, None, (), _ADMIN_ERRORS)),
    Route("GET", "/admin/tokens/{token_id}", "get_token", get_token, "admin", _S.Shape(
        "Show a token", "tokens", _S.TokenInfo, None, (_S.TOKEN_ID,), _ADMIN_ERRORS)),
    Route("DELETE", "/admin/tokens/{token_id}", "revoke_token", revoke_token, "admin", _S.Shape(
        "Revoke a token", "tokens", _S.Revoked, None, (_S.TOKEN_ID,), _ADMIN_ERRORS)),
]  # fmt: skip
"""The token admin API: ordinary routes, in OpenAPI, behind the admin token."""


def _scope_detail(record: TokenRecord, access: str, namespace: str) -> str:
    rights = "/".join(
        r for r, ok in (("read", record.scope.read), ("write", record.scope.write)) if ok
    )
    return (
        f"token {record.id} may not {access} namespace {namespace!r} "
        f"(it may {rights} {', '.join(record.scope.patterns)})"
    )


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
