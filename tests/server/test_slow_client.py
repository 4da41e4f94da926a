"""A client that stalls mid-body gets a 400 instead of holding the request open."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.servers import start_server


def _read_response(sock: socket.socket) -> str:
    """One whole HTTP response: headers and body may arrive in separate segments."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data.decode("latin-1")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode("latin-1")


def test_a_stalled_body_is_answered_400_and_others_are_served(tmp_path: Path) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 's.db'}", env={"BOTWIRE_BODY_TIMEOUT": "1"}, access_log=False
    )
    try:
        parts = urlsplit(server.url)
        slow = socket.create_connection((parts.hostname, parts.port), timeout=10)
        slow.sendall(
            b"PUT /memory/ns/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 40\r\n\r\n" + b'{"value": '
        )
        started = time.monotonic()
        # Meanwhile the server answers everyone else.
        assert httpx.put(f"{server.url}/memory/ns/other", json={"value": 1}).status_code == 200
        answer = _read_response(slow)
        waited = time.monotonic() - started
        slow.close()
        assert answer.startswith("HTTP/1.1 400"), answer[:200]
        assert "took over" in answer and "invalid_request" in answer
        assert 0.5 < waited < 8
        assert httpx.get(f"{server.url}/memory/ns/k").status_code == 404  # nothing stored
    finally:
        server.stop()
