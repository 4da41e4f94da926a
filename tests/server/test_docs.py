"""Every snippet of docs/server.md runs, against a real server.

* ``bash`` blocks of curl commands run in order against one fresh server (the
  docs' ``http://127.0.0.1:8080`` is replaced by its URL); every ``# -> text``
  line must appear in the block's output.
* ``bash`` blocks that start servers (``botwire serve`` / ``uvicorn``) are run as
  written, with free ports, loopback instead of ``0.0.0.0``, and the test's own
  database; each server must answer ``/healthz``. ``pip install`` lines are not
  run (the test environment has the packages).
* ``python`` blocks run with ``BOTWIRE_URL`` pointing at the server.
* ``text`` and ``nginx`` blocks are sample output and configuration, not code.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import start_server

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "server.md"
DOC_URL = "http://127.0.0.1:8080"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
BIN = str(Path(sys.executable).parent)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text("utf-8"))]


def starts_servers(code: str) -> bool:
    return any(
        line.startswith(("botwire serve", "uvicorn")) and "--help" not in line
        for line in code.splitlines()
    )


def test_every_block_has_a_known_kind() -> None:
    kinds = {kind for kind, _ in blocks()}
    assert kinds <= {"bash", "python", "text", "nginx"}, kinds
    assert sum(1 for kind, code in blocks() if kind == "bash" and "curl" in code) >= 6


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_server_block(code: str, env: dict[str, str], db: str) -> None:
    commands: list[str] = []
    for line in code.splitlines():
        line = line.strip()
        if not line or line.startswith("pip install"):
            continue
        if line.startswith("export "):
            name, _, _value = line[len("export ") :].partition("=")
            env[name] = db if name == "BOTWIRE_DB" else _value
            continue
        commands.append(line.rstrip("&").strip())
    assert commands
    for command in commands:
        port = free_port()
        args = shlex.split(command.replace("0.0.0.0", "127.0.0.1"))
        args = [str(port) if a in ("8080", "8081", "8082") else a for a in args]
        if "--port" not in args:
            args += ["--port", str(port)]
        args[0] = str(Path(BIN) / args[0])
        if args[0].endswith("uvicorn"):
            args = [a if a != "4" else "2" for a in args]  # --workers: 2 is enough here
        process = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, f"{command!r} exited"
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{command!r} never became healthy"
                time.sleep(0.2)
            answer = httpx.put(f"http://127.0.0.1:{port}/memory/docs/k", json={"value": 1})
            assert answer.status_code == 200
        finally:
            process.terminate()
            process.wait(20)


def test_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWIRE_")}
    env["BOTWIRE_HOME"] = str(tmp_path / "home")
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    db = os.environ.get("BOTWIRE_TEST_POSTGRES_URL") or f"sqlite:///{tmp_path / 'deploy.db'}"
    with start_server(f"sqlite:///{tmp_path / 'docs.db'}") as server:
        monkeypatch.setenv("BOTWIRE_URL", server.url)
        ran = 0
        for kind, code in blocks():
            if kind == "python":
                exec(compile(code, str(DOC), "exec"), {"__name__": "__docs__"})
            elif kind == "bash" and starts_servers(code):
                run_server_block(code, dict(env), db)
            elif kind == "bash":
                script = code.replace(DOC_URL, server.url)
                result = subprocess.run(
                    ["bash", "-eo", "pipefail", "-c", script],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                )
                assert result.returncode == 0, f"{code}\n{result.stdout}\n{result.stderr}"
                for expected in re.findall(r"^# -> (.*)$", code, re.M):
                    assert expected in result.stdout, f"{expected!r} not in:\n{result.stdout}"
            else:
                continue
            ran += 1
        assert ran >= 12
