"""Shared fixtures: every door to a store, addressed by URL.

``backend_url`` is parametrised over every store BotWire has: the embedded SQLite
file, PostgreSQL, and a real server process (over HTTP) on each of them. The
conformance suite runs, unchanged, over all of them and over both clients.
PostgreSQL runs need ``BOTWIRE_TEST_POSTGRES_URL`` (``.ci/run`` sets it).
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

import botwire

POSTGRES_ENV = "BOTWIRE_TEST_POSTGRES_URL"
POSTGRES_SKIP = (
    f"PostgreSQL tests need {POSTGRES_ENV}, e.g. "
    f"{POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test (.ci/run sets it)"
)
ALL_BACKENDS = "sqlite,postgres,http+sqlite,http+postgres"
BACKENDS = os.environ.get("BOTWIRE_TEST_BACKENDS", ALL_BACKENDS).split(",")
"""Which doors the conformance suite goes through (all of them unless narrowed)."""


class FakeClock:
    """A clock a test moves by hand (``clock.advance(60)``) instead of sleeping.

    Stores take it as ``clock=``: ``SQLiteStore(path, clock=FakeClock())``.
    """

    def __init__(self, now: float | None = None) -> None:
        import time

        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A :class:`FakeClock` starting at the real time."""
    return FakeClock()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real user data folder or a real BOTWIRE_URL from a test."""
    home = tmp_path / "botwire-home"
    monkeypatch.setenv("BOTWIRE_HOME", str(home))
    monkeypatch.delenv("BOTWIRE_URL", raising=False)
    monkeypatch.delenv("BOTWIRE_API_KEY", raising=False)
    return home


def postgres_url() -> str:
    """The test PostgreSQL URL, or skip the test with how to enable it."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(POSTGRES_SKIP)
    return url


def fresh_schema_url(prefix: str) -> Iterator[str]:
    """Yield the test PostgreSQL URL with its tables in a new schema, dropped after.

    For tests whose stores purge or count a whole database (a far clock, a quota).
    """
    import psycopg

    url = postgres_url()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def _session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stores")


@pytest.fixture(scope="session")
def _servers(_session_dir: Path) -> Iterator[dict[str, str]]:
    """Real server processes, started on first use and stopped at the end."""
    started: dict[str, Any] = {}
    urls: dict[str, str] = {}

    class Lazy(dict[str, str]):
        def __missing__(self, db: str) -> str:
            from tests.servers import start_server

            db_url = f"sqlite:///{_session_dir / 'server.db'}" if db == "sqlite" else postgres_url()
            server = start_server(db_url)
            started[db] = server
            urls[db] = server.url
            self[db] = server.url
            return server.url

    yield Lazy()
    for server in started.values():
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path, _servers: dict[str, str]) -> str:
    """URL of a fresh (or namespace-isolated) store behind one of BotWire's doors."""
    name: str = request.param
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    if name == "postgres":
        return postgres_url()
    return _servers[name.split("+", 1)[1]]


class SyncOverAsync:
    """Drive an async object (AsyncMemory, AsyncStore) through a sync interface.

    Lets the conformance suite run the very same tests over ``AsyncMemory``.
    """

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name == "store":
            return SyncOverAsync(attr, self._loop)
        if asyncio.iscoroutinefunction(attr):
            return lambda *a, **kw: self._run(attr(*a, **kw))
        return attr

    def __contains__(self, key: str) -> bool:
        return bool(self._run(self._target.contains(key)))

    def close(self) -> None:
        self._run(self._target.aclose())


@pytest.fixture(scope="session")
def _loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


MemoryFactory = Callable[[], Any]


@pytest.fixture(params=["sync", "async"])
def new_memory(
    request: pytest.FixtureRequest, backend_url: str, _loop: asyncio.AbstractEventLoop
) -> Iterator[MemoryFactory]:
    """Factory of ``Memory`` (or ``AsyncMemory`` driven synchronously) objects, each
    on a fresh namespace of the same backend."""
    opened: list[Any] = []

    def make() -> Any:
        namespace = f"t-{uuid.uuid4().hex[:16]}"
        if request.param == "sync":
            memory: Any = botwire.Memory(namespace, backend_url)
        else:

            async def build() -> botwire.AsyncMemory:
                return botwire.AsyncMemory(namespace, backend_url)

            memory = SyncOverAsync(asyncio.run_coroutine_threadsafe(build(), _loop).result(), _loop)
        opened.append(memory)
        return memory

    yield make
    for memory in opened:
        memory.close()


@pytest.fixture
def memory(new_memory: MemoryFactory) -> Any:
    """A ``Memory``-like object on a fresh namespace (see ``new_memory``)."""
    return new_memory()
