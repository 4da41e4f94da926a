"""Coalescing: concurrent single-key calls of one ``AsyncHTTPStore`` travel as batches.

Async only: a sync ``HTTPStore`` has one call in flight per thread, nothing queues.

Rules (what a caller can rely on):

* A call that finds a request slot free and nobody waiting is sent at once, alone,
  exactly as without coalescing: no added latency. Calls issued in the same loop
  tick after it (``asyncio.gather`` of a thousand calls) wait for the end of that
  tick, and calls that find every slot busy (``limit`` requests in flight) wait
  for a slot, in one FIFO queue per namespace.
* At the end of the tick, and whenever a slot is freed, the waiting calls are
  spread over the free slots: each takes the oldest waiting calls of a namespace,
  up to :data:`MAX_OPS` and :data:`MAX_BYTES`, and sends them as one
  ``POST /memory/{ns}`` batch (or alone, if only one), in the order they were
  issued, so the order per key is kept within a batch and in sending.
* A call marked ``alone`` (a conditional write, an op larger than
  :data:`MAX_OP_BYTES`) is never merged: it waits its turn in the same queue and is
  then sent as its own single request, so it neither overtakes nor is overtaken.
* The server runs a batch as one transaction, all or nothing. When a batch is
  refused for one of its ops (any 4xx: a ``not_a_list``, a too-large value, a
  quota...), nothing was applied, and each op of it is sent again alone (in
  order per key), so every caller gets exactly its own result or its own error.
  A failure of the whole request (unreachable after retries, 5xx) is raised to
  every caller of the batch, each with its own copy of the error.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from botwire._types import Op, OpResult

__all__ = ["MAX_BYTES", "MAX_OPS", "MAX_OP_BYTES", "Coalescer", "op_bytes"]

MAX_OPS = 500
"""Most calls merged into one batch (the server takes up to ``_wire.MAX_BATCH_OPS``)."""
MAX_BYTES = 60 * 1024
"""Largest batch body built: below the smallest body any server reads (64 KiB plus
four times its value limit), whatever that server's value limit is."""
MAX_OP_BYTES = 8 * 1024
"""An op larger than this is sent alone."""

Single = Callable[[], Awaitable[OpResult]]
Batch = Callable[[str, list[Op]], Awaitable["list[OpResult] | None"]]


class _Call(NamedTuple):
    op: Op
    single: Single  # sends this op alone, as its own request
    alone: bool
    size: int
    future: asyncio.Future[OpResult]


def op_bytes(op: Op) -> int:
    """An upper bound of the op's size in a batch body (key escaped, framing, id)."""
    text = op.key + "".join(getattr(op, "raws", ())) + getattr(op, "raw", "")
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    return size + len(op.key) * 5 + 160  # a key's quotes and backslashes may double


class Coalescer:
    """Bounds one store's single-key requests in flight and merges what queues up.

    Args:
        batch: sends ops of one namespace as one batch; returns their results, or
            ``None`` when the server refused the batch for one of its ops (nothing
            applied: each is then sent alone); raises when the request failed.
        limit: requests in flight at most.
    """

    def __init__(self, batch: Batch, limit: int) -> None:
        self.loop = asyncio.get_running_loop()
        self._batch = batch
        self._limit = limit
        self._running = 0
        self._queued = 0
        self._queues: dict[str, deque[_Call]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._tick = False  # a call went alone in this loop tick; a pump is scheduled
        self.requests = 0
        """Requests sent so far (a batch counts once), for tests and benchmarks."""

    async def run(self, namespace: str, op: Op, single: Single, *, alone: bool) -> OpResult:
        """Run one op: at once if a slot is free and nobody waits, else queued.

        ``single`` sends it alone; ``alone`` forbids merging it with others.
        """
        if self._running < self._limit and not self._queued and not self._tick:
            self._tick = True
            self.loop.call_soon(self._end_tick)
            self._running += 1
            self.requests += 1
            try:
                return await single()
            finally:
                self._running -= 1
                self._pump()
        size = op_bytes(op)
        future: asyncio.Future[OpResult] = self.loop.create_future()
        call = _Call(op, single, alone or size > MAX_OP_BYTES, size, future)
        self._queues.setdefault(namespace, deque()).append(call)
        self._queued += 1
        return await future

    def _end_tick(self) -> None:
        """The tick in which a call went alone is over: send what queued up behind it."""
        self._tick = False
        self._pump()

    def _pump(self) -> None:
        """Fill the free slots with the waiting calls, oldest namespace first."""
        while self._running < self._limit and self._queued:
            namespace, queue = next(iter(self._queues.items()))
            free = self._limit - self._running
            want = min(MAX_OPS, -(-self._queued // free))  # spread the backlog
            calls: list[_Call] = []
            size = 0
            while queue and len(calls) < want:
                call = queue[0]
                if calls and (call.alone or size + call.size > MAX_BYTES):
                    break
                queue.popleft()
                self._queued -= 1
                if call.future.done():  # its caller was cancelled while waiting
                    continue
                calls.append(call)
                size += call.size
                if call.alone:
                    break
            del self._queues[namespace]
            if queue:  # round robin: this namespace goes last
                self._queues[namespace] = queue
            if calls:
                self._running += 1
                self.requests += 1
                task = self.loop.create_task(self._send(namespace, calls))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send(self, namespace: str, calls: list[_Call]) -> None:
        try:
            if len(calls) == 1:
                await _alone(calls[0])
                return
            try:
                results = await self._batch(namespace, [c.op for c in calls])
            except asyncio.CancelledError:
                for call in calls:
                    call.future.cancel()
                raise
            except Exception as exc:  # the request failed: every caller gets it
                for call in calls:
                    if not call.future.done():
                        call.future.set_exception(copy.copy(exc))
                return
            if results is None:
                self.requests += len(calls)
                await _one_by_one(calls)
                return
            for call, result in zip(calls, results, strict=True):
                if not call.future.done():
                    call.future.set_result(result)
        finally:
            self._running -= 1
            self._pump()


async def _alone(call: _Call) -> None:
    try:
        result = await call.single()
    except asyncio.CancelledError:
        call.future.cancel()
        raise
    except Exception as exc:
        if not call.future.done():
            call.future.set_exception(exc)
    else:
        if not call.future.done():
            call.future.set_result(result)


async def _one_by_one(calls: list[_Call]) -> None:
    """Send each call alone: keys concurrently, the calls of one key in order."""
    by_key: dict[str, list[_Call]] = {}
    for call in calls:
        by_key.setdefault(call.op.key, []).append(call)

    async def in_order(same_key: list[_Call]) -> None:
        for call in same_key:
            await _alone(call)

    await asyncio.gather(*(in_order(same_key) for same_key in by_key.values()))
