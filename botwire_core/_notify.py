r"""Wake-ups for the change feed of an SQLite file, across threads and processes.

SQLite has no notifications, but ``PRAGMA data_version`` on a connection changes
whenever *another* connection (in any process) commits to the file. One daemon
thread per store polls it on its own connection, while someone waits or has
waited lately: every 1 ms right after a change, backing off to every
:data:`MAX_INTERVAL` when nothing happens (a poll costs ~30 us, so an idle watcher
costs well under 1% of a core), and stopping after :data:`LINGER` seconds without
waiters. A change bumps :attr:`FileNotifier.generation` and wakes every thread and
every asyncio task waiting for it; the store also :meth:`~FileNotifier.poke`\ s it
after its own commits, so a waiter in the writing process (the server's
long-polls) wakes at once.

The protocol that loses nothing: take a :meth:`~FileNotifier.token` *before*
reading the feed; if the read found nothing, wait for the generation to move past
the token. A commit after the token wakes the waiter; one before it was read.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["LINGER", "MAX_INTERVAL", "MIN_INTERVAL", "FileNotifier", "Notifier", "wake"]

MIN_INTERVAL = 0.001
"""Seconds between polls right after a change."""
MAX_INTERVAL = 0.016
"""Seconds between polls once the file has been quiet a while: the worst wake-up delay."""
LINGER = 2.0
"""Seconds the polling thread keeps running after its last waiter left."""


class Notifier:
    """Tells waiters that something committed; subclasses say how they notice.

    A subclass's :meth:`_open` runs in the first waiter's thread (so a failure to
    connect reaches it) and returns what :meth:`_run` then runs with in the
    notifier's daemon thread; :meth:`_run` calls :meth:`_bump` on each commit
    noticed and returns once :meth:`_done` says so. The generation also moves
    when the thread starts: commits made while it was not running went uncounted.
    """

    linger = LINGER
    """Seconds the thread keeps running after its last waiter left."""
    name = "botwire-feed"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.generation = 0
        self._waiting = 0
        self._tasks: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._thread: threading.Thread | None = None
        self._last_use = 0.0
        self._closed = False
        self._pid = os.getpid()

    def token(self) -> int:
        """The current generation; starts the thread (and moves the generation) if needed."""
        if self._pid != os.getpid():  # a forked child: the thread stayed in the parent
            self._cond, self._thread, self._pid = threading.Condition(), None, os.getpid()
            self._waiting, self._tasks = 0, set()
        with self._cond:
            self._last_use = time.monotonic()
            if self._thread is None and not self._closed:
                resource = self._open()
                self._thread = threading.Thread(
                    target=self._run, args=(resource,), name=self.name, daemon=True
                )
                self._thread.start()
                self._bump_locked()
            return self.generation

    def wait(self, token: int, timeout: float) -> bool:
        """Block until the generation moves past ``token``, at most ``timeout`` s."""
        with self._cond:
            self._waiting += 1
            try:
                return self._cond.wait_for(lambda: self.generation != token, timeout)
            finally:
                self._waiting -= 1
                self._last_use = time.monotonic()

    async def wait_async(self, token: int, timeout: float) -> bool:
        """The asyncio twin of :meth:`wait`: awaits, holds no thread."""
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._cond:
            if self.generation != token:
                return True
            self._tasks.add(entry)
        # A timer, not asyncio.wait_for (a task of its own per wait): a hundred watches
        # wake at once, and each one's cost is paid in turn on the loop.
        timer = loop.call_later(timeout, wake, future)
        try:
            await future
        finally:
            timer.cancel()
            with self._cond:
                self._tasks.discard(entry)
                self._last_use = time.monotonic()
        return self.generation != token

    def poke(self) -> None:
        """This process just committed: wake its waiters now, without waiting for a poll.

        While the thread runs the generation moves even with nobody waiting, so the
        store's shared feed buffers (``botwire._feedhub``) know they are stale.
        """
        if self._thread is None:  # the common case: one attribute read
            return
        self._bump()

    def _bump(self) -> None:
        with self._cond:
            self._bump_locked()

    def _bump_locked(self) -> None:
        self.generation += 1
        if self._waiting:
            self._cond.notify_all()
        if not self._tasks:
            return
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for loop, future in self._tasks:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():  # one call (one write to its pipe) per loop
            try:
                loop.call_soon_threadsafe(_wake_all, futures)
            except RuntimeError:  # its loop is closed
                pass

    def _done(self) -> bool:
        """Whether the thread should end now (closed, or idle past :attr:`linger`)."""
        with self._cond:
            idle = not self._waiting and not self._tasks
            if self._closed or (idle and time.monotonic() - self._last_use > self.linger):
                self._thread = None
                return True
            return False

    def _ended(self) -> None:
        """The thread ended on its own (a fault): wake the waiters, restart on next use."""
        with self._cond:
            if self._thread is threading.current_thread():
                self._thread = None
            self._bump_locked()

    def close(self, join: float = 0.0) -> None:
        """Stop the thread (it ends at its next round; wait up to ``join`` s for it)."""
        with self._cond:
            self._closed = True
            thread = self._thread
        if join > 0 and thread is not None and thread is not threading.current_thread():
            thread.join(join)

    def _open(self) -> Any:  # pragma: no cover - every notifier here overrides it
        raise NotImplementedError

    def _run(self, resource: Any) -> None:  # pragma: no cover
        raise NotImplementedError


class FileNotifier(Notifier):
    """Tells waiters that some connection committed to an SQLite file.

    The polling thread and :meth:`poke` read the same ``data_version`` (under one
    lock) and bump only when it moved since either last read it: a commit of this
    process is counted once, by whichever looks first. Bumping for it twice (the
    poke, then the poll) woke every waiter twice per write, and the second round
    (a store read finding nothing, then every watch waiting again) delayed the
    first round's last watchers.

    Args:
        connect: opens a new connection to the file (used by the polling thread only).
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        super().__init__()
        self._connect = connect
        self._seen = threading.Lock()  # the polling connection and its last version
        self._conn: sqlite3.Connection | None = None
        self._last = 0

    def _open(self) -> sqlite3.Connection:
        conn = self._connect()
        with self._seen:  # the baseline, read before the token is handed out
            self._conn, self._last = conn, _data_version(conn)
        return conn

    def poke(self) -> None:
        """This process just committed: wake its waiters now, unless the poll already did."""
        if self._thread is None:  # the common case: one attribute read
            return
        if self._moved():
            self._bump()

    def _moved(self) -> bool:
        """Whether ``data_version`` moved since it was last read (by the poll or a poke)."""
        with self._seen:
            if self._conn is None:
                return False
            try:
                version = _data_version(self._conn)
            except sqlite3.Error:
                return False  # busy or closing: the next round tries again
            if version == self._last:
                return False
            self._last = version
            return True

    def _run(self, resource: sqlite3.Connection) -> None:
        interval = MIN_INTERVAL
        try:
            while not self._done():
                time.sleep(interval)
                if not self._moved():
                    interval = min(interval * 2, MAX_INTERVAL)
                    continue
                interval = MIN_INTERVAL
                self._bump()
        finally:
            with self._seen:
                if self._conn is resource:
                    self._conn = None
            resource.close()


def _data_version(conn: sqlite3.Connection) -> int:
    (row,) = conn.execute("PRAGMA data_version").fetchall()
    return int(row[0])


def wake(future: asyncio.Future[None]) -> None:
    """Resolve a waiter's future unless it is done (its timer and its wake-up race)."""
    if not future.done():
        future.set_result(None)


def _wake_all(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        wake(future)
