"""The server as users run it: ``python -m botwire.server`` / ``botwire serve``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from botwire import AsyncMemory, Memory
from tests.servers import ServerProcess, start_server

pytestmark = pytest.mark.slow


def raw_request(url: str, request: bytes) -> bytes:
    """Send bytes no HTTP client would send (e.g. invalid UTF-8) and read the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def test_clients_share_data_through_a_real_server(server: ServerProcess) -> None:
    with Memory("shared", url=server.url) as writer:
        writer.set("user-42:style", "concise")
        writer.append("chat", {"role": "user", "content": "hi"})
    with Memory("shared", url=server.url) as reader:
        assert reader.get("user-42:style") == "concise"
        assert reader.get_list("chat", last=1) == [{"role": "user", "content": "hi"}]


async def test_async_client_on_a_real_server(server: ServerProcess) -> None:
    async with AsyncMemory("async-ns", url=server.url) as memory:
        assert await memory.set("k", [1, 2]) == 1
        assert await memory.get("k") == [1, 2]
        assert await memory.append("k", 3) == 3


def test_invalid_utf8_and_garbage_never_answer_500(server: ServerProcess) -> None:
    answer = raw_request(
        server.url,
        b"GET /memory/ns/%FF%FE HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b'"code":"invalid_key"' in answer
    body = b'{"value": "\xff\xfe"}'
    answer = raw_request(
        server.url,
        b"PUT /memory/ns/k HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body,
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    answer = raw_request(  # declares a terabyte, sends 10 bytes: refused without reading
        server.url,
        b"PUT /memory/ns/k HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n" + b"x" * 10,
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"value_too_large"' in answer


def test_access_log_is_one_json_line_per_request(server: ServerProcess) -> None:
    httpx.get(server.url + "/memory/logged-ns/some%2Fkey")
    deadline = time.monotonic() + 5  # lines are flushed every 0.2 s
    while True:
        lines = [json.loads(line) for line in server.stderr.splitlines() if line.startswith("{")]
        found = [e for e in lines if e["path"] == "/memory/logged-ns/some%2Fkey"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert found, server.stderr[-2000:]
    entry = found[0]
    assert entry["method"] == "GET"
    assert entry["status"] == 404
    assert entry["route"] == "/memory/{namespace}/{key}"
    assert entry["namespace"] == "logged-ns"
    assert entry["ms"] >= 0 and entry["client"].startswith("127.0.0.1:")


def test_settings_from_flags_and_environment(tmp_path: Path) -> None:
    with start_server(
        f"sqlite:///{tmp_path / 'a.db'}",
        writes_per_day=2,
        env={"BOTWIRE_MAX_VALUE_BYTES": "100"},
        access_log=False,
    ) as server:
        limits = httpx.get(server.url + "/namespaces/ns").json()["limits"]
        assert limits == {
            "max_value_bytes": 100,
            "max_namespace_bytes": 50_000_000,
            "writes_per_day": 2,
        }
        assert server.stderr.count('"method"') == 0  # --no-access-log


def test_default_db_is_the_clients_default_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("BOTWIRE_")}
    env["BOTWIRE_HOME"] = str(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "botwire.server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert f"store: sqlite:///{home / 'memory.db'}" in line
        url = line.split("listening on ")[1].split()[0]
        httpx.put(url + "/memory/ns/k", json={"value": "served"})
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    with Memory("ns", url=f"sqlite:///{home / 'memory.db'}") as embedded:
        assert embedded.get("k") == "served"


def test_bad_db_url_fails_with_a_sentence(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "botwire.server", "--port", "0", "--db", "redis://x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "sqlite:///path.db or postgresql://" in result.stderr


def test_help_lists_every_setting_and_its_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "botwire.server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for flag, env in [
        ("--host", "BOTWIRE_HOST"),
        ("--port", "BOTWIRE_PORT"),
        ("--db", "BOTWIRE_DB"),
        ("--writes-per-day", "BOTWIRE_WRITES_PER_DAY"),
        ("--max-value-bytes", "BOTWIRE_MAX_VALUE_BYTES"),
        ("--max-namespace-bytes", "BOTWIRE_MAX_NAMESPACE_BYTES"),
    ]:
        assert flag in result.stdout and env in result.stdout


def test_missing_server_extra_names_it() -> None:
    code = (
        "import sys; sys.modules['fastapi'] = None\n"
        "from botwire.server.cli import serve\n"
        "serve(['--port', '0'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert 'pip install "botwire[server]"' in result.stderr


def test_port_in_use_is_a_clear_error(server: ServerProcess) -> None:
    port = str(urlsplit(server.url).port)
    result = subprocess.run(
        [sys.executable, "-m", "botwire.server", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_ctrl_c_stops_serve_quietly_with_exit_code_0(tmp_path: Path) -> None:
    import signal

    with start_server(f"sqlite:///{tmp_path / 'c.db'}", access_log=False) as server:
        assert f"BOTWIRE_URL={server.url}" in (server.folder / "stdout.log").read_text()
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=20) == 0
        output = (server.folder / "stdout.log").read_text() + server.stderr
    assert "Aborted" not in output and "Traceback" not in output, output
