"""Fixtures for the LangChain adapter tests: a fresh namespace on each configured store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

import botwire


@pytest.fixture
def url(backend_url: str) -> str:
    """URL of the store under test (the embedded file unless BOTWIRE_TEST_BACKENDS says)."""
    return backend_url


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses (server and PostgreSQL stores are shared)."""
    return f"lc-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def memory(url: str, namespace: str) -> Iterator[botwire.Memory]:
    """A ``botwire.Memory`` on a fresh namespace."""
    with botwire.Memory(namespace, url) as memory:
        yield memory


@pytest.fixture
async def amemory(url: str, namespace: str) -> AsyncIterator[botwire.AsyncMemory]:
    """A ``botwire.AsyncMemory`` on the same fresh namespace as ``memory``."""
    async with botwire.AsyncMemory(namespace, url) as memory:
        yield memory
