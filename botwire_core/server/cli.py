"""``botwire serve``: run the reference server.

Every option can also come from a ``BOTWIRE_*`` environment variable (shown in
``botwire serve --help``): the flags typed are passed to :class:`Settings`, which
reads the variables (one mechanism, pydantic-settings). FastAPI, uvicorn and
pydantic are imported only when the command runs, so ``botwire --help`` works
without the ``server`` extra.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import sys
from typing import Any

import click

from botwire._codec import DEFAULT_MAX_VALUE_BYTES
from botwire._errors import BotWireError

DEFAULT_NAMESPACE_BYTES = 50 * 1000 * 1000  # Settings' default (kept here: no pydantic import)
GRACE_SECONDS = 5
"""Seconds SIGTERM waits for requests in flight before the server stops anyway."""

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


def _env(name: str) -> str:
    return f"[env: BOTWIRE_{name.upper()}]"


@click.command(context_settings={"max_content_width": 100})
@click.option(
    "--host",
    default=None,
    help=f"Address to listen on (0.0.0.0: every interface) [default: 127.0.0.1] {_env('host')}",
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help=f"TCP port (0: any free port; the chosen one is printed) [default: 8080] {_env('port')}",
)
@click.option(
    "--db",
    default=None,
    help="Store URL: sqlite:///path.db or "
    "postgresql://user@host/db [default: the embedded SQLite file, "
    f"$BOTWIRE_HOME/memory.db] {_env('db')}",
)
@click.option(
    "--writes-per-day",
    type=LIMIT,
    default=None,
    help=f"Writes per namespace per UTC day [default: unlimited] {_env('writes_per_day')}",
)
@click.option(
    "--max-value-bytes",
    type=click.IntRange(16),
    default=None,
    help=f"Largest encoded value (413 above it) [default: {DEFAULT_MAX_VALUE_BYTES}] "
    f"{_env('max_value_bytes')}",
)
@click.option(
    "--max-namespace-bytes",
    type=LIMIT,
    default=None,
    help="Largest namespace ('unlimited' for none; 429 above it) "
    f"[default: {DEFAULT_NAMESPACE_BYTES}] {_env('max_namespace_bytes')}",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help=f"Log one JSON line per request to stderr [default: on] {_env('access_log')}",
)
@click.option(
    "--insecure-open",
    is_flag=True,
    default=None,
    help="Serve a non-loopback address without tokens (only on a network you trust) "
    f"{_env('insecure_open')}",
)
@click.option(
    "--allowed-hosts",
    default=None,
    help="Without tokens: Host names served besides loopback ones, comma-separated "
    f"('*': any) [default: loopback only] {_env('allowed_hosts')}",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Proxy addresses whose X-Forwarded-* headers are trusted, comma-separated "
    f"[default: none] {_env('forwarded_allow_ips')}",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds a request waits for a lock another process holds, then 503 "
    f"[default: 60] {_env('lock_timeout')}",
)
@click.option(
    "--ui/--no-ui",
    default=None,
    help="Serve the web UI at /ui [default: on for a loopback address or with tokens] "
    f"{_env('ui')}",
)
@click.option(
    "--mcp/--no-mcp",
    default=None,
    help="Serve MCP (streamable HTTP) at /mcp [default: on when botwire[mcp] is "
    f"installed] {_env('mcp')}",
)
@click.option(
    "--mcp-tools",
    default=None,
    help="Tool sets /mcp serves: kv, graph (the knowledge graph, in namespace mcp) or "
    f"kv,graph [default: kv] {_env('mcp_tools')}",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help=f"Server log level [default: info] {_env('log_level')}",
)
def serve(**flags: Any) -> None:
    """Run the BotWire server (HTTP API, /ui, /docs, /healthz, /metrics).

    Point clients at it with BOTWIRE_URL=http://HOST:PORT. Set BOTWIRE_ADMIN_TOKEN
    to require scoped tokens (`botwire token create ...`); a non-loopback --host
    needs tokens or --insecure-open. Every option can also be set by the
    BOTWIRE_* variable shown beside it; a flag wins over its variable.
    """
    try:
        import uvicorn

        from botwire.server import _require_server

        _require_server()
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
    from botwire.server._settings import Settings

    try:
        settings = Settings.from_env(**flags)
        if settings.allowed_hosts is None:  # the safe default of an open server: loopback
            settings = settings.replace(allowed_hosts="")
        from botwire.server import create_app
        from botwire.server.auth import check_exposure

        warning = check_exposure(
            settings.host, settings.admin_token is not None, settings.insecure_open
        )
        _check_store(settings.db)
        app: Any = create_app(settings=settings)
    except BotWireError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    if warning:
        click.echo(warning, err=True)

    host, port = settings.host, settings.port
    _setup_logging(settings.log_level, settings.access_log)
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
            # What startup built (FastAPI, pydantic's schemas, MCP) lives as long as
            # the process: out of the collector's reach, a full collection no longer
            # walks it. Each one stalled every request and event stream ~60 ms.
            gc.collect()
            gc.freeze()
            if self.started:
                ui = f"; ui: {url}/ui" if settings.ui_enabled else ""
                click.echo(
                    f"BotWire server listening on {url} (store: {store}; docs: {url}/docs{ui})"
                )
                click.echo(f"Point agents at it: BOTWIRE_URL={url}   (Ctrl-C stops it)")
                sys.stdout.flush()

    config = uvicorn.Config(
        app,
        access_log=False,
        log_level=settings.log_level,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACE_SECONDS,
        http=_slow_client_protocol(settings.header_timeout),
        timeout_keep_alive=settings.idle_timeout,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
    )
    server = Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled: a normal stop
        pass
    if not server.started:
        raise SystemExit(3)


def _check_store(db: str | None) -> None:
    """Open the store and read from it once, before listening: a server that cannot
    reach its store exits with one line naming the ``--db`` given, never listens.

    Raises:
        BotWireError: the store cannot be opened or reached (the sentence names ``db``).
    """
    from botwire._open import open_serving_store, redact
    from botwire.server._app import READY_NAMESPACE
    from botwire.server._runner import POSTGRES_SERVE_TIMEOUT

    shown = _shown_store(db)
    try:
        store: Any = open_serving_store(db, timeout=POSTGRES_SERVE_TIMEOUT)
    except BotWireError as exc:
        raise type(exc)(f"cannot open --db {shown}: {redact(str(exc))}") from None
    try:
        if getattr(store, "kind", "") == "sqlite":
            store.usage(READY_NAMESPACE)
            store.close()
            return
        import asyncio

        async def reach() -> None:
            try:
                await store.usage(READY_NAMESPACE)
            finally:
                await store.aclose()

        asyncio.run(reach())
    except BotWireError as exc:
        raise type(exc)(f"cannot reach the store --db {shown}: {redact(str(exc))}") from None


def _slow_client_protocol(header_timeout: float) -> Any:
    """uvicorn's h11 protocol with two clocks uvicorn lacks.

    - The keep-alive timeout is armed from the connection's start: uvicorn starts
      it only after an answer, so a connection that never sends a request would
      stay open for ever; here it is closed after ``idle_timeout`` like one kept
      alive between requests.
    - A request's line and headers must all arrive within ``header_timeout`` of
      their first byte: uvicorn drops the idle clock at the first byte, so headers
      trickled a byte at a time would hold the connection for ever.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class SlowClientH11(H11Protocol):
        header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def data_received(self, data: bytes) -> None:
            if self.header_deadline is None and self.conn.their_state is h11.IDLE:
                self.header_deadline = self.loop.call_later(header_timeout, self._headers_late)
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the headers are in: a request began
                self._stop_header_clock()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_clock()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._stop_header_clock()  # the next request's clock starts at its first byte

        def _stop_header_clock(self) -> None:
            if self.header_deadline is not None:
                self.header_deadline.cancel()
                self.header_deadline = None

        def _headers_late(self) -> None:
            self.header_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.logger.info("closed a connection whose headers took over %ss", header_timeout)
                self.transport.close()

    return SlowClientH11


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
