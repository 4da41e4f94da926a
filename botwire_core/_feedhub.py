"""The change feed's fan-out: one shared reader per (store, namespace), and the
"take a token, read, wait" loop every waiting ``changes(wait=...)`` runs, written once.

**The hub.** A :class:`FeedHub` keeps the newest changes of one namespace (all
keys, up to :data:`BUFFER` of them) in memory. After a wake-up the first waiting
watcher refreshes it with one store read (the others wait for that read, not
read themselves) and every watcher takes its page from the buffer, filtering its
``prefix`` in memory: a hundred watchers cost one store read per wake-up, not a
hundred. A watcher whose ``since`` is older than the buffer (it fell behind)
reads the store itself, so nothing is lost or repeated and ``since=`` stays exact.

**The protocol that loses nothing.** A store's wake-up source (SQLite's
``data_version`` poller, PostgreSQL's ``LISTEN``) has a *generation* that moves
on every commit it notices. A watcher takes the generation (its token) before it
looks; a refresh takes its own before it reads. The buffer answers a watcher
only once it was refreshed from a token at least as new as the watcher's, so a
commit the buffer lacks has moved the generation past the watcher's token and
wakes it. Notifiers also move the generation whenever they (re)start, since
commits made while they were not running were not counted.

:func:`wait_plan` is that loop as a sans-IO generator; :func:`drive` and
:func:`adrive` run it with blocking and awaitable steps.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from botwire._errors import ChangesExpiredError
from botwire._plans import FEED_PAGE
from botwire._types import ChangePage, ChangeRecord

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "BUFFER",
    "BUFFER_BYTES",
    "HUBS",
    "FeedHub",
    "FeedHubs",
    "POLL",
    "adrive",
    "apoll",
    "drive",
    "poll",
    "wait_plan",
]

BUFFER = 1024
"""Changes a hub keeps per namespace; a watcher further behind reads the store."""
BUFFER_BYTES = 1 << 20
"""About the most memory a hub's changes take (values up to 64 KiB each are in it)."""
HUBS = 128
"""Namespaces a store keeps a hub for (the least recently watched one goes first)."""
POLL = 0.05
"""Seconds between reads of a waiting feed whose store has no wake-up of its own."""
_OVERHEAD = 120  # bytes of a change besides its key and value
_ATTEMPTS = 3  # refreshes a watcher waits for before it reads the store itself


class _Miss(NamedTuple):
    refresh: bool  # True: the buffer may be stale (refresh it); False: read the store


REFRESH = _Miss(True)
FALLBACK = _Miss(False)

Read = Callable[[int | None, str, int], ChangePage]
"""``read(since, prefix, limit)``: one read of the store's feed."""
AsyncRead = Callable[[int | None, str, int], Awaitable[ChangePage]]


