"""docs/mcp.md: the Python snippets print what the page shows, the JSON parses, and
every ``botwire mcp`` line uses options the command has."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from botwire._cli import cli
from botwire.mcp import GRAPH_TOOLS, KV_TOOLS

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
BLOCKS = [(m.group(1), m.group(2)) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def test_python_snippets_print_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pairs = [
        (code, BLOCKS[i + 1][1] if i + 1 < len(BLOCKS) and BLOCKS[i + 1][0] == "text" else None)
        for i, (lang, code) in enumerate(BLOCKS)
        if lang == "python"
    ]
    assert len(pairs) == 2 and all(expected for _, expected in pairs)
    for code, expected in pairs:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(DOC), "exec"), {"__name__": "docs"})
        assert out.getvalue() == expected


def test_json_blocks_parse_and_match_the_config_command() -> None:
    parsed = [json.loads(code) for lang, code in BLOCKS if lang == "json"]
    entries = [
        next(iter((config.get("mcpServers") or config["servers"]).values())) for config in parsed
    ]
    configs = [c for c, entry in zip(parsed, entries, strict=True) if "url" not in entry]
    assert len(configs) == 3
    for config in configs:
        [entry] = (config.get("mcpServers") or config["servers"]).values()
        assert entry["args"][0] == "mcp" and Path(entry["command"]).is_absolute()
    remote = [entry for entry in entries if "url" in entry]  # /mcp on botwire serve
    assert len(remote) == 2
    for entry in remote:
        assert entry["url"].endswith("/mcp")
        assert entry["headers"]["Authorization"].startswith("Bearer ")
    printed = CliRunner().invoke(cli, ["mcp", "config", "vscode", "--url", "http://h:1"])
    assert set(json.loads(printed.output)["servers"]["botwire"]) == set(
        configs[1]["servers"]["botwire"]
    )


def test_mcp_command_lines_use_real_options() -> None:
    lines = [
        line.split("  #")[0].strip()
        for lang, code in BLOCKS
        if lang == "bash"
        for line in code.splitlines()
        if line.startswith("botwire mcp")
    ]
    assert len(lines) >= 6
    group = cli.get_command(None, "mcp")  # type: ignore[arg-type]
    assert isinstance(group, click.Group)
    for line in lines:
        words = shlex.split(line)[2:]
        command: click.Command = group
        if words and not words[0].startswith("-"):
            sub = group.get_command(None, words[0])  # type: ignore[arg-type]
            assert sub is not None, line
            command, words = sub, words[1:]
        known = {opt for param in command.params for opt in param.opts}
        for word in words:
            if word == "--":
                break
            assert not word.startswith("-") or word in known, (line, word)


def test_every_tool_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in KV_TOOLS + GRAPH_TOOLS:
        assert f"`{name}`" in text, name
