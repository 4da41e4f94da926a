"""A loopback HTTP/1.1 proxy that injects faults between a client and a server.

It understands just enough HTTP (a request head plus a ``Content-Length`` body,
an answer the same way) to fault each *request*, even on a kept-alive
connection. Every request draws one action at random (seeded):

* ``pass``   forward it and relay the answer;
* ``delay``  wait ``delay`` seconds, then forward it;
* ``drop``   close the connection without forwarding (the write never happens);
* ``503``    answer ``503`` with ``Retry-After: 0`` without forwarding;
* ``cut``    forward it (the write happens), relay half the answer, then close;
* ``reset``  forward it (the write happens), then reset the connection (RST)
  before a byte of the answer.

``down = True`` answers every request with 503 (the server "stays down");
:meth:`FaultProxy.close` stops listening (connections are refused).

Example:
    >>> proxy = FaultProxy("127.0.0.1", 8080, {"pass": 0.7, "drop": 0.1, "cut": 0.2})
    >>> proxy.url  # point the client here
    'http://127.0.0.1:...'
"""

from __future__ import annotations

import asyncio
import collections
import random
import socket
import struct
import threading
from collections.abc import Mapping

__all__ = ["ACTIONS", "FaultProxy"]

ACTIONS = ("pass", "delay", "drop", "503", "cut", "reset")
_BUSY = b'{"detail":"injected fault: try again","code":"unavailable"}'
_UNAVAILABLE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 0\r\ncontent-length: %d\r\n\r\n%s" % (len(_BUSY), _BUSY)
)


class FaultProxy:
    """Run the proxy on its own thread and event loop; see the module docstring.

    Args:
        host: upstream server host.
        port: upstream server port.
        weights: relative weight of each action (missing ones: 0).
        delay: seconds a ``delay`` action waits.
        seed: random seed, so a run can be repeated.
    """

    def __init__(
        self,
        host: str,
        port: int,
        weights: Mapping[str, float],
        *,
        delay: float = 0.2,
        seed: int = 0,
    ) -> None:
        unknown = set(weights) - set(ACTIONS)
        if unknown:
            raise ValueError(f"unknown fault actions {sorted(unknown)}; use {ACTIONS}")
        self.upstream = (host, port)
        self.actions = [a for a in ACTIONS if weights.get(a, 0) > 0]
        self.weights = [weights[a] for a in self.actions]
        self.delay = delay
        self.down = False
        self.counts: collections.Counter[str] = collections.Counter()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="fault-proxy")
        self._thread.start()
        self._ready.wait(10)
        assert self._server is not None
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def _pick(self) -> str:
        with self._lock:
            if self.down:
                action = "503"
            else:
                action = self._random.choices(self.actions, self.weights)[0]
            self.counts[action] += 1
            return action

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await _read_message(reader, is_request=True)
                if request is None:
                    return
                action = self._pick()
                if action == "drop":
                    return
                if action == "503":
                    writer.write(_UNAVAILABLE)
                    await writer.drain()
                    continue
                if action == "delay":
                    await asyncio.sleep(self.delay)
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream)
                upstream[1].write(request)
                await upstream[1].drain()
                answer = await _read_message(upstream[0], is_request=False)
                if answer is None:
                    return
                if action == "reset":
                    _reset(writer)
                    return
                if action == "cut":
                    writer.write(answer[: max(1, len(answer) // 2)])
                    await writer.drain()
                    return
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, OSError, asyncio.CancelledError):
            return
        finally:
            for w in (writer, upstream[1] if upstream else None):
                if w is not None and not w.is_closing():
                    w.close()

    def close(self) -> None:
        """Stop listening, end every open connection and stop the proxy's thread."""

        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for _ in range(3):  # let closed transports release their sockets
                await asyncio.sleep(0)

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _read_message(reader: asyncio.StreamReader, *, is_request: bool) -> bytes | None:
    """One HTTP/1.1 message (head and ``Content-Length`` body), or ``None`` at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    status = 0
    lines = head.split(b"\r\n")
    if not is_request:
        status = int(lines[0].split(b" ", 2)[1])
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            raise ConnectionError("the fault proxy does not relay chunked bodies")
    if status in (204, 304):
        length = 0
    body = await reader.readexactly(length) if length else b""
    return head + body
