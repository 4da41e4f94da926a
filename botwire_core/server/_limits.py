"""Quotas (DESIGN.md §6): writes per namespace per UTC day, namespace size.

Counts are kept in the server process. Several processes behind a load balancer
each count their own share of a namespace's writes (documented in docs/server.md);
namespace sizes are always read from the store, so they hold across processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

from botwire._errors import QuotaExceededError
from botwire._types import Usage

__all__ = ["Quotas"]

SECONDS_PER_DAY = 86400
FULL_RETRY_AFTER = 60.0
"""``Retry-After`` of a full namespace: nothing frees space by itself, so a nominal wait."""
_EXACT_EVERY = 5.0  # seconds a namespace's size estimate is trusted before re-reading it


class _Size:
    __slots__ = ("bytes", "read_at", "dirty")

    def __init__(self, size: int, read_at: float) -> None:
        self.bytes = size
        self.read_at = read_at
        self.dirty = False


class Quotas:
    """Admit or refuse writes against the server's limits.

    Args:
        writes_per_day: writes per namespace per UTC day, or ``None``.
        max_namespace_bytes: bytes a namespace may hold, or ``None``.
        usage: reads a namespace's exact usage from the store.
        clock: returns Unix time (tests pass a fake one).
    """

    def __init__(
        self,
        writes_per_day: int | None,
        max_namespace_bytes: int | None,
        usage: Callable[[str], Awaitable[Usage]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.writes_per_day = writes_per_day
        self.max_namespace_bytes = max_namespace_bytes
        self._usage = usage
        self._clock = clock
        self._writes: dict[str, tuple[int, int]] = {}  # ns -> (UTC day number, count)
        self._sizes: dict[str, _Size] = {}

    def writes_today(self, namespace: str) -> int:
        """Writes counted for ``namespace`` since the last UTC midnight."""
        day = int(self._clock() // SECONDS_PER_DAY)
        counted = self._writes.get(namespace)
        return counted[1] if counted is not None and counted[0] == day else 0

    def seconds_to_midnight(self) -> float:
        """Seconds until the daily write counts reset (UTC midnight)."""
        now = self._clock()
        return (math.floor(now / SECONDS_PER_DAY) + 1) * SECONDS_PER_DAY - now

    async def admit(
        self,
        namespace: str,
        writes: int,
        incoming: int,
        replaced: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        """Count ``writes`` writes adding up to ``incoming`` bytes, or refuse them all.

        ``replaced`` returns the size of the value the write replaces; it is asked
        only when the namespace looks full, so an overwrite near the limit fits.

        Raises:
            QuotaExceededError: a limit would be passed; ``retry_after`` says when
                the daily count resets (or a nominal minute for a full namespace).
        """
        limit = self.writes_per_day
        day = int(self._clock() // SECONDS_PER_DAY)
        counted = self._writes.get(namespace)
        used = counted[1] if counted is not None and counted[0] == day else 0
        if limit is not None and writes:
            if used + writes > limit:
                raise QuotaExceededError(
                    f"namespace {namespace!r} has used its {limit} writes for today (UTC); "
                    "the count resets at midnight UTC",
                    retry_after=self.seconds_to_midnight(),
                )
        if self.max_namespace_bytes is not None and incoming:
            await self._admit_size(namespace, incoming, self.max_namespace_bytes, replaced)
        if writes:
            self._writes[namespace] = (day, used + writes)

    async def _admit_size(
        self,
        namespace: str,
        incoming: int,
        limit: int,
        replaced: Callable[[], Awaitable[int]] | None,
    ) -> None:
        now = time.monotonic()
        size = self._sizes.get(namespace)
        if size is None or now - size.read_at > _EXACT_EVERY:
            size = await self._read(namespace, now)
        elif size.bytes + incoming > limit and size.dirty:
            # The estimate counts overwrites and deletes pessimistically: read the
            # exact size before refusing anything.
            size = await self._read(namespace, now)
        if size.bytes + incoming > limit and replaced is not None:
            incoming = max(0, incoming - await replaced())
        if size.bytes + incoming > limit:
            raise QuotaExceededError(
                f"namespace {namespace!r} holds {size.bytes} bytes; this write of "
                f"{incoming} bytes would pass its limit of {limit} bytes; delete keys "
                "to make room",
                retry_after=FULL_RETRY_AFTER,
            )
        size.bytes += incoming
        size.dirty = True

    async def _read(self, namespace: str, now: float) -> _Size:
        usage = await self._usage(namespace)
        size = _Size(usage.bytes, now)
        if len(self._sizes) > 100_000:  # forget idle namespaces rather than grow forever
            self._sizes.clear()
        self._sizes[namespace] = size
        return size

    def forget(self, namespace: str) -> None:
        """Mark a namespace's size as changed in ways the estimate cannot follow."""
        size = self._sizes.get(namespace)
        if size is not None:
            size.dirty = True
