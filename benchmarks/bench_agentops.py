"""Overhead of ``botwire.agentops`` tracing on an embedded ``get``.

Run: ``python benchmarks/bench_agentops.py [--n 300] [--rounds 100]``

Times, in one process and on the same SQLite file, microseconds per ``get`` of a
small existing value for:

* ``untraced``: a ``botwire.Memory`` whose ``get`` is the original, unpatched
  method (tracing patches the class), the baseline;
* ``traced, no provider``: ``traced(memory)`` while no tracer provider exists
  (AgentOps not initialised): the cost of noticing there is nothing to record;
* ``traced, recording``: ``traced(memory)`` with an OpenTelemetry SDK provider and
  a ``BatchSpanProcessor`` to an exporter that drops the spans, i.e. the pipeline
  ``agentops.init()`` builds, minus the network: every get makes a real span;
* ``get in a bare span``: the untraced ``get`` inside one hand-made SDK span with
  the same attributes: the floor for any tracing that makes a span per operation;
* ``@agentops.tool``: AgentOps' own decorator around the untraced ``get``
  (``agentops.init`` runs offline: no key, no session, no LLM instrumentation).

Each figure is the best of many short rounds, the cases alternating round by
round (the figure least disturbed by other processes, as ``timeit`` advises), and
is printed with its ratio to ``untraced`` measured in the same phase. The targets:
``traced, no provider`` within 10% of ``untraced``, and ``traced, recording``
within 10% of ``get in a bare span``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

TARGET = 0.10
KEY = "user-42:style"


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    """Mean microseconds per call over ``n`` calls, with the collector off (as timeit)."""
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6
    finally:
        gc.enable()


def best_of(cases: dict[str, Callable[[], Any]], n: int, rounds: int) -> dict[str, float]:
    """Best round per case; the cases alternate, in turn forwards and backwards."""
    for fn in cases.values():
        per_call_us(fn, n)  # warm up
    samples: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases.items())
    for _ in range(rounds):
        for name, fn in order:
            samples[name].append(per_call_us(fn, n))
        order.reverse()
    return {name: min(values) for name, values in samples.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Overhead of botwire.agentops.traced")
    parser.add_argument("--n", type=int, default=300, help="gets per round (default 300)")
    parser.add_argument("--rounds", type=int, default=100, help="rounds per case (default 100)")
    args = parser.parse_args(argv)

    os.environ.setdefault("AGENTOPS_LOGGING_TO_FILE", "false")  # no ./agentops.log
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from botwire import Memory
    from botwire.agentops import traced

    class DropExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        tmemory = traced(Memory("bench", url=url))
        original_get: Any = getattr(Memory.get, "__wrapped__", Memory.get)

        class Untraced(Memory):
            get = original_get  # what Memory.get is before any tracing

        memory = Untraced("bench", url=url)
        memory.set(KEY, {"style": "concise", "language": "en"})
        assert memory.get(KEY) == tmemory.get(KEY)

        off = best_of(
            {"untraced": lambda: memory.get(KEY), "traced": lambda: tmemory.get(KEY)},
            args.n,
            args.rounds,
        )

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(DropExporter()))
        trace.set_tracer_provider(provider)  # before agentops.init, so no network exporter
        import agentops

        agentops.init(
            api_key=None,
            auto_start_session=False,
            instrument_llm_calls=False,
            log_session_replay_url=False,
            log_level="CRITICAL",
        )
        tracer = trace.get_tracer("bench")
        attrs = {  # what a traced get records
            "db.system.name": "botwire",
            "db.operation.name": "get",
            "db.namespace": "bench",
            "botwire.store": "sqlite",
            "agentops.span.kind": "tool",
            "operation.name": "botwire.get",
            "botwire.key": KEY,
        }

        def get_in_a_bare_span() -> Any:
            with tracer.start_as_current_span(
                "botwire.get.tool", kind=trace.SpanKind.CLIENT, attributes=attrs
            ) as span:
                value = memory.get(KEY)
                span.set_attributes({"botwire.hit": True})
                return value

        decorated = agentops.tool(name="memory.get")(memory.get)
        on = best_of(
            {
                "untraced": lambda: memory.get(KEY),
                "traced": lambda: tmemory.get(KEY),
                "bare span": get_in_a_bare_span,
                "agentops.tool": lambda: decorated(KEY),
            },
            max(args.n // 3, 50),
            args.rounds,
        )
        provider.shutdown()
        memory.close()

    rows = [
        ("untraced", off["untraced"], off["untraced"]),
        ("traced, no provider", off["traced"], off["untraced"]),
        ("untraced (again)", on["untraced"], on["untraced"]),
        ("traced, recording", on["traced"], on["untraced"]),
        ("get in a bare span", on["bare span"], on["untraced"]),
        ("@agentops.tool", on["agentops.tool"], on["untraced"]),
    ]
    print(f"embedded get: best of {args.rounds} alternating rounds of {args.n} calls")
    print(f"{'case':<24}{'us/get':>10}{'vs untraced':>14}")
    for name, value, base in rows:
        print(f"{name:<24}{value:>10.1f}{value / base:>13.2f}x")
    overhead = off["traced"] / off["untraced"] - 1
    verdict = "met" if overhead <= TARGET else "MISSED"
    print(f"overhead with no provider: {overhead:+.1%} (target <= {TARGET:.0%}: {verdict})")
    over_span = on["traced"] / on["bare span"] - 1
    verdict = "met" if over_span <= TARGET else "MISSED"
    print(
        f"overhead while recording: {over_span:+.1%} over a bare span "
        f"(target <= {TARGET:.0%}: {verdict}); {on['traced'] - on['untraced']:.1f} us per "
        f"get, one bare span {on['bare span'] - on['untraced']:.1f} us, @agentops.tool "
        f"{on['agentops.tool'] - on['untraced']:.1f} us"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
