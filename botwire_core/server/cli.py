"""``botwire serve``: run the reference server.

Every option can also come from a ``BOTWIRE_*`` environment variable (shown in
``botwire serve --help``). FastAPI and uvicorn are imported only when the command
runs, so ``botwire --help`` works without the ``server`` extra.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import Any

import click

from botwire._errors import BotWireError
from botwire.server._settings import Settings

__all__ = ["serve"]

INSTALL_HINT = (
    'the server needs FastAPI and uvicorn; install them with: pip install "botwire[server]"'
)


class _Limit(click.ParamType):  # type: ignore[type-arg]
    """A positive integer, or ``none``/``unlimited`` for no limit."""

    name = "N|unlimited"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower().replace("_", "")
        if text in ("", "none", "unlimited"):
            return None
        if text.isdigit() and int(text) > 0:
            return int(text)
        self.fail(f"{value!r} is not a positive integer or 'unlimited'", param, ctx)


LIMIT = _Limit()


@click.command(context_settings={"show_default": True, "max_content_width": 100})
@click.option(
    "--host",
    default="127.0.0.1",
    envvar="BOTWIRE_HOST",
    show_envvar=True,
    help="Address to listen on (0.0.0.0: every interface).",
)
@click.option(
    "--port",
    default=8080,
    type=click.IntRange(0, 65535),
    envvar="BOTWIRE_PORT",
    show_envvar=True,
    help="TCP port (0: any free port; the chosen one is printed).",
)
@click.option(
    "--db",
    default=None,
    envvar="BOTWIRE_DB",
    show_envvar=True,
    help="Store URL: sqlite:///path.db or postgresql://user@host/db "
    "[default: the embedded SQLite file, $BOTWIRE_HOME/memory.db]",
)
@click.option(
    "--writes-per-day",
    type=LIMIT,
    default=None,
    envvar="BOTWIRE_WRITES_PER_DAY",
    show_envvar=True,
    help="Writes per namespace per UTC day [default: unlimited].",
)
@click.option(
    "--max-value-bytes",
    type=click.IntRange(16),
    default=Settings.max_value_bytes,
    envvar="BOTWIRE_MAX_VALUE_BYTES",
    show_envvar=True,
    help="Largest encoded value (413 above it).",
)
@click.option(
    "--max-namespace-bytes",
    type=LIMIT,
    default=Settings.max_namespace_bytes,
    envvar="BOTWIRE_MAX_NAMESPACE_BYTES",
    show_envvar=True,
    help="Largest namespace ('unlimited' for none; 429 above it).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    envvar="BOTWIRE_ACCESS_LOG",
    show_envvar=True,
    help="Log one JSON line per request to stderr.",
)
@click.option(
    "--insecure-open",
    is_flag=True,
    envvar="BOTWIRE_INSECURE_OPEN",
    show_envvar=True,
    help="Serve a non-loopback address without tokens (only on a network you trust).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    envvar="BOTWIRE_LOG_LEVEL",
    show_envvar=True,
    help="Server log level.",
)
def serve(
    host: str,
    port: int,
    db: str | None,
    writes_per_day: int | None,
    max_value_bytes: int,
    max_namespace_bytes: int | None,
    access_log: bool,
    insecure_open: bool,
    log_level: str,
) -> None:
    """Run the BotWire server (HTTP API, /docs, /healthz, /metrics).

    Point clients at it with BOTWIRE_URL=http://HOST:PORT. Set BOTWIRE_ADMIN_TOKEN
    to require scoped tokens (`botwire token create ...`); a non-loopback --host
    needs tokens or --insecure-open.
    """
    try:
        import uvicorn

        from botwire.server import _require_server

        _require_server()
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
    try:
        settings = Settings(
            host=host,
            port=port,
            db=db or None,
            writes_per_day=writes_per_day,
            max_value_bytes=max_value_bytes,
            max_namespace_bytes=max_namespace_bytes,
            access_log=access_log,
        )
        from botwire.server import create_app
        from botwire.server.auth import TokenAuth, check_exposure

        admin_token = os.environ.get("BOTWIRE_ADMIN_TOKEN") or None
        warning = check_exposure(host, admin_token is not None, insecure_open)
        app: Any = TokenAuth(create_app(settings=settings), settings.db, admin_token)
    except BotWireError as exc:
        raise click.ClickException(str(exc)) from None
    if warning:
        click.echo(warning, err=True)

    _setup_logging(log_level, access_log)
    try:
        sock = _bind(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}"
    store = _shown_store(settings.db)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                click.echo(f"BotWire server listening on {url} (store: {store}; docs: {url}/docs)")
                sys.stdout.flush()

    config = uvicorn.Config(
        app,
        access_log=False,
        log_level=log_level,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = Server(config)
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(3)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _shown_store(db: str | None) -> str:
    if not db:
        from botwire._open import default_path

        return f"sqlite:///{default_path()}"
    from botwire._open import redact

    return redact(db)


def _setup_logging(level: str, access_log: bool) -> None:
    from botwire.server._observe import ACCESS_LOGGER, AccessLogHandler

    logger = logging.getLogger(ACCESS_LOGGER)
    logger.propagate = False
    logger.handlers[:] = []
    if access_log:
        logger.addHandler(AccessLogHandler())
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(logging.WARNING)
