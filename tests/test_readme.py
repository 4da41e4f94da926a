"""Every example in the README runs as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_python_examples_run(tmp_path: Path) -> None:
    python = [code for lang, code in BLOCKS if lang == "python"]
    assert len(python) >= 2
    for code in python:
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})


def test_cli_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    script = Path(sys.executable).parent / "botwire"
    lines = [
        line.split("  #")[0].strip()
        for lang, code in BLOCKS
        if lang == "bash"
        for line in code.splitlines()
        if line.startswith("botwire ")
        and line.split()[1] not in ("serve", "token")  # long-running / need a server
    ]
    assert len(lines) >= 6
    for line in lines:
        words = shlex.split(line.replace(" > ", " -o ").replace(" < ", " -i "))
        result = subprocess.run([str(script), *words[1:]], capture_output=True, text=True)
        assert result.returncode == 0, (line, result.stderr)
    assert "user-42:chat" in (tmp_path / "prefs.jsonl").read_text()


def test_server_examples_parse() -> None:
    """``botwire serve`` / ``token`` lines use options the commands have."""

    from botwire._cli import cli

    lines = [
        line.split("  #")[0].strip()
        for lang, code in BLOCKS
        if lang == "bash"
        for line in code.splitlines()
        if line.startswith(("botwire serve", "botwire token"))
    ]
    assert len(lines) >= 3
    for line in lines:
        words = shlex.split(line)[1:]
        command = cli.get_command(None, words[0])  # type: ignore[arg-type]
        assert command is not None, line
        if words[0] == "token":
            command = command.get_command(None, words[1])  # type: ignore[attr-defined]
            words = words[1:]
        ctx = command.make_context(words[0], words[1:])
        assert not ctx.args, (line, ctx.args)
