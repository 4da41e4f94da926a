"""Opening PostgreSQL by URL, and clear errors that never show the password."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg_pool
import pytest

import botwire
from botwire import AsyncMemory, Memory, UnavailableError, ValidationError
from botwire._open import redact
from botwire._postgres import AsyncPostgresStore, PostgresStore
from tests.postgres.conftest import raw_of, with_params

pytestmark = pytest.mark.postgres

PASSWORD = "s3cret-Pa55"


def test_memory_opens_postgres_from_its_url(pg_url: str, namespace: str) -> None:
    with Memory(namespace, url=pg_url) as memory:
        assert isinstance(memory.store, PostgresStore)
        assert memory.store.kind == "postgres"
        memory.set("user-42:style", "concise")
        assert memory.get("user-42:style") == "concise"
    with Memory(namespace, url=pg_url.replace("postgresql://", "postgres://", 1)) as again:
        assert again.get("user-42:style") == "concise"


def test_botwire_url_selects_postgres(
    pg_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTWIRE_URL", pg_url)
    with Memory(namespace) as memory:
        assert isinstance(memory.store, PostgresStore)
        memory.append("chat", {"role": "user", "content": "hi"})
    with Memory(namespace, url=pg_url) as memory:
        assert memory.get("chat") == [{"role": "user", "content": "hi"}]


async def test_async_memory_opens_the_async_store(pg_url: str, namespace: str) -> None:
    memory = AsyncMemory(namespace, url=pg_url)
    try:
        assert isinstance(memory.store, AsyncPostgresStore)
        assert await memory.append("chat", "a", "b") == 2
        assert await memory.get_list("chat", last=1) == ["b"]
    finally:
        await memory.aclose()


def _unreachable() -> str:
    host = "127.0.0.1:1"  # nothing listens on port 1
    return f"postgresql://bot:{PASSWORD}@{host}/test?connect_timeout=3"


def test_unreachable_database_fails_fast_and_hides_the_password() -> None:
    start = time.monotonic()
    with pytest.raises(UnavailableError) as info:
        Memory("ns", url=_unreachable())
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert PASSWORD not in message
    assert "127.0.0.1" in message and "1" in message
    assert "refused" in message.lower()
    assert "bot:***@" in message
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


async def test_unreachable_database_async() -> None:
    memory = AsyncMemory("ns", url=_unreachable())  # connects on first use
    try:
        with pytest.raises(UnavailableError) as info:
            await memory.get("k")
        assert PASSWORD not in str(info.value)
        assert "refused" in str(info.value).lower()
    finally:
        await memory.aclose()


def _with_password(url: str, database: str | None = None) -> str:
    """``url`` with PASSWORD added to its user (trust auth ignores it)."""
    parts = urlsplit(url)
    netloc = f"{parts.username or 'postgres'}:{PASSWORD}@{parts.netloc.rpartition('@')[2]}"
    path = f"/{database}" if database is not None else parts.path
    return urlunsplit(parts._replace(netloc=netloc, path=path))


def test_a_missing_database_is_named_and_the_password_is_not(pg_url: str) -> None:
    missing = f"nope_{uuid.uuid4().hex[:8]}"
    for url in (
        _with_password(pg_url, missing),
        with_params(pg_url.replace(urlsplit(pg_url).path, f"/{missing}"), password=PASSWORD),
    ):
        with pytest.raises(UnavailableError, match=missing) as info:
            PostgresStore(url)
        assert PASSWORD not in str(info.value)
        assert PASSWORD not in repr(info.value)


def test_redact_hides_passwords_in_every_spelling() -> None:
    assert redact(f"postgresql://u:{PASSWORD}@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert PASSWORD not in redact(f"postgresql://h/db?user=u&password={PASSWORD}&sslmode=require")
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_repr_of_an_open_store_hides_the_password(pg_url: str) -> None:
    store = PostgresStore(_with_password(pg_url))
    try:
        assert PASSWORD not in repr(store)
        assert ":***@" in repr(store)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"min_size": -1}, "min_size"),
        ({"max_size": 0}, "max_size"),
        ({"min_size": 5, "max_size": 2}, "max_size"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_pool_settings_are_refused(
    pg_url: str, kwargs: dict[str, float], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        PostgresStore(pg_url, **kwargs)  # type: ignore[arg-type]


def test_an_invalid_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="invalid PostgreSQL URL") as info:
        PostgresStore(f"postgresql://u:{PASSWORD}@host/db?no_such_option=1")
    assert PASSWORD not in str(info.value)


def test_a_closed_store_says_so(pg_url: str, namespace: str) -> None:
    store = PostgresStore(pg_url)
    store.close()
    with pytest.raises(ValidationError, match="closed"):
        store.get(namespace, "k")


def test_a_shared_pool_is_used_and_left_open(pg_url: str, namespace: str) -> None:
    with psycopg_pool.ConnectionPool(pg_url, min_size=1, max_size=2, open=True) as pool:
        a, b = PostgresStore(pool=pool), PostgresStore(pool=pool)
        a.set(namespace, "k", '"v"')
        assert raw_of(b, namespace, "k") == '"v"'
        a.close()
        b.close()
        assert not pool.closed
        with pool.connection() as conn:  # not autocommit: the store committed anyway
            row = conn.execute(
                "SELECT raw FROM botwire_entries WHERE ns = %s AND key = 'k'", (namespace,)
            ).fetchone()
        assert row == ('"v"',)


async def test_a_shared_async_pool_is_opened_and_left_open(pg_url: str, namespace: str) -> None:
    pool = psycopg_pool.AsyncConnectionPool(pg_url, min_size=1, max_size=2, open=False)
    try:
        store = AsyncPostgresStore(pool=pool)
        assert (await store.append(namespace, "l", ["1", "2"])).length == 2
        await store.aclose()
        assert not pool.closed
    finally:
        await pool.close()


def _kill_connections(pg_url: str, app: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (app,),
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    time.sleep(0.2)


def test_reads_survive_connections_the_server_dropped(pg_url: str, namespace: str) -> None:
    """After a database restart every pooled connection is dead; a read retries once."""
    app = f"bw-test-{uuid.uuid4().hex[:8]}"
    store = PostgresStore(with_params(pg_url, application_name=app), min_size=2, max_size=2)
    try:
        store.set(namespace, "k", '"v"')
        _kill_connections(pg_url, app)
        assert raw_of(store, namespace, "k") == '"v"'
        assert store.list_keys(namespace).keys == ["k"]
        # A write is not retried (it may have been applied); the next one works.
        _kill_connections(pg_url, app)
        with pytest.raises(UnavailableError, match="terminating connection"):
            store.set(namespace, "k", '"w"')
        assert store.set(namespace, "k", '"w"').version == 2
    finally:
        store.close()


async def test_async_reads_survive_connections_the_server_dropped(
    pg_url: str, namespace: str
) -> None:
    app = f"bw-test-{uuid.uuid4().hex[:8]}"
    store = AsyncPostgresStore(with_params(pg_url, application_name=app), min_size=2, max_size=2)
    try:
        await store.set(namespace, "k", '"v"')
        _kill_connections(pg_url, app)
        record = await store.get(namespace, "k")
        assert record is not None and record.raw == '"v"'
    finally:
        await store.aclose()


def test_importing_botwire_does_not_import_psycopg() -> None:
    import subprocess
    import sys

    code = "import sys, botwire; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert botwire.Memory is Memory
