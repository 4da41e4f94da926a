"""Hostile input against a real server process: 4xx or a timeout, never 5xx, never a crash.

Each case goes over a raw socket or httpx to ``python -m botwire.server`` (what
``botwire serve`` runs). The figure (cases tried, 5xx seen) is printed; run with
``-s`` to see it. The property-based round trip over every store is in
``test_roundtrip_property.py``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from botwire._wire import MAX_BATCH_OPS
from tests.security.procs import Proc, launch_secure, launch_server

MAX_VALUE = 64 * 1024  # a small limit keeps the oversized cases fast
RESULTS: list[tuple[str, int]] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    db = tmp_path_factory.mktemp("hostile") / "server.db"
    with launch_server(f"sqlite:///{db}", "--max-value-bytes", str(MAX_VALUE)) as proc:
        yield proc


def address(server: Proc) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def raw_request(server: Proc, data: bytes, *, timeout: float = 10.0) -> int:
    """Send raw bytes; return the answer's status (0: no answer, connection closed)."""
    with socket.create_connection(address(server), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def record(case: str, status: int) -> int:
    RESULTS.append((case, status))
    return status


def head(method: str, path: str, *headers: str, length: int | None = None) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "host: 127.0.0.1",
        "content-type: application/json",
        *headers,
    ]
    if length is not None:
        lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: Proc) -> None:
    # Declares a gigabyte, sends one kilobyte: the answer comes without the rest.
    started = time.monotonic()
    status = raw_request(server, head("PUT", "/memory/h/k", length=10**9) + b"x" * 1024, timeout=5)
    assert record("declared 1 GB body", status) == 413
    assert time.monotonic() - started < 5
    # A chunked body with no length: refused once it passes the limit.
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"[" + b"1," * (32 * 1024 - 1) + b"1")
    data = head("PUT", "/memory/h/k", "transfer-encoding: chunked") + chunk * 8
    assert record("chunked body over the limit", raw_request(server, data)) == 413
    big = {"value": "x" * (MAX_VALUE + 1)}
    answer = httpx.put(f"{server.url}/memory/h/k", json=big)
    assert record("value over the limit", answer.status_code) == 413
    assert answer.json()["code"] == "value_too_large"


