"""BotWire for AgentOps, in process: every memory operation a client span, metadata only.

The spans go to a tracer provider of each test's own (``tracer_provider=``);
``test_agentops_docs.py`` runs the page and the article against a real, offline
``agentops.init()`` in a child process (the global provider is set once).
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

import botwire
import botwire.agentops
from botwire import AsyncMemory, Memory
from botwire.agentops import BotWireInstrumentor, memory_operation, record_function, traced
from botwire.agentops._instrumentor import _instruments

from .conftest import Spans

SECRET = "s3cr3t-value-9f1c"

# Every public operation: (span op name, call on a memory holding "a", "n" and "l").
SYNC_OPERATIONS: list[tuple[str, Callable[[Any], Any]]] = [
    ("get", lambda m: m.get("a")),
    ("get_item", lambda m: m.get_item("a")),
    ("set", lambda m: m.set("a", SECRET)),
    ("delete", lambda m: m.delete("a")),
    ("contains", lambda m: "a" in m),
    ("list_keys", lambda m: m.list_keys(prefix="")),
    ("list_keys", lambda m: m.keys()),
    ("append", lambda m: m.append("l", SECRET)),
    ("get_list", lambda m: m.get_list("l", last=1)),
    ("update", lambda m: m.update("n", lambda n: n + 1)),
    ("get_many", lambda m: m.get_many(["a", "n"])),
    ("set_many", lambda m: m.set_many({"b": SECRET, "c": [SECRET]})),
    ("delete_many", lambda m: m.delete_many(["a", "missing"])),
    ("batch", lambda m: m.batch([botwire.GetOp("a"), botwire.DeleteOp("n")])),
]
ASYNC_OPERATIONS: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
    (op, call) for op, call in SYNC_OPERATIONS if op != "contains"
] + [("contains", lambda m: m.contains("a"))]


def _fill(memory: Memory) -> None:
    memory.set("a", SECRET)
    memory.set("n", 41)
    memory.append("l", SECRET, {"secret": SECRET})


@pytest.fixture
def instrumented(spans: Spans) -> Iterator[BotWireInstrumentor]:
    """Every memory of the process traced, into this test's provider."""
    instrumentor = BotWireInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    yield instrumentor
    instrumentor.uninstrument()


def _check_span(span: Any, op: str) -> dict[str, Any]:
    assert span.name == f"botwire.{op}.tool"
    assert span.kind is SpanKind.CLIENT
    attrs = dict(span.attributes or {})
    assert attrs["db.system.name"] == "botwire"
    assert attrs["db.operation.name"] == op
    assert attrs["db.namespace"] == "prefs"
    assert attrs["agentops.span.kind"] == "tool"
    assert attrs["operation.name"] == f"botwire.{op}"
    assert attrs["botwire.store"] == "sqlite"
    return attrs


@pytest.mark.parametrize(("op", "call"), SYNC_OPERATIONS)
def test_every_operation_is_one_client_span(
    plain: Memory, spans: Spans, op: str, call: Callable[[Any], Any]
) -> None:
    _fill(plain)
    memory = traced(plain, tracer_provider=spans.provider)
    spans.clear()

    call(memory)

    [span] = spans.all()
    _check_span(span, op)
    assert span.status.status_code is StatusCode.UNSET


@pytest.mark.parametrize(("op", "call"), ASYNC_OPERATIONS)
async def test_every_async_operation_is_one_client_span(
    plain: Memory, spans: Spans, op: str, call: Callable[[Any], Awaitable[Any]]
) -> None:
    _fill(plain)
    memory = traced(AsyncMemory.from_sync(plain), tracer_provider=spans.provider)
    spans.clear()

    await call(memory)

    [span] = spans.all()
    _check_span(span, op)


def test_traced_returns_the_memory_itself_with_its_signatures(plain: Memory, spans: Spans) -> None:
    memory = traced(plain, tracer_provider=spans.provider)
    assert memory is plain
    for name in ("get", "set", "append", "update", "list_keys", "get_many", "batch"):
        method = getattr(Memory, name)
        assert inspect.signature(method) == inspect.signature(method.__wrapped__)
        assert method.__doc__ == method.__wrapped__.__doc__
    assert inspect.iscoroutinefunction(AsyncMemory.get)


