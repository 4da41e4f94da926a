"""Quotas (DESIGN.md §6): writes per namespace per UTC day, namespace size.

With a daily limit (``--writes-per-day``) and a store that keeps shared write
counts (:class:`~botwire._store.WriteCounter`: ``SQLiteStore``, ``PostgresStore``,
``AsyncPostgresStore``), each write is counted in the store in one atomic
statement, so every server process on one database shares one exact count.
Otherwise (no daily limit, or a store without the capability, such as an HTTP
store or a third-party one) writes are counted in this process, and several
processes each count their own share (documented in docs/server.md).

The namespace size (``--max-namespace-bytes``) is checked by the store itself, in
each write's transaction, when it can (:class:`~botwire._store.SizeLimit`: the
server's runner passes the limit, see ``_runner.Runner``); then the server admits
no size here. For another store, :meth:`Quotas.admit` keeps an estimate of each
namespace's size (read from the store, plus writes admitted in this process),
exact within one process only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

from botwire._errors import QuotaExceededError
from botwire._store import AsyncWriteCounter
from botwire._types import Usage

__all__ = ["Quotas"]

SECONDS_PER_DAY = 86400
TOKEN_COUNT_PREFIX = "_botwire.token."
"""Where a token's own daily writes are counted: reserved, so no namespace is named so."""
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
        clock: returns Unix time (tests pass a fake one); it also picks the UTC
            day of the store's shared counts.
        counter: returns the store's shared write counter, or ``None`` if the store
            has none; asked once, at the first write or count read that needs it
            (the server opens its store lazily). Used only with ``writes_per_day``:
            without a daily limit nothing is counted in the store.
    """

    def __init__(
        self,
        writes_per_day: int | None,
        max_namespace_bytes: int | None,
        usage: Callable[[str], Awaitable[Usage]],
        clock: Callable[[], float] = time.time,
        *,
        counter: Callable[[], AsyncWriteCounter | None] | None = None,
    ) -> None:
        self.writes_per_day = writes_per_day
        self.max_namespace_bytes = max_namespace_bytes
        self._usage = usage
        self._clock = clock
        self._counter_of = counter if writes_per_day is not None else None
        self._token_counter_of = counter
        self._counter: AsyncWriteCounter | None = None
        self._writes: dict[str, tuple[int, int]] = {}  # ns -> (UTC day number, count)
        self._sizes: dict[str, _Size] = {}
        self._pending: dict[str, int] = {}  # ns -> bytes admitted, not yet written
        self._finished: dict[str, int] = {}  # ns -> bytes of writes finished, ever

    def _shared(self) -> AsyncWriteCounter | None:
        """The store's shared counter, when there is a daily limit and the store has one."""
        if self._counter_of is not None:
            self._counter, self._counter_of = self._counter_of(), None
        return self._counter

    def _day(self) -> int:
        return int(self._clock() // SECONDS_PER_DAY)

    async def writes_today(self, namespace: str) -> int:
        """Writes counted for ``namespace`` since the last UTC midnight.

        The store's shared count (every process's writes) when it keeps one and a
        daily limit is set; else this process's count.
        """
        day = self._day()
        shared = self._shared()
        if shared is not None:
            return await shared.writes_on(namespace, day)
        counted = self._writes.get(namespace)
        return counted[1] if counted is not None and counted[0] == day else 0

    def seconds_to_midnight(self) -> float:
        """Seconds until the daily write counts reset (UTC midnight)."""
        now = self._clock()
        return (math.floor(now / SECONDS_PER_DAY) + 1) * SECONDS_PER_DAY - now

    def _spent(self, namespace: str, limit: int) -> QuotaExceededError:
        return QuotaExceededError(
            f"namespace {namespace!r} has used its {limit} writes for today (UTC); "
            "the count resets at midnight UTC",
            retry_after=self.seconds_to_midnight(),
        )

    async def admit(
        self,
        namespace: str,
        writes: int,
        incoming: int,
        replaced: Callable[[], Awaitable[int]] | None = None,
    ) -> int:
        """Count ``writes`` writes adding up to ``incoming`` bytes, or refuse them all.

        Returns the bytes reserved in the namespace: pass them to :meth:`done` once
        the write has finished (committed or failed), so writes admitted but not
        yet committed count against the limit (concurrent writes cannot each see
        room that only one of them will find).

        The daily count is checked first: a write past both limits is refused for
        the count. A write refused for the namespace's size is not counted. A
        write admitted here stays counted even if the store refuses it later
        (a version conflict, say).

        ``replaced`` returns the size of the value the write replaces; it is asked
        only when the namespace looks full, so an overwrite near the limit fits.

        Raises:
            QuotaExceededError: a limit would be passed; ``retry_after`` says when
                the daily count resets (or a nominal minute for a full namespace).
        """
        limit = self.writes_per_day
        sized = self.max_namespace_bytes is not None and incoming > 0
        shared = self._shared() if writes else None
        if shared is None:
            # Counted in this process: check and count at once (no await in between,
            # so concurrent requests cannot both take the last write), give back on a
            # size refusal.
            day = self._day()
            counted = self._writes.get(namespace)
            used = counted[1] if counted is not None and counted[0] == day else 0
            if limit is not None and writes and used + writes > limit:
                raise self._spent(namespace, limit)
            if writes:
                self._writes[namespace] = (day, used + writes)
            if sized:
                assert self.max_namespace_bytes is not None
                try:
                    return await self._admit_size(
                        namespace, incoming, self.max_namespace_bytes, replaced
                    )
                except QuotaExceededError:
                    self._give_back(namespace, day, writes)
                    raise
            return 0
        # Counted in the store, shared by every process: take room in the namespace
        # first (the size estimate is local, so it can be given back), then count
        # the writes in one atomic statement.
        assert limit is not None
        day = self._day()
        taken = 0
        if sized:
            assert self.max_namespace_bytes is not None
            try:
                taken = await self._admit_size(
                    namespace, incoming, self.max_namespace_bytes, replaced
                )
            except QuotaExceededError:
                if await shared.writes_on(namespace, day) + writes > limit:
                    raise self._spent(namespace, limit) from None  # the count comes first
                raise
        if await shared.count_writes(namespace, writes, limit=limit, day=day) is None:
            self.done(namespace, taken, written=False)
            raise self._spent(namespace, limit)
        return taken

    async def admit_token(self, token_id: str, writes: int, limit: int) -> None:
        """Count ``writes`` against a token's own daily limit, or refuse them all.

        Counted in the store (shared by every process) when it keeps counts, under
        a reserved name no namespace can have; else in this process.

        Raises:
            QuotaExceededError: the token has used its writes for today.
        """
        name = TOKEN_COUNT_PREFIX + token_id
        day = self._day()
        shared = self._token_counter_of() if self._token_counter_of is not None else None
        if shared is not None:
            if await shared.count_writes(name, writes, limit=limit, day=day) is not None:
                return
        else:
            counted = self._writes.get(name)
            used = counted[1] if counted is not None and counted[0] == day else 0
            if used + writes <= limit:
                self._writes[name] = (day, used + writes)
                return
        raise QuotaExceededError(
            f"this token has used its {limit} writes for today (UTC), over all its "
            "namespaces; the count resets at midnight UTC",
            retry_after=self.seconds_to_midnight(),
        )

    def _give_back(self, namespace: str, day: int, writes: int) -> None:
        counted = self._writes.get(namespace)
        if writes and counted is not None and counted[0] == day:
            self._writes[namespace] = (day, max(0, counted[1] - writes))

    async def _admit_size(
        self,
        namespace: str,
        incoming: int,
        limit: int,
        replaced: Callable[[], Awaitable[int]] | None,
    ) -> int:
        """Reserve room for ``incoming`` bytes; return the bytes reserved."""
        now = time.monotonic()
        size = self._sizes.get(namespace)
        if size is None or now - size.read_at > _EXACT_EVERY:
            size = await self._read(namespace, now)
        elif size.bytes + self._pending.get(namespace, 0) + incoming > limit and size.dirty:
            # The estimate counts overwrites and deletes pessimistically: read the
            # exact size before refusing anything.
            size = await self._read(namespace, now)
        # From here to the reservation there is no await: the check and the
        # reservation are one step for every request of this process.
        pending = self._pending.get(namespace, 0)
        if size.bytes + pending + incoming > limit and replaced is not None:
            incoming = max(0, incoming - await replaced())
            pending = self._pending.get(namespace, 0)
            size = self._sizes.get(namespace, size)
        if size.bytes + pending + incoming > limit:
            raise QuotaExceededError(
                f"namespace {namespace!r} holds {size.bytes + pending} bytes; this write of "
                f"{incoming} bytes would pass its limit of {limit} bytes; delete keys "
                "to make room",
                retry_after=FULL_RETRY_AFTER,
            )
        self._pending[namespace] = pending + incoming
        return incoming

    def done(self, namespace: str, reserved: int, written: bool = True) -> None:
        """A write admitted with ``reserved`` bytes has finished (``written``: it may
        have stored them, so the estimate keeps them until the next exact read)."""
        if not reserved:
            return
        left = self._pending.get(namespace, 0) - reserved
        if left > 0:
            self._pending[namespace] = left
        else:
            self._pending.pop(namespace, None)
        if written:
            self._finished[namespace] = self._finished.get(namespace, 0) + reserved
            size = self._sizes.get(namespace)
            if size is not None:
                size.bytes += reserved
                size.dirty = True

    async def _read(self, namespace: str, now: float) -> _Size:
        before = self._finished.get(namespace, 0)
        usage = await self._usage(namespace)
        # Writes that finished while the usage was read may be missing from it:
        # count them (twice at worst, which errs on the side of the limit).
        size = _Size(usage.bytes + max(0, self._finished.get(namespace, 0) - before), now)
        if len(self._sizes) > 100_000:  # forget idle namespaces rather than grow forever
            self._sizes.clear()
            self._finished.clear()
        self._sizes[namespace] = size
        return size

    def forget(self, namespace: str) -> None:
        """Mark a namespace's size as changed in ways the estimate cannot follow."""
        size = self._sizes.get(namespace)
        if size is not None:
            size.dirty = True
