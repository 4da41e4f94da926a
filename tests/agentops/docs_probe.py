"""Run every Python snippet of docs/agentops.md, in order, against a real offline
``agentops.init()``; print one JSON line: what was printed and every span.

Run by ``test_agentops_docs.py`` in a child process: ``agentops.init()`` and
OpenTelemetry's global provider are process-wide and set once. An SDK provider
with an in-memory exporter is installed first, so AgentOps' own (with its
network exporter) never is; the AgentOps settings come from the environment.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "agentops.md"


def main() -> int:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    snippets = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), re.DOTALL)
    printed = io.StringIO()
    namespace: dict[str, object] = {"__name__": "__docs__"}
    with contextlib.redirect_stdout(printed):
        for number, code in enumerate(snippets, 1):
            exec(compile(code, f"{DOC} snippet {number}", "exec"), namespace)
    spans = [
        {
            "name": s.name,
            "trace": s.context.trace_id,
            "span": s.context.span_id,
            "parent": s.parent.span_id if s.parent else None,
            "kind": s.kind.name,
            "attributes": dict(s.attributes or {}),
        }
        for s in exporter.get_finished_spans()
    ]
    expected = [
        comment.strip() for code in snippets for comment in re.findall(r"print\(.*\)  # (.*)", code)
    ]
    print(json.dumps({"printed": printed.getvalue(), "expected": expected, "spans": spans}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