@pytest.mark.parametrize(
    ("case", "method", "path", "body"),
    [
        (
            "nested arrays 100k deep",
            "PUT",
            "/memory/h/k",
            b'{"value":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        ),
        (
            "nested objects 5k deep",
            "PUT",
            "/memory/h/k",
            b'{"value":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
        ),
        (
            "value nested 101 levels",
            "PUT",
            "/memory/h/k",
            b'{"value":' + b"[" * 101 + b"]" * 101 + b"}",
        ),
        ("integer with 5000 digits", "PUT", "/memory/h/k", b'{"value":' + b"9" * 5000 + b"}"),
        ("float overflow 1e999", "PUT", "/memory/h/k", b'{"value":1e999}'),
        ("NaN", "PUT", "/memory/h/k", b'{"value":NaN}'),
        ("invalid UTF-8 body", "PUT", "/memory/h/k", b'{"value":"\xff\xfe"}'),
        ("NUL byte in the body", "PUT", "/memory/h/k", b'{"value":"a\x00b"}'),
        ("lone surrogate escape", "PUT", "/memory/h/k", b'{"value":"\\ud800"}'),
        ("not JSON", "PUT", "/memory/h/k", b"{value: 1"),
        ("empty body", "PUT", "/memory/h/k", b""),
        ("body is a list", "PUT", "/memory/h/k", b"[1]"),
        ("unknown field", "PUT", "/memory/h/k", b'{"value":1,"tll":5}'),
        ("ttl negative", "PUT", "/memory/h/k", b'{"value":1,"ttl":-1}'),
        ("ttl huge", "PUT", "/memory/h/k", b'{"value":1,"ttl":1e300}'),
        (
            "one op over the batch limit",
            "POST",
            "/memory/h",
            json.dumps(
                {"ops": [{"op": "get", "key": "k"}] * (MAX_BATCH_OPS + 1)}, separators=(",", ":")
            ).encode(),
        ),
        ("batch op not an object", "POST", "/memory/h", b'{"ops":[1,"x",null]}'),
        ("batch unknown op", "POST", "/memory/h", b'{"ops":[{"op":"drop","key":"k"}]}'),
        ("append not a list", "POST", "/memory/h/k", b'{"append":5}'),
        ("append id too long", "POST", "/memory/h/k", b'{"append":[1],"id":"' + b"i" * 500 + b'"}'),
        ("NUL in the key", "GET", "/memory/h/a%00b", None),
        ("control char in the key", "PUT", "/memory/h/a%07b", b'{"value":1}'),
        ("key over 512 bytes", "PUT", "/memory/h/" + "k" * 600, b'{"value":1}'),
        ("invalid UTF-8 in the path", "GET", "/memory/h/%ff%fe", None),
        ("bad namespace", "GET", "/memory/h!x/k", None),
        ("namespace 200 chars", "GET", "/memory/" + "n" * 200 + "/k", None),
        ("dot-dot key", "GET", "/memory/h/..", None),
        ("encoded dot-dot key", "GET", "/memory/h/%2e%2e", None),
        ("encoded slashes", "GET", "/memory/h/..%2F..%2Fetc%2Fpasswd", None),
        ("slash in the namespace", "GET", "/memory/h%2F..%2Fx/k", None),
        ("traversal outside /memory", "GET", "/memory/../../etc/passwd", None),
        ("double slash", "GET", "//memory/h/k", None),
        ("10k-char path", "GET", "/memory/h/" + "a" * 10_000, None),
        ("bad limit", "GET", "/memory/h?limit=-1", None),
        ("huge limit", "GET", "/memory/h?limit=99999999999999999999", None),
        ("bad cursor", "GET", "/memory/h?cursor=%ff%00garbage", None),
        ("bad last", "GET", "/memory/h/k?last=abc", None),
        ("bad If-Match", "PUT", "/memory/h/k", b'{"value":1}'),
        ("unknown method", "PATCH", "/memory/h/k", b'{"value":1}'),
        ("no route", "GET", "/nowhere/at/all", None),
    ],
)
def test_hostile_requests_get_a_4xx_with_a_sentence(
    server: Proc, case: str, method: str, path: str, body: bytes | None
) -> None:
    headers = {"content-type": "application/json"}
    if case == "bad If-Match":
        headers["if-match"] = "W/yesterday"
    request = httpx.Request(method, server.url + path, content=body, headers=headers)
    if "%" in path or ".." in path or "//" in path:  # send the path exactly as written
        request.url = request.url.copy_with(raw_path=path.encode("ascii"))
    with httpx.Client(timeout=30) as client:
        answer = client.send(request)
    record(case, answer.status_code)
    assert 400 <= answer.status_code < 500, (case, answer.status_code, answer.text[:300])
    data = answer.json()
    assert isinstance(data["detail"], str) and data["detail"] and data["code"]


def test_a_nul_in_a_value_is_data_not_a_terminator(server: Proc) -> None:
    answer = httpx.put(f"{server.url}/memory/h/nul", json={"value": "a\u0000b"})
    assert record("escaped NUL in a value", answer.status_code) == 200
    assert httpx.get(f"{server.url}/memory/h/nul").json()["value"] == "a\u0000b"


def test_slow_clients_do_not_stop_others_from_being_served(server: Proc) -> None:
    """Slowloris: connections that trickle a head or never finish a body."""
    stop = threading.Event()
    socks: list[socket.socket] = []
    for i in range(60):
        sock = socket.create_connection(address(server), timeout=5)
        if i % 2:
            sock.sendall(head("PUT", "/memory/h/slow", length=1000) + b'{"value":')
        else:
            sock.sendall(b"GET /memory/h/k HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        socks.append(sock)

    def trickle() -> None:
        while not stop.wait(0.5):
            for sock in socks[::2]:
                try:
                    sock.sendall(b"x-a: b\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        latencies = []
        for _ in range(20):
            started = time.monotonic()
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            latencies.append(time.monotonic() - started)
        record("60 slow clients, others served", 200)
        assert max(latencies) < 2.0
    finally:
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()


ADMIN = "adm-hostile-" + "Wq4rT9yU2iOp7aSd"
DEEP = b'{"ops":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, str]]:
    """A server behind TokenAuth, and a read-only token for namespace ``h``."""
    db = tmp_path_factory.mktemp("hostile-auth") / "server.db"
    with launch_secure(f"sqlite:///{db}", ADMIN, "--max-value-bytes", str(MAX_VALUE)) as proc:
        made = httpx.post(
            f"{proc.url}/admin/tokens",
            headers={"authorization": f"Bearer {ADMIN}"},
            json={"namespaces": ["h"], "read": True},
        )
        yield proc, made.json()["token"]


def test_hostile_requests_to_the_token_middleware_get_a_4xx(guarded: tuple[Proc, str]) -> None:
    proc, token = guarded
    bearer = f"authorization: Bearer {token}"
    cases = {
        # the middleware reads a read-only token's batch body itself: same limits
        "declared 1 GB batch, read-only token": head("POST", "/memory/h", bearer, length=10**9)
        + b"x" * 1024,
        "chunked batch over the limit": head(
            "POST", "/memory/h", bearer, "transfer-encoding: chunked"
        )
        + b"%x\r\n%s\r\n" % (64 * 1024, b"1" * 64 * 1024) * 8,
        "batch not JSON": head("POST", "/memory/h", bearer, length=5) + b"{oops",
        "batch nested 100k deep": head("POST", "/memory/h", bearer, length=len(DEEP)) + DEEP,
        "10k-char Authorization": head(
            "GET", "/memory/h/k", "authorization: Bearer " + "a" * 10_000
        ),
        "non-ASCII Authorization": head("GET", "/memory/h/k")[:-2]
        + b"authorization: Bearer \xff\xfe\x80\r\n\r\n",
        "two Authorization headers": head("GET", "/memory/h/k", "authorization: Bearer x", bearer),
        "Basic credentials": head("GET", "/memory/h/k", "authorization: Basic dXNlcjpwYXNz"),
        "invalid UTF-8 namespace": head("GET", "/memory/%ff%fe/k", bearer),
        "encoded slash in namespace": head("GET", "/memory/h%2Fx/k", bearer),
        "admin id with traversal": head(
            "DELETE", "/admin/tokens/..%2F..%2Fmemory", f"authorization: Bearer {ADMIN}"
        ),
        "admin body not JSON": head(
            "POST", "/admin/tokens", f"authorization: Bearer {ADMIN}", length=3
        )
        + b"{{{",
        "admin body over 64 KiB": head(
            "POST", "/admin/tokens", f"authorization: Bearer {ADMIN}", length=10**6
        )
        + b"x" * 1024,
    }
    for case, data in cases.items():
        status = record(f"TokenAuth: {case}", raw_request(proc, data))
        assert 400 <= status < 500, (case, status)
    assert proc.process is not None and proc.process.poll() is None
    assert "Traceback" not in proc.logs
    assert token not in proc.logs and ADMIN not in proc.logs


def test_no_case_made_the_server_fail_or_die(server: Proc) -> None:
    """Runs last: the figure, and the server is still up with no traceback logged."""
    assert server.process is not None and server.process.poll() is None
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    five_hundreds = [case for case, status in RESULTS if status >= 500 or status == 0]
    print(f"\nhostile input figure: {len(RESULTS)} cases tried, 5xx seen: {len(five_hundreds)}")
    assert len(RESULTS) >= 58
    assert five_hundreds == []
    assert "Traceback" not in server.logs
