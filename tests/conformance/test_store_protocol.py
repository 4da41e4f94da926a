"""The packaged conformance suite (``botwire.testing``) over every door of ours.

The same ``StoreConformance`` a third-party store subclasses runs here over the
embedded SQLite file, PostgreSQL and the server over HTTP, through the ``Store``
protocol (the rest of ``tests/conformance`` drives ``Memory`` on top).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import botwire
from botwire.testing import StoreConformance


class TestEveryDoor(StoreConformance):
    @pytest.fixture
    def store(self, backend_url: str) -> Iterator[botwire.Store]:
        store = botwire.open_store(backend_url)
        yield store
        store.close()