def test_only_the_traced_memory_makes_spans(plain: Memory, spans: Spans, db_url: str) -> None:
    traced(plain, tracer_provider=spans.provider)
    with Memory("prefs", db_url) as other:
        other.set("x", 1)
        assert other.get("x") == 1
    assert spans.all() == []
    BotWireInstrumentor.uninstrument_memory(plain)
    plain.set("y", 2)
    assert spans.all() == []


def test_same_results_and_exceptions_as_untraced(plain: Memory, spans: Spans, db_url: str) -> None:
    memory = traced(plain, tracer_provider=spans.provider)
    with Memory("prefs-twin", db_url) as twin:
        for target in (memory, twin):
            _fill(target)
        for op, call in SYNC_OPERATIONS:
            got, want = call(memory), call(twin)
            if op == "get_item":
                got, want = (got.value, got.version), (want.value, want.version)
            if op == "batch":
                got, want = len(got), len(want)
            assert got == want, op
        assert memory.get("nothing") is None and memory.get("nothing", 7) == 7
        assert memory.get(key="nothing", default="d") == "d"
        for target in (memory, twin):
            target.set("n", 41)
        for bad in (
            lambda m: m.set("", 1),
            lambda m: m.set("k", {1, 2}),
            lambda m: m.append("n", 1),
            lambda m: m.set("n", 0, if_version=99),
            lambda m: m.get_many("not-a-list"),
        ):
            with pytest.raises(botwire.BotWireError) as traced_error:
                bad(memory)
            with pytest.raises(botwire.BotWireError) as plain_error:
                bad(twin)
            assert type(traced_error.value) is type(plain_error.value)


def test_reads_record_hit_or_miss_and_version(plain: Memory, spans: Spans) -> None:
    memory = traced(plain, tracer_provider=spans.provider)
    memory.set("style", "concise")
    memory.set("style", "detailed")
    spans.clear()

    assert memory.get("style") == "detailed"
    assert memory.get("nothing", "fallback") == "fallback"
    assert memory.get_item("style").version == 2  # type: ignore[union-attr]

    hit, miss, item = spans.botwire()
    assert dict(hit.attributes or {})["botwire.hit"] is True
    assert dict(hit.attributes or {})["botwire.key"] == "style"
    miss_attrs = dict(miss.attributes or {})
    assert miss_attrs["botwire.hit"] is False and "botwire.bytes" not in miss_attrs
    assert dict(item.attributes or {})["botwire.version"] == 2


def test_writes_and_reads_record_sizes_versions_and_counts(plain: Memory, spans: Spans) -> None:
    memory = traced(plain, tracer_provider=spans.provider)

    memory.set("style", "concise", ttl=60)
    memory.set("style", "concise!", if_version=1)
    memory.append("history", "hi", "there")
    memory.set_many({"x": 1, "y": [1, 2]})
    assert memory.list_keys(prefix="x", limit=5) == ["x"]
    assert memory.get_many(["x", "nope"]) == {"x": 1}
    memory.delete_many(["x", "y", "zz"])
    memory.delete("style")

    first, second = spans.named("botwire.set.tool")
    assert dict(first.attributes or {})["botwire.version"] == 1
    assert dict(first.attributes or {})["botwire.bytes"] == len('"concise"')
    assert dict(first.attributes or {})["botwire.ttl"] == 60
    assert dict(second.attributes or {})["botwire.if_version"] == 1
    append = spans.attrs("botwire.append.tool")
    assert append["botwire.count"] == 2 and append["botwire.length"] == 2
    assert append["botwire.bytes"] == len('"hi"') + len('"there"')
    set_many = spans.attrs("botwire.set_many.tool")
    assert list(set_many["botwire.keys"]) == ["x", "y"]
    assert set_many["db.operation.batch.size"] == 2
    assert set_many["botwire.bytes"] == len("1") + len("[1,2]")
    listing = spans.attrs("botwire.list_keys.tool")
    assert listing["botwire.count"] == 1 and listing["botwire.prefix"] == "x"
    assert listing["botwire.limit"] == 5
    assert spans.attrs("botwire.get_many.tool")["botwire.count"] == 1
    assert spans.attrs("botwire.delete_many.tool")["botwire.count"] == 2
    assert spans.attrs("botwire.delete.tool")["botwire.hit"] is True


