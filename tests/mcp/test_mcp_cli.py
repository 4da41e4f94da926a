"""``botwire mcp config`` and ``botwire mcp import-graph``, and the missing-extra hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from botwire import Memory
from botwire._cli import cli
from tests.mcp.conftest import botwire_command
from tests.mcp.test_mcp_graph import MEMORY_JSONL


def test_config_for_each_host() -> None:
    runner = CliRunner()
    for host, top in [("claude-desktop", "mcpServers"), ("cursor", "mcpServers")]:
        result = runner.invoke(cli, ["mcp", "config", host, "--url", "http://10.0.0.5:8080"])
        assert result.exit_code == 0, result.output
        entry = json.loads(result.output)[top]["botwire"]
        assert entry["command"] == botwire_command() and Path(entry["command"]).is_absolute()
        assert entry["args"] == ["mcp"]
        assert entry["env"]["BOTWIRE_URL"] == "http://10.0.0.5:8080"
        assert "BOTWIRE_API_KEY" in entry["env"]
    vscode = runner.invoke(cli, ["mcp", "config", "vscode", "--", "--tools", "kv,graph"])
    assert vscode.exit_code == 0, vscode.output
    entry = json.loads(vscode.output)["servers"]["botwire"]
    assert entry["type"] == "stdio" and entry["args"] == ["mcp", "--tools", "kv,graph"]
    # no --url: the embedded file this machine uses, spelled out for the host
    assert entry["env"]["BOTWIRE_URL"].startswith("sqlite:///")
    assert "BOTWIRE_API_KEY" not in entry["env"]
    assert runner.invoke(cli, ["mcp", "config", "emacs"]).exit_code != 0


def test_import_graph(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    path = tmp_path / "memory.jsonl"
    path.write_text(MEMORY_JSONL + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--url", url, "mcp", "import-graph", str(path), "--namespace", "kg"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "namespace": "kg",
        "entities": 3,
        "observations": 0,
        "relations": 1,
    }
    with Memory("kg", url) as memory:
        assert memory.get("graph:entity:Ada")["entityType"] == "person"
    # the options of `botwire mcp` itself apply too
    again = runner.invoke(
        cli, ["mcp", "--url", url, "--namespace", "kg", "import-graph", str(path)]
    )
    assert json.loads(again.output)["entities"] == 0
    path.write_text('{"type": "entity"}\n', encoding="utf-8")
    bad = runner.invoke(cli, ["--url", url, "mcp", "import-graph", str(path)])
    assert bad.exit_code == 1 and "line 1 is not a server-memory record" in bad.output


def _run(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {"BOTWIRE_HOME": str(home)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def test_bad_options_fail_on_stderr_only(tmp_path: Path) -> None:
    result = _run([botwire_command(), "mcp", "--tools", "kv,nope"], tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert "tools must name one or more of kv, graph, not nope" in result.stderr


def test_missing_extra_names_it(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['mcp'] = None\n"  # as if the mcp package were not installed
        "from botwire._cli import main\n"
        "sys.argv = ['botwire', 'mcp']\n"
        "main()\n"
    )
    result = _run([sys.executable, "-c", code], tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert 'pip install "botwire[mcp]"' in result.stderr


def test_public_surface() -> None:
    import botwire.mcp

    assert botwire.mcp.__all__ == sorted(botwire.mcp.__all__)
    for name in botwire.mcp.__all__:
        obj = getattr(botwire.mcp, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"
    assert botwire.mcp.__doc__ and "botwire mcp" in botwire.mcp.__doc__
