"""Fixtures for the PostgreSQL store's own tests.

The database is shared with other test runs: every test works in a namespace of
its own, and tests that need fresh tables get a schema of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("psycopg")
pytest.importorskip("psycopg_pool")

import psycopg  # noqa: E402

from tests.conftest import postgres_url  # noqa: E402


@pytest.fixture
def pg_url() -> str:
    """URL of the shared test database (skips without BOTWIRE_TEST_POSTGRES_URL)."""
    return postgres_url()


@pytest.fixture
def namespace() -> str:
    """A namespace no other test run uses."""
    return f"pg-{uuid.uuid4().hex[:16]}"


def with_params(url: str, **params: str) -> str:
    """``url`` with libpq query parameters added."""
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.fixture
def schema_url(pg_url: str) -> Iterator[str]:
    """URL whose search_path is a fresh, empty schema (dropped afterwards)."""
    schema = f"bw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_params(pg_url, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def raw_of(store: Any, namespace: str, key: str) -> str:
    """The JSON text stored at ``key`` (fails the test if it is missing)."""
    record = store.get(namespace, key)
    assert record is not None, f"{key!r} is missing"
    text: str = record.raw
    return text
