"""The ``botwire`` command line (click).

Output is JSON when stdout is not a terminal (for scripts and pipes) and readable
text in a terminal. Every command takes ``--url`` (default ``$BOTWIRE_URL``, else
the embedded SQLite file) and ``--api-key`` (default ``$BOTWIRE_API_KEY``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from botwire._client import Memory
from botwire._codec import encode
from botwire._errors import BotWireError, ValidationError
from botwire._open import default_path, resolve_url
from botwire._types import GetOp, Op, Record, RestoreOp
from botwire._validation import check_timestamp, check_version, validate_key

EXPORT_CHUNK = 500


def _parse_value(text: str, as_string: bool) -> Any:
    """VALUE is JSON if it parses as JSON, else the string itself."""
    if as_string:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _piped() -> bool:
    return not sys.stdout.isatty()


def _emit(data: Any, human: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if _piped() else human)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2)


class _Context:
    def __init__(self, url: str | None, api_key: str | None) -> None:
        self.url = url
        self.api_key = api_key

    def memory(self, namespace: str) -> Memory:
        return Memory(namespace, self.url, api_key=self.api_key)


class _Command(click.Command):
    """A store command: takes ``--url`` and ``--api-key`` after its name too.

    ``botwire get ns k --url URL`` and ``botwire --url URL get ns k`` do the same;
    given in both places, the one after the command wins.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += [
            click.Option(["--url"], help="Store URL (default: $BOTWIRE_URL, else the file)."),
            click.Option(["--api-key"], help="Token for a server that needs one."),
        ]

    def invoke(self, ctx: click.Context) -> Any:
        settings = ctx.find_object(_Context)
        for name in ("url", "api_key"):
            value = ctx.params.pop(name, None)
            if value and settings is not None:
                setattr(settings, name, value)
        return super().invoke(ctx)


class _Group(click.Group):
    """Turns BotWire errors into one readable line and exit status 1."""

    command_class = _Command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BotWireError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", envvar="BOTWIRE_URL", help="Store URL (default: the embedded file).")
@click.option("--api-key", envvar="BOTWIRE_API_KEY", help="Token for a server that needs one.")
@click.version_option(package_name="botwire")
@click.pass_context
def cli(ctx: click.Context, url: str | None, api_key: str | None) -> None:
    """BotWire: durable key-value memory for AI agents.

    With no --url and no BOTWIRE_URL, data lives in an embedded SQLite file
    (see `botwire where`).
    """
    ctx.obj = _Context(url or None, api_key or None)


@cli.command("set")
@click.argument("namespace")
@click.argument("key")
@click.argument("value")
@click.option("--ttl", type=float, help="Seconds until the key expires.")
@click.option("--if-version", type=int, help="Write only if the current version is this.")
@click.option("--string", "as_string", is_flag=True, help="Store VALUE as a string, never JSON.")
@click.pass_obj
def set_(
    obj: _Context,
    namespace: str,
    key: str,
    value: str,
    ttl: float | None,
    if_version: int | None,
    as_string: bool,
) -> None:
    """Store VALUE (parsed as JSON, else a string) under KEY."""
    with obj.memory(namespace) as memory:
        version = memory.set(key, _parse_value(value, as_string), ttl=ttl, if_version=if_version)
    _emit(
        {"namespace": namespace, "key": key, "version": version},
        f"stored {key!r} in {namespace} (version {version})",
    )


@cli.command()
@click.argument("namespace")
@click.argument("key")
@click.pass_obj
def get(obj: _Context, namespace: str, key: str) -> None:
    """Print the value at KEY (exit status 1 if it is missing)."""
    with obj.memory(namespace) as memory:
        item = memory.get_item(key)
    if item is None:
        raise click.ClickException(f"no key {key!r} in namespace {namespace!r}")
    _emit(item.value, _show(item.value))


@cli.command()
@click.argument("namespace")
@click.argument("key")
@click.pass_obj
def delete(obj: _Context, namespace: str, key: str) -> None:
    """Delete KEY (exit status 1 if it was missing)."""
    with obj.memory(namespace) as memory:
        existed = memory.delete(key)
    if not existed:
        raise click.ClickException(f"no key {key!r} in namespace {namespace!r}")
    _emit({"deleted": True, "namespace": namespace, "key": key}, f"deleted {key!r}")


@cli.command("ls")
@click.argument("namespace")
@click.option("--prefix", default="", help="Only keys that start with this.")
@click.option("--limit", type=click.IntRange(min=0), help="At most this many keys.")
@click.pass_obj
def ls(obj: _Context, namespace: str, prefix: str, limit: int | None) -> None:
    """List the keys of NAMESPACE in order."""
    with obj.memory(namespace) as memory:
        keys = memory.list_keys(prefix=prefix, limit=limit)
    _emit(keys, "\n".join(keys) if keys else f"(no keys in {namespace})")


