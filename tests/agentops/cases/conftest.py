"""Fixtures for the AgentOps cases, which run in a process of their own.

``tests/agentops/test_agentops.py`` starts ``pytest`` on this folder in a fresh
interpreter (``agentops.init()`` and OpenTelemetry's provider are process-wide and
set once), offline: sockets are blocked by pytest-socket, AgentOps' endpoints
point at a closed loopback port, and an SDK tracer provider with an in-memory
exporter is installed *before* ``agentops.init()``, so AgentOps' own provider and
its network exporter are never installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import botwire

try:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError:  # the agentops extra is not installed: nothing here can run
    collect_ignore_glob = ["*.py"]

CASES_ENV = "BOTWIRE_AGENTOPS_CASES"


class Spans:
    """The spans finished so far, with helpers to find them."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name]

    def botwire(self) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name.startswith("botwire.")]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"expected one {name!r} span, got {[s.name for s in self.all()]}"
        return found[0]

    def attrs(self, name: str) -> dict[str, Any]:
        return dict(self.one(name).attributes or {})

    def clear(self) -> None:
        self.exporter.clear()


@pytest.fixture(scope="session")
def _exporter() -> InMemorySpanExporter:
    if os.environ.get(CASES_ENV) != "1":
        pytest.fail("run these cases through tests/agentops/test_agentops.py (a fresh process)")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # before agentops.init: agentops' own is not installed
    import agentops

    agentops.init(
        auto_start_session=False,
        instrument_llm_calls=False,
        log_session_replay_url=False,
        log_level="CRITICAL",
    )
    assert trace.get_tracer_provider() is provider
    assert agentops.tracer.initialized
    return exporter


@pytest.fixture
def spans(_exporter: InMemorySpanExporter) -> Iterator[Spans]:
    """Spans finished during this test (agentops is initialised offline)."""
    _exporter.clear()
    yield Spans(_exporter)
    _exporter.clear()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


@pytest.fixture
def plain(db_url: str) -> Iterator[botwire.Memory]:
    """An untraced memory; traced views of it share its store."""
    with botwire.Memory("prefs", db_url) as memory:
        yield memory
