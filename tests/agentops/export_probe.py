"""Do traced memory spans really leave the process through AgentOps? (a child process)

Run by ``test_agentops.py``. A loopback HTTP server plays AgentOps: it answers the
auth call with a JWT and receives OTLP/HTTP trace exports. AgentOps is initialised
for real (its own provider, ``BatchSpanProcessor`` and ``AuthenticatedOTLPExporter``)
with its endpoints pointed at that server. Prints one JSON line: what arrived.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RECEIVED: list[bytes] = []
AUTHORIZATION: list[str | None] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/v3/auth/token"):
            answer = json.dumps({"token": "jwt-from-loopback", "project_id": "p-1"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            if self.path.endswith("/v1/traces"):
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                RECEIVED.append(body)
                AUTHORIZATION.append(self.headers.get("Authorization"))
            answer = b""
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["AGENTOPS_API_ENDPOINT"] = base
    os.environ["AGENTOPS_EXPORTER_ENDPOINT"] = f"{base}/v1/traces"

    from botwire import Memory
    from botwire.agentops import memory_operation, traced

    folder = tempfile.mkdtemp()
    memory = traced(Memory("prefs", f"sqlite:///{folder}/memory.db"))
    memory.set("before", "init")  # no provider yet: no span, and no error

    @memory_operation
    def remember_style(memory: Memory, key: str, style: str) -> None:
        memory.set(key, style)

    import agentops

    agentops.init(
        api_key="00000000-0000-4000-8000-000000000000",
        auto_start_session=False,
        instrument_llm_calls=False,
        log_session_replay_url=False,
    )
    client = agentops.get_client()
    deadline = time.monotonic() + 10
    while client.get_current_jwt() is None and time.monotonic() < deadline:
        time.sleep(0.05)

    with agentops.start_trace("probe"):
        remember_style(memory, "user-42:style", "concise")
        memory.get("user-42:style")
    agentops.tracer.provider.force_flush()
    deadline = time.monotonic() + 5
    while not RECEIVED and time.monotonic() < deadline:
        time.sleep(0.05)

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    spans = []
    for body in RECEIVED:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                spans.extend(scope_spans.spans)

    def attrs(span: Any) -> dict[str, Any]:
        return {a.key: a.value.string_value or a.value.bool_value for a in span.attributes}

    root = [s for s in spans if s.name == "probe.session"]
    helper = [s for s in spans if s.name == "remember_style.task"]
    parents_ok = bool(root and helper) and all(
        s.parent_span_id == (helper[0].span_id if s.name == "botwire.set.tool" else root[0].span_id)
        for s in spans
        if s.name.startswith(("botwire.", "remember_style."))
    )
    print(
        json.dumps(
            {
                "authorization": AUTHORIZATION[0] if AUTHORIZATION else None,
                "spans": sorted(s.name for s in spans),
                "span_kinds": {s.name: attrs(s).get("agentops.span.kind") for s in spans},
                "parents_ok": parents_ok,
                "untraced_before_init": sum(
                    1 for s in spans if attrs(s).get("botwire.key") == "before"
                ),
            }
        )
    )
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