@cli.command()
@click.argument("namespace")
@click.argument("key")
@click.argument("values", nargs=-1, required=True)
@click.option("--string", "as_string", is_flag=True, help="Append VALUES as strings, never JSON.")
@click.pass_obj
def append(
    obj: _Context, namespace: str, key: str, values: tuple[str, ...], as_string: bool
) -> None:
    """Append VALUES (each parsed as JSON, else a string) to the list at KEY."""
    with obj.memory(namespace) as memory:
        length = memory.append(key, *(_parse_value(v, as_string) for v in values))
    _emit({"namespace": namespace, "key": key, "length": length}, f"{key!r} now has {length} items")


def _records(memory: Memory) -> Iterator[Record]:
    cursor: str | None = None
    while True:
        page = memory.store.list_keys(memory.namespace, limit=EXPORT_CHUNK, cursor=cursor)
        ops: list[Op] = [GetOp(k) for k in page.keys]
        if ops:
            for record in memory.store.batch(memory.namespace, ops):
                if isinstance(record, Record):
                    yield record
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@cli.command("export")
@click.argument("namespace")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), help="Default: stdout.")
@click.pass_obj
def export(obj: _Context, namespace: str, output: IO[str] | None) -> None:
    """Write every key of NAMESPACE as JSON Lines (value, version, timestamps, expiry)."""
    stream: IO[str] = output if output is not None else sys.stdout
    count = 0
    with obj.memory(namespace) as memory:
        for r in _records(memory):
            line = {
                "key": r.key,
                "value": json.loads(r.raw),
                "version": r.version,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
                "expires_at": r.expires_at,
            }
            stream.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    if output is not None:
        click.echo(f"exported {count} keys from {namespace}", err=True)


