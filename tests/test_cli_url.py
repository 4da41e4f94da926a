"""``--url`` and ``--api-key`` are accepted after the subcommand as well as before it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from botwire import Memory
from botwire._cli import cli


def test_url_after_the_subcommand(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'after.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["set", "prefs", "style", "concise", "--url", url]).exit_code == 0
    result = runner.invoke(cli, ["get", "prefs", "style", "--url", url])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == '"concise"'  # JSON: the output is not a terminal
    assert Memory("prefs", url).get("style") == "concise"


def test_the_url_after_the_subcommand_wins(tmp_path: Path) -> None:
    before, after = (f"sqlite:///{tmp_path / name}" for name in ("before.db", "after.db"))
    runner = CliRunner()
    result = runner.invoke(cli, ["--url", before, "set", "prefs", "k", "1", "--url", after])
    assert result.exit_code == 0, result.output
    assert Memory("prefs", after).get("k") == 1
    assert Memory("prefs", before).get("k") is None
    assert "--url" in runner.invoke(cli, ["ls", "--help"]).output