def test_an_error_is_recorded_and_reraised_unchanged(plain: Memory, spans: Spans) -> None:
    memory = traced(plain, tracer_provider=spans.provider)
    memory.set("style", "concise")
    spans.clear()

    with pytest.raises(botwire.ConflictError) as caught:
        memory.set("style", "detailed", if_version=7)

    assert caught.value.key == "style" and caught.value.current_version == 1
    span = spans.one("botwire.set.tool")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.status.description or "").startswith("ConflictError: ")
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "ConflictError"
    assert attrs["botwire.error.code"] == "version_conflict"
    [event] = span.events
    assert event.name == "exception"


def _everything_recorded(spans: Spans) -> str:
    parts = []
    for span in spans.all():
        parts.append(span.name)
        parts.append(json.dumps(dict(span.attributes or {}), default=str))
        parts.append(str(span.status.description))
        for event in span.events:
            parts.append(json.dumps(dict(event.attributes or {}), default=str))
    return "\n".join(parts)


def test_no_stored_value_is_ever_recorded(plain: Memory, spans: Spans) -> None:
    memory = traced(plain, tracer_provider=spans.provider)
    _fill(memory)
    for _, call in SYNC_OPERATIONS:
        call(memory)
    memory.set("a", SECRET)
    for failing in (
        lambda: memory.set("a", SECRET, if_version=99),
        lambda: memory.append("a", SECRET),
        lambda: memory.set("big", SECRET * 100_000),
    ):
        with pytest.raises(botwire.BotWireError):
            failing()

    assert len(spans.botwire()) >= len(SYNC_OPERATIONS) + 3
    assert "s3cr3t" not in _everything_recorded(spans)


def test_spans_nest_in_the_current_trace(plain: Memory, spans: Spans, db_url: str) -> None:
    memory = traced(plain, tracer_provider=spans.provider)
    with Memory("counters", db_url) as other_plain:
        other = traced(other_plain, tracer_provider=spans.provider)
        tracer = spans.provider.get_tracer("test")
        with tracer.start_as_current_span("support-chat.session"):
            memory.update("total", lambda n: n + other.get("step", 1), default=0)

    root = spans.one("support-chat.session")
    update, inner = spans.one("botwire.update.tool"), spans.one("botwire.get.tool")
    assert update.parent is not None and update.parent.span_id == root.context.span_id
    assert inner.parent is not None and inner.parent.span_id == update.context.span_id
    assert dict(inner.attributes or {})["db.namespace"] == "counters"


def test_the_instrumentor_traces_every_memory_and_undoes_it(
    spans: Spans, db_url: str, plain: Memory
) -> None:
    instrumentor = BotWireInstrumentor()
    instrumentor.instrument(tracer_provider=spans.provider)
    try:
        with Memory("prefs", db_url) as fresh:
            fresh.set("a", 1)
        plain.get("a")
        assert [s.name for s in spans.all()] == ["botwire.set.tool", "botwire.get.tool"]
    finally:
        instrumentor.uninstrument()
    plain.set("b", 2)
    assert len(spans.all()) == 2


async def test_adapters_traced_through_the_instrumentor(
    instrumented: BotWireInstrumentor, plain: Memory, spans: Spans
) -> None:
    """An adapter's async twin (``AsyncMemory.from_sync``) is a memory like any other."""
    pytest.importorskip("langchain_core")
    from langchain_core.messages import HumanMessage

    from botwire.langchain import BotWireChatMessageHistory

    history = BotWireChatMessageHistory("s-1", memory=plain)
    history.add_messages([HumanMessage("I'm Ada")])
    await history.aadd_messages([HumanMessage("async hello")])

    assert [m.content for m in await history.aget_messages()] == ["I'm Ada", "async hello"]
    names = [s.name for s in spans.botwire()]
    assert names.count("botwire.append.tool") == 2 and "botwire.get_list.tool" in names