class FeedHub:
    """The recent changes of one namespace, shared by its watchers (thread-safe).

    The buffer holds every change with ``base < seq <= head``, as read by a refresh
    that started at generation :attr:`token` (``None``: never refreshed).
    """

    def __init__(self, capacity: int = BUFFER) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()  # the buffer's state (held briefly)
        self._refreshing = threading.Lock()  # one blocking refresh at a time
        self._inflight: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
        self._seqs: list[int] = []
        self._changes: list[ChangeRecord] = []
        self._sizes: list[int] = []  # about the memory each change holds
        self._bytes = 0
        self.base = 0
        self.head = -1
        self.token: int | None = None
        self.reads = 0
        """Store reads made by refreshes (the fan-out's cost; tests count them)."""

    def lookup(self, token: int, since: int | None, prefix: str, limit: int) -> ChangePage | _Miss:
        """A watcher's page from the buffer, or why not (:data:`REFRESH`, :data:`FALLBACK`)."""
        with self._lock:
            if since is None:
                return FALLBACK
            if self.token is None or token > self.token or since > self.head:
                return REFRESH
            if since < self.base:
                return FALLBACK
            start = bisect_right(self._seqs, since)
            changes = self._changes[start : start + limit] if not prefix else []
            if prefix:
                for change in self._changes[start:]:
                    if change.key.startswith(prefix):
                        changes.append(change)
                        if len(changes) == limit:
                            break
            head = self.head
        if len(changes) >= limit:
            return ChangePage(changes, changes[-1].seq)
        return ChangePage(changes, head)

    def _fresh(self, token: int, since: int | None) -> bool:
        with self._lock:
            fresh = self.token is not None and self.token >= token
            return fresh and (since is None or since <= self.head)

    def _add(self, token: int, after: int | None, page: ChangePage) -> int | None:
        """Take a page read after ``after``: the next ``after`` to read, None when caught up."""
        with self._lock:
            current = None if self.token is None and self.head < 0 else self.head
            if after != current:  # reset, or another refresh got there first: go on from it
                return current
            if after is None:
                self.base = self.head = page.next
            else:
                self._changes.extend(page.changes)
                self._seqs.extend(c.seq for c in page.changes)
                sizes = [_OVERHEAD + len(c.key) + len(c.raw or "") for c in page.changes]
                self._sizes.extend(sizes)
                self._bytes += sum(sizes)
                self.head = page.next
                self._trim()
            if len(page.changes) >= FEED_PAGE:
                return self.head
            self.token = token if self.token is None else max(self.token, token)
            return None

    def _trim(self) -> None:
        """Drop the oldest changes past :attr:`capacity` changes or :data:`BUFFER_BYTES`."""
        excess = max(0, len(self._changes) - self.capacity)
        dropped = sum(self._sizes[:excess])
        while self._bytes - dropped > BUFFER_BYTES and excess < len(self._changes):
            dropped += self._sizes[excess]
            excess += 1
        if excess:
            self.base = self._seqs[excess - 1]
            del self._changes[:excess], self._seqs[:excess], self._sizes[:excess]
            self._bytes -= dropped

    def _start(self) -> int | None:
        with self._lock:
            return None if self.token is None and self.head < 0 else self.head

    def _reset(self) -> None:
        with self._lock:
            self._seqs, self._changes, self._sizes, self._bytes = [], [], [], 0
            self.base, self.head, self.token = 0, -1, None

    def refresh(
        self, token: Callable[[], int], read: Read, wanted: int, since: int | None = None
    ) -> None:
        """Bring the buffer up to date with the store (blocking; one thread at a time).

        ``wanted`` and ``since`` are the waiting watcher's token and position: a
        refresh another thread finished meanwhile that covers them is enough.
        """
        with self._refreshing:
            if self._fresh(wanted, since):
                return
            self._refresh(token(), read)

    def _refresh(self, generation: int, read: Read) -> None:
        after = self._start()
        while True:
            self.reads += 1
            try:
                page = read(after, "", FEED_PAGE)
            except ChangesExpiredError:  # idle so long the feed was trimmed past it
                self._reset()
                after = None
                continue
            following = self._add(generation, after, page)
            if following is None:
                return
            after = following

    async def arefresh(
        self,
        token: Callable[[], int],
        read: AsyncRead | None = None,
        blocking: Read | None = None,
        since: int | None = None,
    ) -> None:
        """:meth:`refresh` for asyncio: the tasks of a loop share one refresh in flight.

        ``read`` awaits the store; or ``blocking`` reads it in a worker thread.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        flight = self._inflight.get(loop)
        if flight is None:
            if read is not None:
                flight = asyncio.ensure_future(self._arefresh(token(), read))
            else:
                assert blocking is not None
                flight = asyncio.ensure_future(
                    asyncio.to_thread(self.refresh, token, blocking, token(), since)
                )
            self._inflight[loop] = flight
            flight.add_done_callback(lambda _: self._inflight.pop(loop, None))
        await asyncio.shield(flight)

    async def _arefresh(self, generation: int, read: AsyncRead) -> None:
        after = self._start()
        while True:
            self.reads += 1
            try:
                page = await read(after, "", FEED_PAGE)
            except ChangesExpiredError:
                self._reset()
                after = None
                continue
            following = self._add(generation, after, page)
            if following is None:
                return
            after = following


class FeedHubs:
    """A store's hubs, one per namespace watched lately (at most :data:`HUBS`)."""

    def __init__(self, size: int = HUBS, capacity: int = BUFFER) -> None:
        self.size, self.capacity = size, capacity
        self._hubs: OrderedDict[str, FeedHub] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, namespace: str) -> FeedHub:
        """The hub of ``namespace`` (made on first use)."""
        with self._lock:
            hub = self._hubs.get(namespace)
            if hub is None:
                hub = self._hubs[namespace] = FeedHub(self.capacity)
                if len(self._hubs) > self.size:
                    self._hubs.popitem(last=False)
            else:
                self._hubs.move_to_end(namespace)
            return hub