def _restore_op(line: str, number: int) -> RestoreOp:
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        key = validate_key(data["key"])
        version = check_version(data.get("version", 1), "version")
        if version is None or version < 1:
            raise ValueError(f"version must be an integer >= 1, not {version!r}")
        created = check_timestamp(data.get("created_at") or 0, "created_at") or None
        updated = check_timestamp(data.get("updated_at") or 0, "updated_at") or None
        expires = data.get("expires_at")
        if expires is not None:
            expires = check_timestamp(expires, "expires_at")
        return RestoreOp(
            key,
            encode(data["value"]),
            version,
            created or updated or 0.0,
            updated or created or 0.0,
            None if expires is None else float(expires),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(
            f"line {number} is not an export record ({exc}); each line must be a JSON "
            'object with at least "key" and "value"'
        ) from None


@cli.command("import")
@click.argument("namespace")
@click.option("-i", "--input", "input_", type=click.File("r", encoding="utf-8"), default="-")
@click.pass_obj
def import_(obj: _Context, namespace: str, input_: IO[str]) -> None:
    """Read JSON Lines from `botwire export` into NAMESPACE, versions and TTLs kept.

    Keys in the file replace keys of the same name; the file is checked whole
    before anything is written.
    """
    import time

    ops: list[Op] = []
    for number, line in enumerate(input_, 1):
        if line.strip():
            ops.append(_restore_op(line, number))
    now = time.time()
    for i, op in enumerate(ops):
        if isinstance(op, RestoreOp) and not op.created_at:
            ops[i] = RestoreOp(op.key, op.raw, op.version, now, now, op.expires_at)
    with obj.memory(namespace) as memory:
        for start in range(0, len(ops), EXPORT_CHUNK):
            memory.store.batch(memory.namespace, ops[start : start + EXPORT_CHUNK])
    _emit(
        {"namespace": namespace, "imported": len(ops)}, f"imported {len(ops)} keys into {namespace}"
    )


@cli.command()
@click.argument("destination", type=click.Path(dir_okay=False))
@click.pass_obj
def backup(obj: _Context, destination: str) -> None:
    """Copy the SQLite database to DESTINATION while it stays in use.

    For PostgreSQL use pg_dump (see docs/reliability.md); for a server, run this
    on the server's machine with its --db URL, or use `botwire export`.
    """
    from urllib.parse import urlsplit

    from botwire._open import open_store
    from botwire._sqlite import SQLiteStore

    url = resolve_url(obj.url)
    scheme = urlsplit(url).scheme.lower()
    if scheme != "sqlite":
        hint = (
            "use pg_dump, e.g. pg_dump --format=custom --table='botwire_*' -f botwire.dump DBURL"
            if scheme.startswith("postgres")
            else "run it on the server's machine with --url set to the server's --db, "
            "or use `botwire export NAMESPACE` over HTTP"
        )
        raise click.ClickException(f"backup copies SQLite files only; {hint}")
    store = open_store(url)
    assert isinstance(store, SQLiteStore)
    try:
        target = store.backup(destination)
    finally:
        store.close()
    _emit({"source": str(store.path), "backup": str(target)}, f"backed up {store.path} to {target}")


@cli.command()
@click.pass_obj
def where(obj: _Context) -> None:
    """Print where the data lives (the store URL in use)."""
    url = resolve_url(obj.url)
    _emit({"url": url, "default_path": str(default_path())}, url)


# -- botwire mcp: the MCP server lives in botwire.mcp (extra "mcp"), imported on use --


def _mcp_package() -> Any:
    try:
        import botwire.mcp
    except ImportError as exc:  # MissingDependencyError names the extra
        raise click.ClickException(str(exc)) from exc
    return botwire.mcp


@cli.group("mcp", invoke_without_command=True)
@click.option("--url", envvar="BOTWIRE_URL", help="Store URL (default: the embedded file).")
@click.option("--api-key", envvar="BOTWIRE_API_KEY", help="Token for a server that needs one.")
@click.option("--namespace", default="mcp", show_default=True, help="Default namespace.")
@click.option(
    "--allow", multiple=True, help="Other namespace pattern the tools may use (repeatable)."
)
@click.option("--read-only", is_flag=True, help="Offer only the tools that do not write.")
@click.option("--tools", default="kv", show_default=True, help="kv, graph or kv,graph.")
@click.pass_context
def mcp_group(
    ctx: click.Context,
    url: str | None,
    api_key: str | None,
    namespace: str,
    allow: tuple[str, ...],
    read_only: bool,
    tools: str,
) -> None:
    """Serve BotWire memory to an MCP host over stdio (nothing else on stdout).

    Hosts start it themselves; `botwire mcp config` prints their config block.
    """
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    mcp = _mcp_package()
    if sys.stdin.isatty():  # a person, not a host, started it: say what it is (stderr)
        click.echo(
            "botwire mcp speaks MCP on stdin/stdout; MCP hosts start it themselves "
            "(see `botwire mcp config`). Ctrl-C stops it.",
            err=True,
        )
    server = mcp.create_server(
        url or getattr(ctx.obj, "url", None),
        api_key=api_key or getattr(ctx.obj, "api_key", None),
        namespace=namespace,
        allow=allow or None,
        read_only=read_only,
        tools=tools,
    )
    asyncio.run(mcp.run_stdio(server))


@mcp_group.command("config")
@click.argument(
    "host", type=click.Choice(["claude-desktop", "vscode", "cursor"]), default="claude-desktop"
)
@click.option("--url", help="Store URL the host's server uses (default: this machine's).")
@click.argument("args", nargs=-1)
def mcp_config(host: str, url: str | None, args: tuple[str, ...]) -> None:
    """Print HOST's JSON block that launches `botwire mcp` (extra ARGS after --)."""
    config = _mcp_package().host_config(host, url=url, args=list(args))
    click.echo(json.dumps(config, indent=2, ensure_ascii=False))


@mcp_group.command("import-graph")
@click.argument("path", type=click.File("r", encoding="utf-8"))
@click.option("--url", help="Store URL (default: as for `botwire mcp`).")
@click.option("--namespace", help="Namespace of the graph (default: as for `botwire mcp`).")
@click.pass_context
def mcp_import_graph(
    ctx: click.Context, path: IO[str], url: str | None, namespace: str | None
) -> None:
    """Import a @modelcontextprotocol/server-memory JSONL file (PATH) as the graph.

    Entities that exist get only the file's new observations; importing the same
    file twice changes nothing.
    """
    import asyncio

    from botwire import AsyncMemory

    mcp = _mcp_package()
    group = ctx.parent.params if ctx.parent is not None else {}
    url = url or group.get("url") or getattr(ctx.obj, "url", None)
    api_key = group.get("api_key") or getattr(ctx.obj, "api_key", None)
    namespace = namespace or group.get("namespace") or "mcp"

    async def run() -> dict[str, int]:
        memory = AsyncMemory(namespace, url, api_key=api_key)
        try:
            counts: dict[str, int] = await mcp.import_jsonl(memory, path)
            return counts
        finally:
            await memory.aclose()

    counts = asyncio.run(run())
    _emit(
        {"namespace": namespace, **counts},
        f"imported {counts['entities']} entities, {counts['observations']} observations "
        f"and {counts['relations']} relations into {namespace}",
    )


def _register_server_commands() -> None:
    import importlib

    try:
        module = importlib.import_module("botwire.server.cli")
    except ImportError:  # the server's own imports of FastAPI are lazy; this is a safeguard
        return
    cli.add_command(module.serve)
    tokens = importlib.import_module("botwire.server.token_cli")
    cli.add_command(tokens.token)


_register_server_commands()


def main() -> None:
    """Entry point of the ``botwire`` script."""
    cli(prog_name="botwire")
