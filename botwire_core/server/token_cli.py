"""``botwire token``: create, list and revoke scoped tokens on a running server.

The commands talk to the server's admin API (``/admin/tokens``) with the admin
token, so they work the same against one process or a fleet sharing PostgreSQL::

    export BOTWIRE_URL=http://memory.internal:8080 BOTWIRE_ADMIN_TOKEN=...
    botwire token create --namespace 'team-a-*' --read --write --expires 30d
    botwire token list
    botwire token revoke 3f9c2a1b7d4e

Output is JSON when stdout is not a terminal; ``create --quiet`` prints only the
token (``export BOTWIRE_API_KEY=$(botwire token create -n 'team-a-*' --read -q)``).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any
from urllib.parse import quote, urlsplit

import click
import httpx

from botwire import _wire
from botwire._errors import BotWireError
from botwire._open import redact
from botwire._tokens import format_duration, parse_expiry, validate_pattern
from botwire.server.auth import ADMIN_PATH

__all__ = ["token"]


class _Admin:
    """The admin API of one server."""

    def __init__(self, url: str | None, admin_token: str | None) -> None:
        if not url:
            raise click.UsageError("give the server's URL with --url or BOTWIRE_URL")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise click.UsageError(
                f"tokens live on a BotWire server: --url must be http(s)://host:port, "
                f"not {redact(url)[:80]!r}"
            )
        if not admin_token:
            raise click.UsageError(
                "give the admin token with --admin-token or BOTWIRE_ADMIN_TOKEN "
                "(the one the server was started with)"
            )
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.headers = {"authorization": f"Bearer {admin_token}", "accept": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = httpx.request(
                method, self.base + path, json=body, headers=self.headers, timeout=10.0
            )
        except httpx.HTTPError as exc:
            raise click.ClickException(
                f"could not reach {redact(self.base)}: {type(exc).__name__}: {redact(str(exc))}"
            ) from None
        if response.status_code >= 300:
            error = _wire.error_from_answer(
                response.status_code, response.headers, response.content
            )
            raise click.ClickException(f"{type(error).__name__}: {error}")
        return response.json()


def _piped() -> bool:
    return not sys.stdout.isatty()


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def _rights(data: dict[str, Any]) -> str:
    return "/".join(r for r in ("read", "write") if data.get(r)) or "-"


@click.group("token", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="BOTWIRE_URL", help="The server, e.g. http://127.0.0.1:8080.")
@click.option(
    "--admin-token",
    envvar="BOTWIRE_ADMIN_TOKEN",
    help="The server's admin token [env: BOTWIRE_ADMIN_TOKEN].",
)
@click.pass_context
def token(ctx: click.Context, url: str | None, admin_token: str | None) -> None:
    """Create, list and revoke scoped access tokens on a BotWire server."""
    parent = getattr(ctx.parent, "obj", None) if ctx.parent is not None else None
    url = url or getattr(parent, "url", None)
    ctx.obj = (url, admin_token)


def _admin(ctx: click.Context) -> _Admin:
    url, admin_token = ctx.obj
    return _Admin(url, admin_token)


def _check_patterns(values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(validate_pattern(v) for v in values)
    except BotWireError as exc:
        raise click.BadParameter(str(exc), param_hint="--namespace") from None


def _check_expires(value: str | None) -> str | None:
    try:
        seconds = parse_expiry(value)
    except BotWireError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from None
    return None if seconds is None else format_duration(seconds)


@token.command()
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    required=True,
    help="Namespace pattern the token reaches ('team-a-*', 'agent-?'); repeat for more.",
)
@click.option("--read", is_flag=True, help="Allow reading values, listing keys, usage.")
@click.option("--write", is_flag=True, help="Allow set, delete and append.")
@click.option("--expires", help="Lifetime: 30d, 12h, 15m, 2w or seconds [default: never].")
@click.option("--name", help="A label: who or what the token is for.")
@click.option(
    "--writes-per-day",
    type=click.IntRange(1, 2**31),
    default=None,
    help="Writes this token may make per UTC day, over all its namespaces [default: no limit].",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the token.")
@click.pass_context
def create(
    ctx: click.Context,
    namespaces: tuple[str, ...],
    read: bool,
    write: bool,
    expires: str | None,
    name: str | None,
    writes_per_day: int | None,
    quiet: bool,
) -> None:
    """Create a token; it is printed once and never shown again."""
    if not (read or write):
        raise click.UsageError("give --read, --write or both")
    body: dict[str, Any] = {
        "namespaces": list(_check_patterns(namespaces)),
        "read": read,
        "write": write,
        "expires": _check_expires(expires),
    }
    if name:
        body["name"] = name
    if writes_per_day is not None:
        body["writes_per_day"] = writes_per_day
    made = _admin(ctx).call("POST", ADMIN_PATH, body)
    if quiet:
        click.echo(made["token"])
    elif _piped():
        click.echo(json.dumps(made))
    else:
        click.echo(
            f"Created token {made['id']}: {_rights(made)} on {', '.join(made['namespaces'])}, "
            f"expires {_when(made.get('expires_at'))}.\n"
            f"{made['token']}\n"
            "Store it now (e.g. as BOTWIRE_API_KEY): it is not shown again."
        )


@token.command("list")
@click.pass_context
def list_tokens(ctx: click.Context) -> None:
    """List tokens: id, rights, patterns, expiry (never the secrets)."""
    tokens = _admin(ctx).call("GET", ADMIN_PATH)["tokens"]
    if _piped():
        click.echo(json.dumps(tokens))
        return
    if not tokens:
        click.echo("no tokens")
        return
    for t in tokens:
        state = " (expired)" if t.get("expired") else ""
        label = f"  {t['name']}" if t.get("name") else ""
        click.echo(
            f"{t['id']}  {_rights(t):10}  {', '.join(t['namespaces']):30}  "
            f"expires {_when(t.get('expires_at'))}{state}{label}"
        )


@token.command()
@click.argument("token_id", metavar="ID")
@click.pass_context
def revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token by its ID (every server sharing the store refuses it at once)."""
    done = _admin(ctx).call("DELETE", f"{ADMIN_PATH}/{quote(token_id, safe='')}")
    if _piped():
        click.echo(json.dumps(done))
    else:
        click.echo(f"revoked {done['id']}")
