"""``botwire export`` / ``import`` against a live server while clients keep writing."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from click.testing import CliRunner

from botwire import Memory
from botwire._cli import cli
from tests.servers import start_server


def test_export_import_round_trip_on_a_live_server(tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'live.db'}", access_log=False)
    memory = copy = None
    try:
        memory = Memory("live", server.url)
        memory.set_many({f"user-{i}:style": {"n": i, "s": "é/?#"} for i in range(300)})
        memory.set("ttl-key", "soon", ttl=3600)
        memory.append("chat", 0)
        stop = threading.Event()

        def writer() -> None:
            n = 1
            while not stop.is_set():
                memory.append("chat", n)
                n += 1

        thread = threading.Thread(target=writer)
        thread.start()
        runner = CliRunner()
        dump = tmp_path / "live.jsonl"
        try:
            out = runner.invoke(cli, ["--url", server.url, "export", "live", "-o", str(dump)])
            assert out.exit_code == 0, out.output
        finally:
            stop.set()
            thread.join()
        back = runner.invoke(cli, ["--url", server.url, "import", "copy", "-i", str(dump)])
        assert back.exit_code == 0, back.output
        assert json.loads(back.output)["imported"] == 302

        copy = Memory("copy", server.url)
        for key in memory.list_keys(prefix="user-"):
            a, b = memory.get_item(key), copy.get_item(key)
            assert a is not None and b is not None
            assert (b.value, b.version, b.created_at, b.expires_at) == (
                a.value,
                a.version,
                a.created_at,
                a.expires_at,
            )
        assert copy.get_item("ttl-key").expires_at == memory.get_item("ttl-key").expires_at
        chat = copy.get_list("chat")
        assert chat == list(range(len(chat)))  # a consistent prefix of the live appends
        assert copy.append("chat", "next") == len(chat) + 1
    finally:
        for opened in (memory, copy):
            if opened is not None:
                opened.close()
        server.stop()
