"""Benchmark the BotWire server against the ceiling of its HTTP stack.

    .venv/bin/python benchmarks/bench_server.py [--duration 5] [--postgres URL]

Measures requests/s and p50/p99 latency of GET, PUT (~200-byte JSON values) and
append, at concurrency 1 and 16, for the server on SQLite (and on PostgreSQL when
``--postgres`` or ``BOTWIRE_TEST_POSTGRES_URL`` is given), and for a bare
Starlette endpoint under the same uvicorn that returns a constant JSON body of the
same size as our answer (the ceiling of the stack FastAPI is built on). Prints
our/ceiling ratios. Then a chat-history run: 1,000 messages of ~300 bytes appended
one by one to one list; time per append at the start and at the end, each beside
appends to short lists made at the same moment, whose ratio (growth with length)
is the flatness figure: the raw last/first moves by +-30% with the machine's drift.

Every server runs pinned to CPU 0 and the load generator to CPU 1. The load
generator is ``wrk`` (Debian: ``apt-get install wrk``); without it a Python
generator is used and the script says so: its bare-endpoint figure shows whether
it, rather than the server, was the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU, LOAD_CPU = 0, 1
VALUE = {"role": "assistant", "content": "x" * 150, "turn": 1}  # ~200 bytes encoded
MESSAGE = {"role": "user", "content": "m" * 260, "ts": 1732500000.0}  # ~300 bytes
KEYS = 1000
LISTS = 100

BARE_APP = textwrap.dedent(
    """
    import os
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    BODIES = {m: b"{" + b'"x":"' + b"y" * (int(os.environ["BARE_" + m]) - 8) + b'"}'
              for m in ("GET", "PUT", "POST")}

    async def endpoint(request):
        await request.body()
        return Response(BODIES[request.method], media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "PUT", "POST"])])
    """
)

LUA = """
wrk.method = "{method}"
wrk.headers["Content-Type"] = "application/json"
{body}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "{prefix}" .. (n % {modulo}))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {{"requests":%d,"us":%d,"p50":%d,"p99":%d,"errors":%d,"non2xx":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(cpu: int) -> Any:
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def wait_healthy(url: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            if httpx.get(url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 60 s")


class Server:
    """A server process pinned to SERVER_CPU."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], health: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [a.replace("{port}", str(self.port)) for a in args]
        self.process = subprocess.Popen(
            args,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pin(SERVER_CPU),
        )
        wait_healthy(self.url, self.process, health)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def botwire_server(name: str, db: str) -> Server:
    # Defaults as a user gets them (access log on; here it goes to /dev/null).
    return Server(
        name,
        [sys.executable, "-m", "botwire.server", "--port", "{port}", "--db", db],
        {},
        "/healthz",
    )


def bare_server(folder: Path, sizes: dict[str, int]) -> Server:
    (folder / "bare_app.py").write_text(BARE_APP)
    env = {f"BARE_{method}": str(size) for method, size in sizes.items()}
    return Server(
        "bare Starlette",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(folder),
            "bare_app:app",
            "--port",
            "{port}",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env,
        "/healthz",
    )


# -- workloads ------------------------------------------------------------------

VALUE_JSON = json.dumps(VALUE, separators=(",", ":"))
WORKLOADS = {
    "GET": ("GET", None, "/memory/bench/k", KEYS),
    "PUT": ("PUT", '{"value":' + VALUE_JSON + "}", "/memory/bench/k", KEYS),
    "append": ("POST", '{"append":[' + VALUE_JSON + "]}", "/memory/bench/list-", LISTS),
}


def populate(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        ops = [{"op": "set", "key": f"k{i}", "value": VALUE} for i in range(KEYS)]
        client.post("/memory/bench", json={"ops": ops}).raise_for_status()


def answer_sizes(url: str) -> dict[str, int]:
    with httpx.Client(base_url=url) as client:
        return {
            "GET": len(client.get("/memory/bench/k1").content),
            "PUT": len(client.put("/memory/bench/k1", json={"value": VALUE}).content),
            "POST": len(client.post("/memory/bench/list-1", json={"append": [VALUE]}).content),
        }


def run_wrk(url: str, workload: str, connections: int, seconds: float, folder: Path) -> dict:
    method, body, prefix, modulo = WORKLOADS[workload]
    script = folder / f"{workload}.lua"
    script.write_text(
        LUA.format(
            method=method,
            body="" if body is None else f"wrk.body = [[{body}]]",
            prefix=prefix,
            modulo=modulo,
        )
    )
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        preexec_fn=pin(LOAD_CPU),
        check=True,
    )
    match = re.search(r"RESULT (\{.*\})", result.stdout)
    if not match:
        raise RuntimeError(f"could not read wrk's output:\n{result.stdout}\n{result.stderr}")
    data = json.loads(match.group(1))
    return {
        "rps": data["requests"] / (data["us"] / 1e6),
        "p50_ms": data["p50"] / 1000,
        "p99_ms": data["p99"] / 1000,
        "failed": data["errors"] + data["non2xx"],
    }


def _python_load(url: str, workload: str, connections: int, seconds: float, out: Any) -> None:
    """Raw-socket HTTP/1.1 keep-alive load generator (fallback when wrk is missing)."""
    method, body, prefix, modulo = WORKLOADS[workload]
    host, port = url.removeprefix("http://").split(":")
    payload = (body or "").encode()
    latencies: list[float] = []
    failed = 0
    counter = 0

    async def connection(deadline: float) -> None:
        nonlocal counter, failed
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < deadline:
            counter += 1
            head = (
                f"{method} {prefix}{counter % modulo} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + payload)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_line.startswith(b"HTTP/1.1 2"):
                failed += 1
        writer.close()

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(connection(deadline) for _ in range(connections)))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    out.update(
        rps=len(latencies) / elapsed,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        failed=failed,
    )


def run_python(url: str, workload: str, connections: int, seconds: float, folder: Path) -> dict:
    out_file = folder / f"py-{uuid.uuid4().hex}.json"
    code = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from bench_server import _python_load
        out = {{}}
        _python_load({url!r}, {workload!r}, {connections}, {seconds}, out)
        open({str(out_file)!r}, "w").write(json.dumps(out))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, preexec_fn=pin(LOAD_CPU))
    return dict(json.loads(out_file.read_text()))


# -- the chat-history run ------------------------------------------------------


class ChatRun(NamedTuple):
    """Median append times (ms) of a chat-history run."""

    first: float  # the first 100 appends to the session list
    last: float  # its last 100 (the list ~900-1,000 long)
    short_first: float  # the appends to short lists made alongside the first 100
    short_last: float  # ... and alongside the last 100


def chat_history(url: str, messages: int = 1000, window: int = 100) -> ChatRun:
    """Append ``messages`` messages one by one to one session list, timing each.

    Each append to the session is followed by one to a short list (a new one every
    10 appends), timed too: the start and the end of the session then each have a
    same-moment reference, so drift in the machine's speed over the run (other
    processes, CPU frequency) does not pass for growth with the list's length.
    """
    from botwire import Memory

    times: list[float] = []
    short: list[float] = []
    with Memory("bench-chat", url=url) as memory:
        for i in range(50):  # warm the connection and both processes up on another list
            memory.append("warm-up", {**MESSAGE, "n": i})
        key = f"session-{uuid.uuid4().hex[:8]}"
        for i in range(messages):
            started = time.perf_counter()
            memory.append(key, {**MESSAGE, "n": i})
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            memory.append(f"{key}-short-{i // 10}", {**MESSAGE, "n": i})
            short.append(time.perf_counter() - started)
        assert len(memory.get_list(key)) == messages
    ms = [statistics.median(part) * 1000 for part in (times[:window], times[-window:])]
    ms += [statistics.median(part) * 1000 for part in (short[:window], short[-window:])]
    return ChatRun(*ms)


# -- main ------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BOTWIRE_TEST_POSTGRES_URL"),
        help="PostgreSQL URL (default $BOTWIRE_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args()

    wrk = shutil.which("wrk")
    if wrk:
        load, generator = run_wrk, "wrk (1 thread)"
    else:
        load, generator = run_python, "Python asyncio sockets (wrk not found)"
        print(
            "NOTE: wrk is not installed (Debian: apt-get install wrk); using the Python "
            "load generator. Compare its bare-Starlette figures with ours: if the bare "
            "endpoint is not clearly faster, the generator is the limit.\n"
        )
    cpus = os.cpu_count() or 1
    print(
        f"load generator: {generator}; server on CPU {SERVER_CPU}, load on CPU {LOAD_CPU} "
        f"({cpus} CPUs{'' if cpus >= 2 else ', NOT pinned'}); {args.duration:g} s per run"
    )
    with open("/proc/loadavg") if Path("/proc/loadavg").exists() else open(os.devnull) as f:
        avg = f.read().split()[:3]
    if avg:
        print(
            f"load average before the run: {' '.join(avg)} (other work skews absolute figures; "
            "ratios come from the same run)"
        )

    folder = Path(tempfile.mkdtemp(prefix="botwire-bench-"))
    targets: list[Server] = []
    try:
        ours = [botwire_server("BotWire on SQLite", f"sqlite:///{folder / 'bench.db'}")]
        if args.postgres:
            try:
                ours.append(botwire_server("BotWire on PostgreSQL", args.postgres))
            except RuntimeError as exc:
                print(f"PostgreSQL run skipped: the server did not start ({exc})")
        else:
            print("PostgreSQL run skipped: pass --postgres URL or set BOTWIRE_TEST_POSTGRES_URL")
        targets += ours
        for server in ours:
            populate(server.url)
        sizes = answer_sizes(ours[0].url)
        bare = bare_server(folder, sizes)
        targets.append(bare)
        print(f"answer sizes (ours = ceiling): {sizes}\n")

        results: dict[tuple[str, str, int], dict] = {}
        for connections in (1, 16):
            for workload in WORKLOADS:
                for server in [bare, *ours]:
                    load(server.url, workload, connections, 1, folder)  # warm up
                    results[(server.name, workload, connections)] = load(
                        server.url, workload, connections, args.duration, folder
                    )
        print(
            f"{'server':<24}{'op':<8}{'conc':>5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'x ceiling':>11}{'failed':>8}"
        )
        for connections in (1, 16):
            for workload in WORKLOADS:
                ceiling = results[(bare.name, workload, connections)]["rps"]
                for server in [bare, *ours]:
                    r = results[(server.name, workload, connections)]
                    print(
                        f"{server.name:<24}{workload:<8}{connections:>5}{r['rps']:>10.0f}"
                        f"{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['rps'] / ceiling:>11.2f}"
                        f"{r['failed']:>8}"
                    )
        print(
            "\ntargets at concurrency 16 on SQLite: GET >= 0.5x, PUT >= 0.5x the ceiling, "
            "PUT p99 <= 10 ms"
        )
        sqlite = ours[0].name
        get16 = results[(sqlite, "GET", 16)]["rps"] / results[(bare.name, "GET", 16)]["rps"]
        put16 = results[(sqlite, "PUT", 16)]["rps"] / results[(bare.name, "PUT", 16)]["rps"]
        p99 = results[(sqlite, "PUT", 16)]["p99_ms"]
        print(f"measured: GET {get16:.2f}x, PUT {put16:.2f}x, PUT p99 {p99:.2f} ms")

        print(
            "\nchat history: 1,000 appends of ~300-byte messages to one list, one by one, "
            "each followed by one to a short list (same-moment reference)"
        )
        for server in ours:
            run = chat_history(server.url)
            flat = (run.last / run.short_last) / (run.first / run.short_first)
            print(
                f"{server.name:<24} median append: first 100 {run.first:.2f} ms, last 100 "
                f"{run.last:.2f} ms (last/first {run.last / run.first:.2f}); short lists "
                f"alongside: {run.short_first:.2f} / {run.short_last:.2f} ms; "
                f"growth with length {flat:.2f} (target within 1 +- 0.25)"
            )
    finally:
        for server in targets:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
