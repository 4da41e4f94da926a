"""Fixtures of the AutoGen adapter's tests.

``url`` is the shared ``backend_url`` fixture (tests/conftest.py): the embedded
SQLite file by default, and every other door (HTTP server, PostgreSQL) when
``BOTWIRE_TEST_BACKENDS`` names it, so these tests run unchanged over each.
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def url(backend_url: str) -> str:
    """Where the BotWire data lives, as a URL a child process can open too."""
    return backend_url


@pytest.fixture
def namespace() -> str:
    """A fresh namespace, so tests sharing a server never see each other's keys."""
    return f"ag-{uuid.uuid4().hex[:12]}"
