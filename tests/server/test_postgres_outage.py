"""A PostgreSQL outage: the server answers 503 fast, with Retry-After, and heals.

The server's store reaches PostgreSQL through a TCP relay the test can take down
(every connection cut, the port refusing new ones) and bring back on the same
port, as a database restart looks from the server.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from botwire.server import Settings, create_app
from botwire.server._runner import POSTGRES_SERVE_TIMEOUT, open_store
from tests.conftest import postgres_url
from tests.security.procs import free_port

pytest.importorskip("psycopg")


class Relay:
    """Forward 127.0.0.1:``port`` to ``target``; :meth:`down` / :meth:`up` toggle it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            _shut(self._listener)
            self._listener = None
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            _shut(conn)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _shut(source)
        _shut(sink)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


async def test_requests_during_an_outage_fail_fast_with_retry_after_and_the_server_heals() -> None:
    url = postgres_url()
    parts = urlsplit(url)
    relay = Relay((parts.hostname or "127.0.0.1", parts.port or 5432))
    userinfo = parts.netloc.rpartition("@")[0]
    relayed = urlunsplit(
        parts._replace(netloc=f"{userinfo + '@' if userinfo else ''}127.0.0.1:{relay.port}")
    )
    store = open_store(Settings(db=relayed))
    app = create_app(store)
    ns, path = f"outage-{uuid.uuid4().hex[:8]}", "/memory/{}/k"
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.put(path.format(ns), json={"value": 1})).status_code == 200

            relay.down()
            for _ in range(3):
                started = time.monotonic()
                answer = await client.get(path.format(ns))
                took = time.monotonic() - started
                assert answer.status_code == 503
                assert answer.json()["code"] == "unavailable"
                assert answer.headers["retry-after"] == "1"
                assert took < POSTGRES_SERVE_TIMEOUT + 1.5  # not libpq's or the pool's 10 s+

            relay.up()  # PostgreSQL is back: no restart of the BotWire server
            healed_at = time.monotonic() + 20
            while True:
                answer = await client.get(path.format(ns))
                if answer.status_code == 200 or time.monotonic() > healed_at:
                    break
                await asyncio.sleep(0.2)
            assert answer.status_code == 200
            assert answer.json()["value"] == 1
            assert (await client.put(path.format(ns), json={"value": 2})).status_code == 200
    finally:
        await store.aclose()  # type: ignore[union-attr]
        relay.down()
