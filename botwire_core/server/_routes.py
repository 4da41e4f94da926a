"""The route table, and the one parser that turns a request target into a :class:`Match`.

Every later step (authorization, the handler, the access log, the metrics label)
reads the :class:`Match`; nothing parses the path again. The parser reads the
*raw* path (``scope["raw_path"]``), never the decoded one:

* the fixed parts (``/memory/``, ``/namespaces/``, ``/admin/tokens``...) are
  matched byte for byte, so ``/%6Demory/...`` is simply an unknown route (404);
* the namespace is the one segment after the prefix, percent-decoded once,
  strictly as UTF-8, and checked by the namespace rules (``%2F``, ``..`` spelt as
  a segment, an empty segment: each is either a valid namespace served as such,
  or a 400);
* the key is everything after that segment, decoded the same way (keys may
  hold ``/``);
* an absolute-form target (``GET http://host/memory/a/b``) is read from its path;
* ``GET /memory/{ns}/changes``, the segment spelled exactly so, is the change
  feed; the key named ``changes`` is read as ``/memory/{ns}/%63hanges`` (any other
  method on ``/memory/{ns}/changes`` still names the key).

So the namespace authorized is the namespace served, by construction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias
from urllib.parse import unquote_to_bytes

from botwire._errors import BotWireError, NotFoundError, ValidationError
from botwire._validation import validate_key, validate_namespace

if TYPE_CHECKING:
    from starlette.types import Scope

    from botwire.server._shapes import Shape

__all__ = ["Access", "Match", "Route", "RouteTable", "UnknownRoute", "raw_target"]

Access: TypeAlias = Literal["read", "write", "batch", "admin", "open", "token"]
"""What a route needs: a namespace right (``read``/``write``; ``batch``: decided
from the body), the admin token, nothing (``open``), or any valid token."""


@dataclass(frozen=True, slots=True)
class Route:
    """One method on one path template: its handler, the right it needs, its shape."""

    method: str
    template: str
    """The OpenAPI path and the metrics/access-log label, e.g. ``/memory/{namespace}/{key}``."""
    name: str
    handler: Callable[..., Awaitable[Any]]
    access: Access
    shape: Shape
    in_schema: bool = True

    @property
    def doc(self) -> str:
        return (self.handler.__doc__ or "").strip()


@dataclass(frozen=True, slots=True)
class Match:
    """A request's route and the namespace and key it names, parsed once."""

    route: Route
    namespace: str | None = None
    key: str | None = None
    param: str | None = None
    """Another path parameter (the token id of ``/admin/tokens/{token_id}``)."""
    error: BotWireError | None = None
    """Why the namespace or key is invalid (raised once the caller is authenticated)."""


class _NotAllowed(BotWireError):
    status = 405
    code = "invalid_request"

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed


_MEMORY = b"/memory/"
_CHANGES = b"changes"
_FEED = "/memory/{namespace}/changes"
_NAMESPACES = b"/namespaces/"
_ADMIN = b"/admin/tokens"


def raw_target(scope: Scope) -> bytes:
    """The raw path of a request, without query, ``root_path`` or absolute-form authority."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        raw = scope["path"].encode("utf-8", "surrogateescape")
    raw = raw.split(b"?", 1)[0]
    if raw[:7].lower() == b"http://" or raw[:8].lower() == b"https://":
        after = raw.partition(b"://")[2]
        raw = b"/" + after.partition(b"/")[2]
    root = scope.get("root_path", "").encode("utf-8", "surrogateescape")
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    return raw


def _decode(raw: bytes, what: str, code: str) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(
            f"the {what} in the path is not valid UTF-8 once percent-decoded; "
            "percent-encode the UTF-8 bytes of the text",
            code=code,
        ) from None


class RouteTable:
    """Every route the server answers, found by one parse of the raw path."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes: list[Route] = []
        self._by_template: dict[str, dict[str, Route]] = {}
        for route in routes:
            self.add(route)

    def add(self, route: Route) -> None:
        """Add a route (a later wave's door: the change feed, MCP, the UI)."""
        self.routes.append(route)
        methods = self._by_template.setdefault(route.template, {})
        methods[route.method] = route
        if route.method == "GET":  # HEAD on every GET route, added later ones too
            methods.setdefault("HEAD", route)

    def match(self, method: str, raw: bytes) -> Match:
        """The route for ``method`` on the raw path ``raw``.

        Raises:
            NotFoundError: no route has this path (code ``not_found``).
            BotWireError: the path exists but not for this method (405).
        """
        namespace: str | None = None
        key: str | None = None
        param: str | None = None
        error: BotWireError | None = None
        if raw.startswith(_MEMORY):
            ns_raw, slash, key_raw = raw[len(_MEMORY) :].partition(b"/")
            template = "/memory/{namespace}/{key}" if slash else "/memory/{namespace}"
            feed = key_raw == _CHANGES and method in self._by_template.get(_FEED, ())
            if feed:
                template = _FEED
            try:
                namespace = validate_namespace(_decode(ns_raw, "namespace", "invalid_namespace"))
                if slash and not feed:
                    key = validate_key(_decode(key_raw, "key", "invalid_key"))
            except ValidationError as exc:
                error = exc
        elif raw.startswith(_NAMESPACES):
            ns_raw = raw[len(_NAMESPACES) :]
            if b"/" in ns_raw:
                raise _unknown(raw)
            template = "/namespaces/{namespace}"
            try:
                namespace = validate_namespace(_decode(ns_raw, "namespace", "invalid_namespace"))
            except ValidationError as exc:
                error = exc
        elif raw == _ADMIN:
            template = "/admin/tokens"
        elif raw.startswith(_ADMIN + b"/"):
            template = "/admin/tokens/{token_id}"
            token_raw = raw[len(_ADMIN) + 1 :]
            param = token_raw.decode("ascii", "replace")
        else:
            try:
                template = raw.decode("ascii")
            except UnicodeDecodeError:
                raise _unknown(raw) from None
        methods = self._by_template.get(template)
        if methods is None:
            raise _unknown(raw)
        route = methods.get(method)
        if route is None:
            allowed = sorted(methods)
            raise _NotAllowed(
                f"{method} is not allowed on this path; use {' or '.join(allowed)} (see /docs)",
                allowed,
            )
        return Match(route, namespace, key, param, error)


class UnknownRoute(NotFoundError):
    """No route has this path: 404 ``not_found`` with ``"route": null`` in the body,
    which tells a client a wrong base URL from a missing key."""


def _unknown(raw: bytes) -> UnknownRoute:
    shown = raw.decode("ascii", "replace")[:200]
    return UnknownRoute(f"no route {shown}; see /docs for the API")


def allowed_methods(exc: BaseException) -> list[str] | None:
    """The methods a 405 names (for its ``Allow`` header)."""
    return exc.allowed if isinstance(exc, _NotAllowed) else None