# -- the waiting loop, once ---------------------------------------------------------------


class _Token(NamedTuple):
    pass


class _Refresh(NamedTuple):
    token: int
    since: int | None


class _Read(NamedTuple):
    since: int | None
    prefix: str
    limit: int


class _Wait(NamedTuple):
    token: int
    timeout: float


Step = _Token | _Refresh | _Read | _Wait


def wait_plan(
    hub: FeedHub | None, since: int | None, prefix: str, limit: int, wait: float
) -> Generator[Step, Any, ChangePage]:
    """Changes after ``since``, waiting up to ``wait`` s for a first one (sans-IO).

    Steps, each answered by the driver: :class:`_Token` (the wake-up source's
    generation), :class:`_Refresh` (bring ``hub`` up to that token; one refresh
    serves every waiter), :class:`_Read` (read the store itself: no hub, or the
    watcher is behind it), :class:`_Wait` (until the generation moves past the
    token, or the timeout).
    """
    deadline = time.monotonic() + wait
    while True:
        token: int = yield _Token()
        found: ChangePage | _Miss = FALLBACK
        if hub is not None:
            for _ in range(_ATTEMPTS):
                found = hub.lookup(token, since, prefix, limit)
                if found is not REFRESH:
                    break
                yield _Refresh(token, since)
        page: ChangePage = (
            found if isinstance(found, ChangePage) else (yield _Read(since, prefix, limit))
        )
        remaining = deadline - time.monotonic()
        if page.changes or remaining <= 0:
            return page
        since = page.next
        yield _Wait(token, remaining)


def drive(
    plan: Generator[Step, Any, ChangePage],
    hub: FeedHub | None,
    token: Callable[[], int],
    read: Read,
    wait: Callable[[int, float], object],
) -> ChangePage:
    """Run :func:`wait_plan` with blocking steps."""
    try:
        step = next(plan)
        while True:
            answer: Any = None
            if isinstance(step, _Token):
                answer = token()
            elif isinstance(step, _Refresh):
                assert hub is not None
                hub.refresh(token, read, step.token, step.since)
            elif isinstance(step, _Read):
                answer = read(step.since, step.prefix, step.limit)
            else:
                wait(step.token, step.timeout)
            step = plan.send(answer)
    except StopIteration as stop:
        page: ChangePage = stop.value
        return page


async def adrive(
    plan: Generator[Step, Any, ChangePage],
    hub: FeedHub | None,
    token: Callable[[], int],
    read: AsyncRead,
    wait: Callable[[int, float], Awaitable[object]],
    blocking: Read | None = None,
) -> ChangePage:
    """Run :func:`wait_plan` with awaitable steps; no thread is held while waiting.

    With ``blocking`` (a store without async I/O), the hub's refreshes run it in a
    worker thread; else they await ``read``.
    """
    try:
        step = next(plan)
        while True:
            answer: Any = None
            if isinstance(step, _Token):
                answer = token()
            elif isinstance(step, _Refresh):
                assert hub is not None
                if blocking is not None:
                    await hub.arefresh(token, blocking=blocking, since=step.since)
                else:
                    await hub.arefresh(token, read)
            elif isinstance(step, _Read):
                answer = await read(step.since, step.prefix, step.limit)
            else:
                await wait(step.token, step.timeout)
            step = plan.send(answer)
    except StopIteration as stop:
        page: ChangePage = stop.value
        return page


# -- a store with no wake-up of its own: wait_plan's wait is a sleep, then it reads again --


def _no_token() -> int:
    return 0


def poll(read: Read, since: int | None, prefix: str, limit: int, wait: float) -> ChangePage:
    """Changes after ``since``, reading again every :data:`POLL` s for up to ``wait`` s."""
    plan = wait_plan(None, since, prefix, limit, wait)
    return drive(plan, None, _no_token, read, lambda _, left: time.sleep(min(POLL, left)))


async def apoll(
    read: AsyncRead, since: int | None, prefix: str, limit: int, wait: float
) -> ChangePage:
    """:func:`poll` for asyncio."""
    import asyncio

    plan = wait_plan(None, since, prefix, limit, wait)
    return await adrive(plan, None, _no_token, read, lambda _, left: asyncio.sleep(min(POLL, left)))
