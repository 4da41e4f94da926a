"""Issue 13's findings, each kept as a test against a real server process, both backends.

Every case is something an attacker (or a new user) tried: a number too large for
the store, a batch whose answer would not fit in memory, a web page driving an
open loopback server, a secret in a log, a slow client. Each must get a 4xx with a
sentence (or the documented behaviour), never a 5xx, a hang or a leak.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import POSTGRES_ENV
from tests.security.procs import Proc, launch_server

MAX_VALUE = 64 * 1024
ADMIN = "adm-" + "h" * 30

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _db(kind: str, folder: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder}/server.db"
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"needs {POSTGRES_ENV}")
    return url


def _launch(request: pytest.FixtureRequest, folder: Path, *args: str, **env: str) -> Proc:
    return launch_server(_db(request.param, str(folder)), *args, env=env or None)


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proc]:
    folder = tmp_path_factory.mktemp("hardening")
    with _launch(request, folder, "--max-value-bytes", str(MAX_VALUE)) as proc:
        yield proc


@pytest.fixture(scope="module", params=BACKENDS)
def secure(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proc]:
    folder = tmp_path_factory.mktemp("hardening-tokens")
    with _launch(request, folder, BOTWIRE_ADMIN_TOKEN=ADMIN) as proc:
        yield proc


@pytest.fixture
def ns() -> str:
    return "hard-" + uuid.uuid4().hex[:12]


def _no_5xx(answer: httpx.Response) -> httpx.Response:
    assert answer.status_code < 500, (answer.status_code, answer.text)
    return answer


# -- 1. numbers from the wire -------------------------------------------------------------


@pytest.mark.parametrize(
    "tag", ['"9223372036854775808"', '"9007199254740992"', '"' + "9" * 40 + '"']
)
def test_if_match_beyond_json_safe_integers_is_a_400(server: Proc, ns: str, tag: str) -> None:
    httpx.put(f"{server.url}/memory/{ns}/k", json={"value": 1})
    answer = _no_5xx(
        httpx.put(f"{server.url}/memory/{ns}/k", json={"value": 2}, headers={"if-match": tag})
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request"


@pytest.mark.parametrize("bad_id", ["\ud800", "a\x00b", "x" * 129])
def test_ids_with_lone_surrogates_or_nul_are_refused_by_every_door(
    server: Proc, ns: str, bad_id: str
) -> None:
    body = ('{"append":[1],"id":' + _json_str(bad_id) + "}").encode()
    answer = _no_5xx(httpx.post(f"{server.url}/memory/{ns}/list", content=body))
    assert answer.status_code == 400
    ops = '{"ops":[{"op":"set","key":"k","value":1,"id":' + _json_str(bad_id) + "}]}"
    answer = _no_5xx(httpx.post(f"{server.url}/memory/{ns}", content=ops.encode()))
    assert answer.status_code == 400


def _json_str(text: str) -> str:
    # json.dumps cannot write a lone surrogate as UTF-8; escape every character.
    return '"' + "".join(f"\\u{ord(c):04x}" for c in text) + '"'


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("created_at", "1e999"),
        ("updated_at", "1e999"),
        ("expires_at", "1e999"),
        ("created_at", "9" * 400),
        ("expires_at", "-1"),
        ("version", str(2**63 - 1)),
        ("version", str(2**53)),
        ("version", "0"),
    ],
)
def test_restore_refuses_numbers_out_of_range(server: Proc, ns: str, field: str, raw: str) -> None:
    fields = {"version": "1", "created_at": "1", "updated_at": "1", field: raw}
    op = (
        '{"op":"restore","key":"k","value":1,'
        + ",".join(f'"{k}":{v}' for k, v in fields.items())
        + "}"
    )
    answer = _no_5xx(
        httpx.post(f"{server.url}/memory/{ns}", content=('{"ops":[' + op + "]}").encode())
    )
    assert answer.status_code == 400, answer.text
    assert _no_5xx(httpx.get(f"{server.url}/memory/{ns}/k")).status_code == 404


def test_restore_never_takes_a_version_back_or_repeats_one(server: Proc, ns: str) -> None:
    url = f"{server.url}/memory/{ns}"
    for n in range(3):
        httpx.put(f"{url}/k", json={"value": n})
    seen = httpx.get(f"{url}/k")
    assert seen.headers["etag"] == '"3"'
    restore = {
        "op": "restore",
        "key": "k",
        "value": "old",
        "version": 2,
        "created_at": 1,
        "updated_at": 1,
    }
    answer = _no_5xx(httpx.post(url, json={"ops": [restore]}))
    assert answer.status_code == 200
    assert answer.json()["results"][0]["version"] == 4  # past the live version, never back
    again = httpx.get(f"{url}/k", headers={"if-none-match": '"3"'})
    assert again.status_code == 200 and again.json()["value"] == "old"
    # The largest version allowed still leaves room for later writes.
    top = dict(restore, version=2**53 - 1)
    assert (
        _no_5xx(httpx.post(url, json={"ops": [top]})).json()["results"][0]["version"] == 2**53 - 1
    )
    assert _no_5xx(httpx.put(f"{url}/k", json={"value": 1})).json()["version"] == 2**53
    assert _no_5xx(httpx.post(f"{url}/k2", json={"append": [1]})).status_code == 200


def test_a_400_digit_token_expiry_is_a_400(secure: Proc) -> None:
    auth = {"authorization": f"Bearer {ADMIN}"}
    for expires in ("9" * 400, '"' + "9" * 400 + 'd"', "1e999"):
        body = '{"namespaces":["a-*"],"read":true,"expires":' + expires + "}"
        answer = _no_5xx(
            httpx.post(f"{secure.url}/admin/tokens", content=body.encode(), headers=auth)
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_value"


# -- 2. a batch's answer is bounded ------------------------------------------------------


def test_a_batch_whose_answer_would_not_fit_is_a_413_that_says_to_split(
    server: Proc, ns: str
) -> None:
    url = f"{server.url}/memory/{ns}"
    big = "x" * (MAX_VALUE - 16)
    assert httpx.put(f"{url}/big", json={"value": big}).status_code == 200
    gets = [{"op": "get", "key": "big"}] * 400  # 26 MB of answer from a 10 KB request
    answer = _no_5xx(httpx.post(url, json={"ops": gets}, timeout=30))
    assert answer.status_code == 413
    assert answer.json()["code"] == "answer_too_large"
    assert "split" in answer.json()["detail"]
    mixed = [{"op": "set", "key": "big", "value": big}, *gets]  # read after a write, too
    assert _no_5xx(httpx.post(url, json={"ops": mixed}, timeout=30)).status_code == 413
    # Under the cap, a key read several times is answered each time, the same.
    few = _no_5xx(httpx.post(url, json={"ops": gets[:3]})).json()["results"]
    assert [r["value"] for r in few] == [big] * 3
    assert httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200


# -- 3. an open loopback server cannot be driven from a web page --------------------------


def _port(server: Proc) -> str:
    return server.url.rsplit(":", 1)[1]


@pytest.mark.parametrize("host", ["evil.example", "evil.localhost", "127.0.0.1.evil.example"])
def test_an_open_server_refuses_a_foreign_host_dns_rebinding(
    server: Proc, ns: str, host: str
) -> None:
    headers = {"host": f"{host}:{_port(server)}"}
    answer = _no_5xx(httpx.get(f"{server.url}/memory/{ns}/k", headers=headers))
    assert answer.status_code == 403 and "allowed-hosts" in answer.json()["detail"]
    for ok in ("localhost", "127.0.0.1", "[::1]"):
        headers = {"host": f"{ok}:{_port(server)}"}
        assert httpx.get(f"{server.url}/memory/{ns}/k", headers=headers).status_code == 404


def test_a_cross_site_simple_post_cannot_write(server: Proc, ns: str) -> None:
    ops = b'{"ops":[{"op":"set","key":"k","value":1},{"op":"delete","key":"k"}]}'
    text = {"content-type": "text/plain"}
    answer = _no_5xx(httpx.post(f"{server.url}/memory/{ns}", content=ops, headers=text))
    assert answer.status_code == 400 and "application/json" in answer.json()["detail"]
    foreign = {"content-type": "application/json", "origin": "http://evil.example"}
    answer = _no_5xx(httpx.post(f"{server.url}/memory/{ns}", content=ops, headers=foreign))
    assert answer.status_code == 403
    same = {"content-type": "application/json", "origin": server.url}
    assert httpx.post(f"{server.url}/memory/{ns}", content=ops, headers=same).status_code == 200
    assert httpx.post(f"{server.url}/memory/{ns}", json={"ops": []}).status_code == 200


def test_allowed_hosts_and_forwarded_headers(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    with launch_server(db, "--allowed-hosts", "memory.internal") as proc:
        headers = {"host": "memory.internal"}
        assert httpx.get(f"{proc.url}/memory/a/k", headers=headers).status_code == 404
        assert httpx.get(f"{proc.url}/memory/a/k", headers={"host": "other"}).status_code == 403
        # No --forwarded-allow-ips: a local client cannot set its logged address.
        httpx.get(f"{proc.url}/memory/a/k", headers={"x-forwarded-for": "6.6.6.6"})
        time.sleep(0.5)
    assert "6.6.6.6" not in proc.logs
    with launch_server(db, "--forwarded-allow-ips", "127.0.0.1") as proc:
        httpx.get(f"{proc.url}/memory/a/k", headers={"x-forwarded-for": "7.7.7.7"})
        time.sleep(0.5)
    assert "7.7.7.7" in proc.logs


def test_evil_localhost_is_not_loopback() -> None:
    from botwire.server.auth import check_exposure, is_loopback

    assert not is_loopback("evil.localhost")
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("[::1]")
    with pytest.raises(ValueError):
        check_exposure("evil.localhost", tokens_enabled=False, insecure_open=False)


# -- 4. no secret or infrastructure detail reaches a client or a log -----------------------


async def test_a_503_says_store_unavailable_and_logs_the_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from botwire import UnavailableError
    from botwire.server import Settings, create_app

    secret = "postgresql://botwire_user@db.internal.example:5432/prod"

    class DownStore:
        kind = "postgres"

        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> None:
                raise UnavailableError(f"cannot use PostgreSQL at {secret}: connection refused")

            return fail

    app = create_app(DownStore(), Settings(admin_token=ADMIN))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    forged = {"authorization": "Bearer bw_0123456789ab_" + "s" * 43}
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        answer = await c.get("/memory/a/k", headers=forged)
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("store unavailable")
    assert "db.internal" not in answer.text and "botwire_user" not in answer.text
    assert secret in caplog.text


def test_a_token_in_the_query_string_is_never_logged(server: Proc, ns: str) -> None:
    secret = "bw_0123456789ab_" + "q" * 43
    httpx.put(f"{server.url}/memory/{ns}/k?api_key={secret}", json={"value": 1})
    httpx.get(f"{server.url}/memory/{ns}/k?x=1&API_KEY={secret}")
    time.sleep(0.5)  # the access log is flushed every 0.2 s
    assert ns in server.logs
    assert secret not in server.logs


def test_botwire_token_never_prints_a_password_from_the_url() -> None:
    from click.testing import CliRunner

    from botwire._cli import cli

    for url in ("http://admin:hunter2pw@127.0.0.1:9/", "ftp://admin:hunter2pw@127.0.0.1/"):
        result = CliRunner().invoke(
            cli, ["token", "--url", url, "--admin-token", ADMIN, "list"], catch_exceptions=False
        )
        assert result.exit_code != 0
        assert "hunter2pw" not in result.output


# -- 5. slow clients, big headers, SIGTERM --------------------------------------------------


def _connect(proc: Proc) -> socket.socket:
    host, port = proc.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=20)


def _status(sock: socket.socket) -> bytes:
    try:
        return sock.recv(4096)
    except (ConnectionResetError, TimeoutError):
        return b""


def test_a_trickled_body_is_cut_at_the_total_body_timeout(tmp_path: Path) -> None:
    env = {"BOTWIRE_BODY_TIMEOUT": "1"}
    with launch_server(f"sqlite:///{tmp_path}/s.db", env=env) as proc, _connect(proc) as sock:
        body = b'{"value": "' + b"x" * 20 + b'"}'
        sock.sendall(
            b"PUT /memory/slow/k HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n" % len(body)
        )
        started = time.monotonic()
        answer = b""
        for byte in body:  # one byte per 0.3 s: never a 1 s gap, 9 s in all
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.3)
            if time.monotonic() - started > 1.5:
                answer = _status(sock)
                break
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert time.monotonic() - started < 3
        assert httpx.get(f"{proc.url}/memory/slow/k").status_code == 404


def test_idle_connections_are_closed_and_huge_headers_refused(tmp_path: Path) -> None:
    env = {"BOTWIRE_IDLE_TIMEOUT": "1"}
    with launch_server(f"sqlite:///{tmp_path}/s.db", env=env) as proc:
        with _connect(proc) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""  # closed by the server, no byte ever sent
            assert time.monotonic() - started < 5
        with _connect(proc) as big:
            head = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * (1 << 20)
            started = time.monotonic()
            try:
                big.sendall(head + b"\r\n\r\n")
            except OSError:
                pass
            answer = _status(big)
            assert not answer or answer.split(b" ")[1] in (b"400", b"431"), answer[:100]
            assert time.monotonic() - started < 5
        assert httpx.get(f"{proc.url}/healthz").status_code == 200


def test_headers_trickled_a_byte_at_a_time_are_cut_at_the_header_timeout(
    tmp_path: Path,
) -> None:
    env = {"BOTWIRE_HEADER_TIMEOUT": "1", "BOTWIRE_IDLE_TIMEOUT": "30"}
    with launch_server(f"sqlite:///{tmp_path}/s.db", env=env) as proc, _connect(proc) as sock:
        started = time.monotonic()
        closed_after = None
        for byte in b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: " + b"a" * 40:
            try:  # one byte per 0.2 s: never idle, 8 s for the whole head
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            time.sleep(0.2)
        if closed_after is None:
            sock.settimeout(5)
            assert _status(sock) == b""
            closed_after = time.monotonic() - started
        assert closed_after < 4, closed_after
        assert httpx.get(f"{proc.url}/healthz").status_code == 200


def test_the_header_timeout_restarts_for_each_request_on_a_kept_alive_connection(
    tmp_path: Path,
) -> None:
    env = {"BOTWIRE_HEADER_TIMEOUT": "1", "BOTWIRE_IDLE_TIMEOUT": "30"}
    with launch_server(f"sqlite:///{tmp_path}/s.db", env=env) as proc, _connect(proc) as sock:
        for _ in range(3):  # each request's head comes in two parts, 0.6 s apart
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            time.sleep(0.6)
            sock.sendall(b"host: 127.0.0.1\r\n\r\n")
            answer = b""
            while b"}" not in answer:  # the head and the body may come in two reads
                chunk = _status(sock)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
            time.sleep(0.6)


def test_sigterm_stops_within_the_grace_period(tmp_path: Path) -> None:
    proc = launch_server(f"sqlite:///{tmp_path}/s.db")
    try:
        stuck = _connect(proc)  # a request whose body never comes
        stuck.sendall(
            b"PUT /memory/a/k HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n{"
        )
        time.sleep(0.3)
        assert proc.process is not None
        started = time.monotonic()
        proc.process.terminate()
        proc.process.wait(15)
        assert time.monotonic() - started < 5 + 2  # cli.GRACE_SECONDS, and a margin
        stuck.close()
    finally:
        proc.kill()


# -- 6. startup, readiness, HEAD ------------------------------------------------------------


@pytest.mark.parametrize(
    "db",
    [
        "memory.db",
        "/srv/botwire/x.db",
        "sqlite:////proc/botwire/x.db",
        "postgresql://botwire:s3cretpw@127.0.0.1:1/botwire",
        "postgresql://botwire@unreachable-host.invalid/botwire",
    ],
)
def test_serve_exits_with_one_line_naming_the_db_when_it_cannot_reach_it(
    tmp_path: Path, db: str
) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "botwire.server", "--port", "0", "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "BOTWIRE_HOME": str(tmp_path)},
    )
    assert done.returncode != 0
    assert "listening" not in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    shown = db.replace("s3cretpw", "***")
    assert shown in lines[0] and "s3cretpw" not in lines[0]


def test_readyz_checks_the_store_and_head_answers_every_get_route(server: Proc, ns: str) -> None:
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    httpx.put(f"{server.url}/memory/{ns}/k", json={"value": 1})
    for path in (
        "/healthz",
        "/readyz",
        f"/memory/{ns}/k",
        f"/memory/{ns}",
        f"/namespaces/{ns}",
        "/metrics",
        "/openapi.json",
        "/docs",
    ):
        get, head = httpx.get(server.url + path), httpx.head(server.url + path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        if path != "/metrics":  # the metrics change between the two requests
            assert head.headers["content-length"] == get.headers["content-length"]


async def test_readyz_answers_503_while_the_store_is_down() -> None:
    from botwire import UnavailableError
    from botwire.server import create_app

    class DownStore:
        kind = "postgres"

        async def usage(self, namespace: str) -> None:
            raise UnavailableError("cannot use PostgreSQL at postgresql://x@db.internal/prod")

        get = usage  # an asynchronous store

    app = create_app(DownStore())  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as c:
        assert (await c.get("/healthz")).status_code == 200  # liveness: the process runs
        answer = await c.get("/readyz")
    assert answer.status_code == 503 and "db.internal" not in answer.text


# -- 7. the namespace size quota under concurrency (several processes) ---------------------

QUOTA = 10_000


@pytest.fixture(scope="module", params=BACKENDS)
def small_namespaces(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Proc]]:
    """Two server processes on one database (SQLite file or PostgreSQL), 10,000 bytes
    a namespace: each keeps its own estimate, only the store sees both."""
    folder = tmp_path_factory.mktemp("hardening-quota")
    args = ("--max-namespace-bytes", str(QUOTA))
    with _launch(request, folder, *args) as first, _launch(request, folder, *args) as second:
        yield [first, second]


async def test_concurrent_writes_through_two_processes_admit_exactly_what_fits(
    small_namespaces: list[Proc], ns: str
) -> None:
    import asyncio

    # Each PUT stores a 4-byte key and a 1,996-byte value: 2,000 bytes, 5 fit exactly.
    urls = [f"{p.url}/memory/{ns}" for p in small_namespaces]
    async with httpx.AsyncClient(timeout=60) as client:
        answers = await asyncio.gather(
            *(client.put(f"{urls[i % 2]}/k{i:03d}", json={"value": "x" * 1994}) for i in range(60))
        )
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {200, 429}, statuses
        assert statuses.count(200) == 5, statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["code"] == "quota_exceeded" and "10000 bytes" in refused.text
        usage = (await client.get(f"{small_namespaces[1].url}/namespaces/{ns}")).json()
    assert (usage["keys"], usage["stored_bytes"]) == (5, QUOTA), usage


async def test_concurrent_batches_and_appends_through_two_processes_never_overshoot(
    small_namespaces: list[Proc], ns: str
) -> None:
    import asyncio

    urls = [f"{p.url}/memory/{ns}" for p in small_namespaces]

    def write(i: int) -> Any:
        url = urls[i % 2]
        if i % 3 == 0:  # an append with an id: the id and its key count too
            return client.post(f"{url}/log{i % 4}", json={"append": ["y" * 300], "id": f"i{i}"})
        ops = [{"op": "set", "key": f"b{i}-{j}", "value": "z" * 290} for j in range(2)]
        return client.post(url, json={"ops": ops})

    async with httpx.AsyncClient(timeout=60) as client:
        answers = await asyncio.gather(*(write(i) for i in range(60)))
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {200, 429}, statuses
        usage = (await client.get(f"{urls[0].replace('/memory/', '/namespaces/')}")).json()
    assert usage["stored_bytes"] <= QUOTA, usage
    assert usage["stored_bytes"] > QUOTA - 650, usage  # not far under: the largest write


def test_an_overwrite_near_the_limit_fits_and_a_delete_makes_room(
    small_namespaces: list[Proc], ns: str
) -> None:
    first, second = (f"{p.url}/memory/{ns}" for p in small_namespaces)
    assert httpx.put(f"{first}/a", json={"value": "x" * 9997}).status_code == 200  # 10,000
    assert httpx.put(f"{second}/a", json={"value": "y" * 9997}).status_code == 200
    assert httpx.put(f"{second}/b", json={"value": 1}).status_code == 429
    assert httpx.put(f"{first}/a", json={"value": "short"}).status_code == 200
    assert httpx.put(f"{second}/b", json={"value": 1}).status_code == 200
    assert httpx.delete(f"{first}/a").status_code == 200
    usage = httpx.get(f"{small_namespaces[0].url}/namespaces/{ns}").json()
    assert (usage["keys"], usage["bytes"], usage["stored_bytes"]) == (1, 1, 2)


def test_idempotency_ids_count_against_the_namespace_size(
    small_namespaces: list[Proc], ns: str
) -> None:
    url = f"{small_namespaces[0].url}/memory/{ns}"
    long_id = "i" * 100
    for n in range(98):  # each retry-safe PUT keeps its id (with its key) for a day
        headers = {"idempotency-key": f"{n:02d}{long_id[2:]}"}
        assert httpx.put(f"{url}/k", json={"value": 0}, headers=headers).status_code == 200
    assert httpx.get(f"{small_namespaces[1].url}/namespaces/{ns}").json()["stored_bytes"] == (
        2 + 98 * 101
    )
    answer = httpx.put(f"{url}/k", json={"value": 1}, headers={"idempotency-key": "x" * 100})
    assert answer.status_code == 429, answer.text
    assert httpx.put(f"{url}/k", json={"value": 1}).status_code == 200  # no id: no growth


def test_a_per_token_daily_write_quota_holds_over_all_its_namespaces(secure: Proc) -> None:
    from click.testing import CliRunner

    from botwire._cli import cli

    prefix = "quota" + uuid.uuid4().hex[:6]
    made = CliRunner().invoke(
        cli,
        [
            "token",
            "--url",
            secure.url,
            "--admin-token",
            ADMIN,
            "create",
            "-n",
            f"{prefix}-*",
            "--read",
            "--write",
            "--writes-per-day",
            "3",
            "--quiet",
        ],
        catch_exceptions=False,
    )
    assert made.exit_code == 0, made.output
    auth = {"authorization": f"Bearer {made.output.strip()}"}
    for i in range(3):  # a new namespace each time: no fresh quota from it
        answer = httpx.put(f"{secure.url}/memory/{prefix}-{i}/k", json={"value": i}, headers=auth)
        assert answer.status_code == 200, answer.text
    answer = _no_5xx(
        httpx.put(f"{secure.url}/memory/{prefix}-9/k", json={"value": 9}, headers=auth)
    )
    assert answer.status_code == 429 and "this token" in answer.json()["detail"]
    assert int(answer.headers["retry-after"]) > 0
    ops = {"ops": [{"op": "set", "key": "k", "value": 1}]}
    assert httpx.post(f"{secure.url}/memory/{prefix}-8", json=ops, headers=auth).status_code == 429
    assert httpx.get(f"{secure.url}/memory/{prefix}-0/k", headers=auth).status_code == 200
    listed = httpx.get(f"{secure.url}/admin/tokens", headers={"authorization": f"Bearer {ADMIN}"})
    assert 3 in [t["writes_per_day"] for t in listed.json()["tokens"]]


def _token(proc: Proc, namespaces: str, *rights: str) -> dict[str, str]:
    made = httpx.post(
        f"{proc.url}/admin/tokens",
        json={
            "namespaces": [namespaces],
            **{right: True for right in rights},
            **{r: False for r in ("read", "write") if r not in rights},
        },  # fmt: skip
        headers={"authorization": f"Bearer {ADMIN}"},
    )
    assert made.status_code in (200, 201), made.text
    return {"authorization": f"Bearer {made.json()['token']}"}


def test_a_write_only_token_learns_nothing_stored_from_its_answers(secure: Proc) -> None:
    ns = "wo" + uuid.uuid4().hex[:8]
    writer = _token(secure, ns, "write")
    both = _token(secure, ns, "read", "write")
    url = f"{secure.url}/memory/{ns}"
    assert httpx.put(f"{url}/there", json={"value": 1}, headers=both).status_code == 200
    # a delete answers alike whether or not the key existed
    gone = httpx.delete(f"{url}/never", headers=writer)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert httpx.delete(f"{url}/there", headers=writer).status_code == 200
    assert httpx.delete(f"{url}/never", headers=both).status_code == 404  # a reader is told
    ops = {"ops": [{"op": "delete", "key": "never"}, {"op": "set", "key": "x", "value": 2}]}
    answer = httpx.post(url, json=ops, headers=writer)
    assert answer.status_code == 200 and answer.json()["results"][0]["deleted"] is True
    answer = httpx.post(url, json={"ops": [{"op": "delete", "key": "never"}]}, headers=both)
    assert answer.json()["results"][0]["deleted"] is False
    # a conditional write compares with what is stored: it needs the read right
    for headers in ({"if-match": '"1"'}, {"if-none-match": "*"}):
        answer = _no_5xx(httpx.put(f"{url}/x", json={"value": 3}, headers={**writer, **headers}))
        assert answer.status_code == 403 and "may not read" in answer.json()["detail"]
    conditional = {"ops": [{"op": "set", "key": "x", "value": 3, "if_version": 1}]}
    answer = httpx.post(url, json=conditional, headers=writer)
    assert answer.status_code == 403 and "this batch needs it" in answer.json()["detail"]
    assert httpx.post(url, json=conditional, headers=both).status_code == 200
    answer = httpx.put(f"{url}/x", json={"value": 4}, headers={**both, "if-match": '"2"'})
    assert answer.status_code == 200
