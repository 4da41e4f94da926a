"""In-process fixtures for the AgentOps adapter: an SDK tracer provider with an
in-memory exporter, handed to the instrumentation as ``tracer_provider=`` (the
global provider is set once per process, so the tests never touch it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import botwire

pytest.importorskip("agentops")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)


class Spans:
    """The spans finished so far, with helpers to find them."""

    def __init__(self, provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
        self.provider = provider
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


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spans]:
    """A tracer provider of this test's own, and the spans it finished."""
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)  # the CrewAI tests set it
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Spans(provider, exporter)
    provider.shutdown()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


@pytest.fixture
def plain(db_url: str) -> Iterator[botwire.Memory]:
    """A memory no test has traced yet."""
    with botwire.Memory("prefs", db_url) as memory:
        yield memory
