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

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

__all__ = ["LINGER", "MAX_INTERVAL", "MIN_INTERVAL", "FileNotifier"]

MIN_INTERVAL = 0.001
"""Seconds between polls right after a change."""
MAX_INTERVAL = 0.016
"""Seconds between polls once the file has been quiet a while: the worst wake-up delay."""
LINGER = 2.0
"""Seconds the polling thread keeps running after its last waiter left."""


class FileNotifier:
    """Tells waiters that some connection committed to an SQLite file.

    Args:
        connect: opens a new connection to the file (used by the polling thread only).
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._cond = threading.Condition()
        self.generation = 0
        self._waiting = 0
        self._tasks: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        self._thread: threading.Thread | None = None
        self._last_use = 0.0
        self._closed = False

    def token(self) -> int:
        """The current generation; starts polling (its baseline read now) if needed."""
        with self._cond:
            self._last_use = time.monotonic()
            if self._thread is None and not self._closed:
                conn = self._connect()
                baseline = _data_version(conn)
                self._thread = threading.Thread(
                    target=self._poll, args=(conn, baseline), name="botwire-feed", daemon=True
                )
                self._thread.start()
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
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            with self._cond:
                self._tasks.discard(entry)
                self._last_use = time.monotonic()

    def poke(self) -> None:
        """This process just committed: wake its waiters now, without waiting for a poll."""
        if not self._waiting and not self._tasks:  # the common case: one attribute read
            return
        self._bump()

    def _bump(self) -> None:
        with self._cond:
            self.generation += 1
            self._cond.notify_all()
            tasks = list(self._tasks)
        for loop, future in tasks:
            try:
                loop.call_soon_threadsafe(_wake, future)
            except RuntimeError:  # its loop is closed
                pass

    def close(self) -> None:
        """Stop polling (the thread ends at its next round)."""
        with self._cond:
            self._closed = True

    def _poll(self, conn: sqlite3.Connection, last: int) -> None:
        interval = MIN_INTERVAL
        try:
            while True:
                with self._cond:
                    idle = not self._waiting and not self._tasks
                    if self._closed or (idle and time.monotonic() - self._last_use > LINGER):
                        self._thread = None
                        return
                time.sleep(interval)
                try:
                    version = _data_version(conn)
                except sqlite3.Error:
                    version = last  # busy or closing: the next round tries again
                if version == last:
                    interval = min(interval * 2, MAX_INTERVAL)
                    continue
                last, interval = version, MIN_INTERVAL
                self._bump()
        finally:
            conn.close()


def _data_version(conn: sqlite3.Connection) -> int:
    (row,) = conn.execute("PRAGMA data_version").fetchall()
    return int(row[0])


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
