"""Token authentication for the BotWire server: the rules, and how to turn it on.

Tokens are one setting of the server (``BOTWIRE_ADMIN_TOKEN`` / ``Settings.admin_token``);
the check itself is the pipeline's one authorization step
(:class:`botwire.server._guard.TokenGuard`), made on the route match, so the
namespace checked is the namespace served::

    from botwire import SQLiteStore
    from botwire.server import Settings, create_app

    store = SQLiteStore("/srv/botwire.db")
    app = create_app(store, Settings(admin_token="a-long-random-admin-secret"))

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
* ``/docs``, ``/openapi.json``, ``/metrics``: any valid token, or the admin token
  (they hold no stored data). Unknown paths answer 404.
* ``/admin/tokens`` (the admin API, ordinary routes of the route table, in
  OpenAPI): the admin token only. ``POST`` creates a token (shown once), ``GET``
  lists tokens (no secrets, no hashes), ``DELETE /admin/tokens/{id}`` revokes
  one. The admin token reaches no data: make a scoped token for that.
* Namespaces ``_botwire.*`` are reserved: tokens are stored hashed in
  ``_botwire.tokens`` of the same store (so server processes sharing one
  PostgreSQL share tokens), and no client request ever reaches them, with or
  without tokens enabled.

Every request, refused or not, is logged as one JSON line on the
``botwire.access`` logger with the token's public id; no secret, hash or
``Authorization`` header is ever logged.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from botwire._errors import PermissionDeniedError, ValidationError

__all__ = [
    "ADMIN_PATH",
    "MIN_ADMIN_TOKEN_CHARS",
    "TokenAuth",
    "check_exposure",
    "is_loopback",
]

ADMIN_PATH = "/admin/tokens"
MIN_ADMIN_TOKEN_CHARS = 16
ACCESS_LOGGER = "botwire.access"  # the same logger as the app's access log


# -- browser rules (an open server reachable from a web page) ----------------------

_CHANGES = frozenset({"PUT", "POST", "DELETE", "PATCH"})


def _host_name(value: str) -> str:
    """The host of a ``Host`` header value (``[::1]:8080`` -> ``::1``)."""
    text = value.strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def check_browser_rules(
    method: str,
    host: str | None,
    origin: str | None,
    content_type: str | None,
    allowed_hosts: frozenset[str] | None,
) -> None:
    """Refuse what a web page could make a browser send to a server without tokens.

    A server with tokens needs none of this: a page cannot attach a bearer token.
    Without tokens (the default, on loopback) a page could reach the server by DNS
    rebinding (a hostile name resolved to 127.0.0.1) or by a "simple" cross-site
    ``POST``. So:

    * ``Host`` must be a loopback name or address, or one of ``allowed_hosts``
      (``--allowed-hosts``; ``None``: any ``Host``, as ``--allowed-hosts '*'``);
    * a request that changes data needs ``Content-Type: application/json`` (a
      page cannot send it cross-site without a preflight, which this server
      refuses) and an ``Origin`` that is absent or names this same host.

    Raises:
        PermissionDeniedError: ``forbidden``, with the setting that allows it.
    """
    if allowed_hosts is not None:
        name = _host_name(host or "")
        if not (name and (is_loopback(name) or name in allowed_hosts)):
            raise PermissionDeniedError(
                f"Host {str(host)[:80]!r} is not a name this server answers to; it "
                "answers to loopback names and addresses and to --allowed-hosts "
                "(BOTWIRE_ALLOWED_HOSTS)"
            )
    if method not in _CHANGES:
        return
    if origin is not None and origin.strip().lower() != "null":
        served = (host or "").strip().lower()
        if origin.strip().lower().partition("://")[2].rstrip("/") != served:
            raise PermissionDeniedError(
                f"a request from the web page of {origin[:80]!r} may not change data on "
                "this server (its Origin is not this server's); without tokens only "
                "same-origin pages and non-browser clients may write"
            )
    elif origin is not None:
        raise PermissionDeniedError("a request from an opaque (null) Origin may not change data")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if method != "DELETE" and media != "application/json":
        raise ValidationError(
            f"a request that changes data needs Content-Type: application/json, not "
            f"{(content_type or 'none')[:60]!r}",
            code="invalid_request",
        )


def allowed_host_set(setting: str | None, insecure_open: bool) -> frozenset[str] | None:
    """The ``Host`` names allowed besides loopback ones, or ``None`` for any.

    ``None`` (an app built in Python, whose ASGI server the embedder picks) and
    ``*`` allow any; ``""`` (``botwire serve``'s default) allows loopback only,
    unless the operator exposed the open server with ``--insecure-open``.
    """
    if setting is None:
        return None
    names = frozenset(n.strip().lower() for n in setting.split(",") if n.strip())
    if "*" in names or (insecure_open and not names):
        return None
    return names


# -- exposure rule -----------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``).

    Hostnames other than ``localhost`` count as not loopback: they may resolve
    to anything.
    """
    text = host.strip().strip("[]").lower()
    if text == "localhost":  # not *.localhost: a name someone else may answer for
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, tokens_enabled: bool, insecure_open: bool) -> str | None:
    """Refuse to serve a non-loopback address without tokens (DESIGN.md §6).

    Args:
        host: the address the server binds (``127.0.0.1``, ``0.0.0.0``, ``::``...).
        tokens_enabled: whether an admin token is set (tokens are on).
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


# -- turning tokens on ----------------------------------------------------------------


def TokenAuth(  # noqa: N802 - kept under its old name, which was a class
    app: Any, store: Any = None, admin_token: str | None = None, **_: Any
) -> Any:
    """Turn tokens on for a server from :func:`~botwire.server.create_app`.

    Kept for code written against the 0.3 middleware; new code passes
    ``Settings(admin_token=...)`` to ``create_app``. Token records live in the
    server's own store, whatever ``store`` is given.

    Returns:
        ``app``, now requiring tokens (``admin_token=None``: unchanged).
    """
    from botwire.server._app import Server

    if not isinstance(app, Server):
        raise ValidationError("TokenAuth guards a server built by botwire.server.create_app")
    if admin_token is not None:
        app.use_tokens(admin_token)
    return app
