"""The ``botwire`` command line, driven as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from botwire import Memory
from botwire._cli import cli


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, ok: bool = True) -> str:
        result = runner.invoke(cli, ["--url", url, *args], input=input)
        assert (result.exit_code == 0) is ok, result.output
        return result.output

    invoke.url = url  # type: ignore[attr-defined]
    return invoke


def test_set_parses_json_and_falls_back_to_string(run) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(run("set", "prefs", "style", "concise")) == {
        "namespace": "prefs",
        "key": "style",
        "version": 1,
    }
    run("set", "prefs", "n", "42")
    run("set", "prefs", "obj", '{"a": [1, 2]}')
    run("set", "prefs", "text", "42", "--string")
    memory = Memory("prefs", run.url)
    assert memory.get("style") == "concise"
    assert memory.get("n") == 42
    assert memory.get("obj") == {"a": [1, 2]}
    assert memory.get("text") == "42"
    assert json.loads(run("get", "prefs", "obj")) == {"a": [1, 2]}
    assert json.loads(run("ls", "prefs")) == ["n", "obj", "style", "text"]
    assert json.loads(run("ls", "prefs", "--prefix", "t")) == ["text"]


def test_missing_key_and_bad_input_exit_nonzero(run) -> None:  # type: ignore[no-untyped-def]
    assert "no key 'nope'" in run("get", "prefs", "nope", ok=False)
    assert "no key 'nope'" in run("delete", "prefs", "nope", ok=False)
    assert "invalid namespace" in run("set", "bad ns", "k", "v", ok=False)
    assert "control character" in run("set", "ns", "a\tb", "v", ok=False)
    assert "ConflictError" in run("set", "ns", "k", "v", "--if-version", "3", ok=False)


def test_append_delete(run) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(run("append", "chat", "s1", "hi", '{"role": "ai"}'))["length"] == 2
    assert json.loads(run("get", "chat", "s1")) == ["hi", {"role": "ai"}]
    assert json.loads(run("delete", "chat", "s1"))["deleted"] is True


def test_export_import_round_trip_is_lossless(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    memory = Memory("src", run.url)
    memory.set("a", {"x": 1})
    memory.set("a", {"x": 2})
    memory.set("ttl", "soon", ttl=3600)
    memory.append("list", 1, "two")
    memory.set("json-looking", "[1, 2]")
    dump = tmp_path / "dump.jsonl"
    run("export", "src", "-o", str(dump))
    run("import", "dst", "-i", str(dump))
    copy = Memory("dst", run.url)
    for key in memory.list_keys():
        a, b = memory.get_item(key), copy.get_item(key)
        assert a is not None and b is not None
        assert (b.value, b.version, b.created_at, b.updated_at, b.expires_at) == (
            a.value,
            a.version,
            a.created_at,
            a.updated_at,
            a.expires_at,
        )
    assert copy.get("json-looking") == "[1, 2]"
    assert copy.append("list", 3) == 3


def test_import_checks_the_whole_file_first(run) -> None:  # type: ignore[no-untyped-def]
    bad = '{"key": "a", "value": 1}\nnot json\n'
    assert "line 2" in run("import", "dst", input=bad, ok=False)
    assert json.loads(run("ls", "dst")) == []


def test_installed_script_runs(tmp_path: Path) -> None:
    env = {"BOTWIRE_HOME": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    script = Path(sys.executable).parent / "botwire"
    out = subprocess.run(
        [str(script), "set", "user-preferences", "user-42:response_style", "concise"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(out.stdout)["version"] == 1
    out = subprocess.run(
        [str(script), "get", "user-preferences", "user-42:response_style"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(out.stdout) == "concise"
    assert (tmp_path / "memory.db").exists()


def test_backup_copies_a_live_database(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import threading

    memory = Memory("live", run.url)
    memory.set_many({f"k{i}": i for i in range(200)})
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            memory.append("log", n)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        out = json.loads(run("backup", str(tmp_path / "copy.db")))
    finally:
        stop.set()
        thread.join()
    copy = Memory("live", f"sqlite:///{out['backup']}")
    assert copy.get_many([f"k{i}" for i in range(200)]) == {f"k{i}": i for i in range(200)}
    log = copy.get_list("log")
    assert log == list(range(len(log)))  # a consistent snapshot: a prefix of the appends
    assert "already exists" in run("backup", str(tmp_path / "copy.db"), ok=False)


def test_backup_explains_other_stores() -> None:
    result = CliRunner().invoke(cli, ["--url", "postgresql://u@h/db", "backup", "x.db"])
    assert result.exit_code != 0 and "pg_dump" in result.output
