"""Fixtures of the MCP server's tests, written once for mcp 1.x and 2.x.

``connect(server)`` opens the SDK's own in-process client: 2.x's ``mcp.Client``
(in its direct "auto" mode and over the "legacy" JSON-RPC handshake), 1.x's
``create_connected_server_and_client_session``. ``call`` reads a tool result the
same way on both (``model_dump(by_alias=True)``: 2.x attributes are snake_case).
"""

from __future__ import annotations

import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from botwire.mcp import MCP_MAJOR, create_server  # noqa: E402

Opener = Callable[..., Any]
"""``open_tools``: ``async with open_tools(**create_server options) as tools``."""

MODES = ["auto", "legacy"] if MCP_MAJOR >= 2 else ["session"]


@asynccontextmanager
async def connect(server: Any, mode: str = MODES[0]) -> AsyncIterator[Any]:
    """An initialized client of ``server``, in process."""
    if MCP_MAJOR >= 2:
        from mcp import Client

        async with Client(server, mode=mode) as client:
            yield client
    else:
        from mcp.shared.memory import create_connected_server_and_client_session

        async with create_connected_server_and_client_session(server) as session:
            yield session


@asynccontextmanager
async def connect_stdio(args: list[str], env: dict[str, str]) -> AsyncIterator[Any]:
    """An initialized client of ``botwire ARGS`` launched as a subprocess."""
    from mcp import StdioServerParameters

    params = StdioServerParameters(command=botwire_command(), args=args, env=env)
    if MCP_MAJOR >= 2:
        from mcp import Client

        async with Client(params) as client:
            yield client
    else:
        from mcp import ClientSession, stdio_client

        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


ADMIN = "adm-" + secrets.token_urlsafe(24)
"""The admin token of the test servers started with tokens on."""


def token(url: str, *args: str) -> str:
    """A new token of the server at ``url`` (``botwire token create -q ARGS``)."""
    from click.testing import CliRunner

    from botwire._cli import cli

    made = CliRunner().invoke(
        cli, ["token", "--url", url, "--admin-token", ADMIN, "create", "-q", *args]
    )
    assert made.exit_code == 0, made.output
    return made.output.strip()


def botwire_command() -> str:
    """The ``botwire`` script of the running interpreter's environment."""
    return str(Path(sys.executable).parent / "botwire")


def unpack(result: Any) -> tuple[bool, Any]:
    """``(is_error, structured content, else the text)`` of a tool call result."""
    data = result.model_dump(by_alias=True)
    if data.get("structuredContent") is not None:
        return data["isError"], data["structuredContent"]
    return data["isError"], "".join(c.get("text", "") for c in data["content"])


class Tools:
    """Call tools by name: ``await tools.memory_get(key="a")`` → structured result."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def raw(self, name: str, **arguments: Any) -> tuple[bool, Any]:
        return unpack(await self.client.call_tool(name, arguments))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        async def call(**arguments: Any) -> Any:
            is_error, content = await self.raw(name, **arguments)
            assert not is_error, content
            return content

        return call

    async def error(self, name: str, **arguments: Any) -> str:
        """Call a tool that must fail; return the text the model sees."""
        is_error, content = await self.raw(name, **arguments)
        assert is_error, content
        assert isinstance(content, str)
        return content


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mcp.db'}"


@pytest.fixture
def namespace() -> str:
    return f"mcp-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_tools(url: str, namespace: str, mode: str) -> Opener:
    """``async with open_tools(**create_server options) as tools: ...``."""

    @asynccontextmanager
    async def opener(**options: Any) -> AsyncIterator[Tools]:
        options.setdefault("namespace", namespace)
        server = create_server(options.pop("url", url), **options)
        try:
            async with connect(server, mode) as client:
                yield Tools(client)
        finally:
            await server.botwire_namespaces.aclose()

    return opener
