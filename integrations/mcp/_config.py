"""``botwire mcp config``: the JSON a host needs to launch ``botwire mcp``."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from botwire import default_path

__all__ = ["HOSTS", "botwire_command", "host_config"]

HOSTS = ("claude-desktop", "vscode", "cursor")
API_KEY_PLACEHOLDER = "<BotWire token, if the server requires one>"


def botwire_command() -> str:
    """The absolute path of the ``botwire`` executable (hosts do not use your PATH)."""
    beside = Path(sys.executable).parent / ("botwire.exe" if os.name == "nt" else "botwire")
    if beside.exists():
        return str(beside)
    found = shutil.which("botwire")
    return str(Path(found).resolve()) if found else str(beside)


def host_config(
    host: str = "claude-desktop",
    *,
    url: str | None = None,
    args: list[str] | None = None,
    name: str = "botwire",
) -> dict[str, Any]:
    """The config snippet ``host`` reads to launch ``botwire mcp`` over stdio.

    Claude Desktop and Cursor use a top-level ``mcpServers`` object, VS Code
    ``servers`` with ``"type": "stdio"``. The ``env`` block matters: hosts pass the
    server only a few variables of their own, so ``BOTWIRE_URL`` and
    ``BOTWIRE_API_KEY`` must be set here.
    """
    if host not in HOSTS:
        raise ValueError(f"host must be one of {', '.join(HOSTS)}, not {host!r}")
    # spelled out: the host's environment may differ from yours
    url = url or os.environ.get("BOTWIRE_URL") or f"sqlite:///{default_path()}"
    env = {"BOTWIRE_URL": url}
    if url.startswith(("http://", "https://")):
        env["BOTWIRE_API_KEY"] = API_KEY_PLACEHOLDER
    entry = {"command": botwire_command(), "args": ["mcp", *(args or [])], "env": env}
    if host == "vscode":
        return {"servers": {name: {"type": "stdio", **entry}}}
    return {"mcpServers": {name: entry}}