def test_hooks_see_every_call(plain: Memory, spans: Spans) -> None:
    seen: list[tuple[str, Any]] = []

    def request_hook(span: Any, memory: Any, op: str, args: Any, kwargs: Any) -> None:
        span.set_attribute("app.user", "42")
        seen.append(("request", op))

    def response_hook(span: Any, memory: Any, op: str, result: Any) -> None:
        seen.append(("response", result))

    memory = traced(
        plain,
        tracer_provider=spans.provider,
        request_hook=request_hook,
        response_hook=response_hook,
    )
    memory.set("k", "v")
    memory.get("missing")

    assert seen == [("request", "set"), ("response", 1), ("request", "get"), ("response", None)]
    assert all(dict(s.attributes or {})["app.user"] == "42" for s in spans.all())


def test_suppressed_instrumentation_makes_no_span(plain: Memory, spans: Spans) -> None:
    memory = traced(plain, tracer_provider=spans.provider)
    with suppress_instrumentation():
        memory.set("k", "v")
    assert spans.all() == []
    token = context.attach(context.set_value("unrelated", 1))
    context.detach(token)
    memory.get("k")
    assert len(spans.all()) == 1


def test_nothing_is_made_without_a_provider(plain: Memory) -> None:
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    memory = traced(plain)  # the global provider, which nothing in this process set
    assert memory.set("style", "concise") == 1
    assert memory.get("style") == "concise" and "style" in memory


def test_record_function_and_memory_operation(plain: Memory) -> None:
    @record_function("get_user_preference")
    def get_user_preference(memory: Memory, key: str) -> Any:
        return memory.get(key)

    @memory_operation(name="save")
    async def save(memory: AsyncMemory, key: str, value: str) -> int:
        return await memory.set(key, value)

    plain.set("k", "v")
    assert get_user_preference(plain, "k") == "v"  # no provider: a plain call
    assert get_user_preference.__name__ == "get_user_preference"
    assert inspect.iscoroutinefunction(save)
    with pytest.raises(TypeError, match='record_function\\("name"\\)'):
        record_function(lambda: None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty string"):
        memory_operation(name="")
    with pytest.raises(TypeError, match=r"memory_operation\(name='save'\)"):
        memory_operation("save")

    def generator() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="cannot trace generator"):
        memory_operation(generator)


def test_traced_rejects_what_is_not_a_memory() -> None:
    with pytest.raises(TypeError, match="botwire.Memory or botwire.AsyncMemory, not dict"):
        traced({})


def test_public_names_and_the_supported_range() -> None:
    assert botwire.agentops.__all__ == sorted(botwire.agentops.__all__)
    for name in botwire.agentops.__all__:
        assert getattr(botwire.agentops, name).__doc__
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    extra = pyproject.split("\nagentops = [", 1)[1].split("]", 1)[0]
    declared = [f'"{r.replace(" ", "")}"' for r in _instruments]
    assert [line.strip(" ,") for line in extra.splitlines() if '"agentops' in line] == declared
    assert BotWireInstrumentor().instrumentation_dependencies() == _instruments


def test_importing_does_not_import_agentops_but_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import subprocess
    import sys

    code = "import sys, botwire.agentops; print('agentops' in sys.modules)"
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "False"
    for name in [m for m in sys.modules if m.startswith("botwire.agentops")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "agentops", None)  # type: ignore[arg-type]
    with pytest.raises(botwire.MissingDependencyError, match=r'pip install "botwire\[agentops\]"'):
        importlib.import_module("botwire.agentops")


def test_a_provider_set_behind_the_watch_is_seen_soon(tmp_path: Path) -> None:
    """``from opentelemetry.trace import set_tracer_provider`` before instrumenting."""
    import subprocess
    import sys

    code = f"""
from opentelemetry.trace import set_tracer_provider  # taken before the watch exists
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from botwire import Memory
from botwire.agentops import BotWireInstrumentor
from botwire.agentops._instrumentor import RECHECK_EVERY

BotWireInstrumentor().instrument()
memory = Memory("prefs", "sqlite:///{tmp_path / "m.db"}")
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
set_tracer_provider(provider)
for _ in range(RECHECK_EVERY + 2):
    memory.get("k")
print(len(exporter.get_finished_spans()) > 0)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "True"
