"""Load: 64 concurrent clients mixing reads, writes and appends against one server.

Run: ``.venv/bin/python -m benchmarks.bench_load`` (20 s), or ``--seconds 60``
for the issue's full minute, ``--clients N``, ``--db postgresql://…``.

One real server process (``python -m botwire.server``) and one client process
driving ``--clients`` asyncio tasks, each an ``AsyncMemory`` with its own
connection: 60% ``get``, 25% ``set`` (a ~250-byte object), 15% ``append``
(then ``get_list(last=10)`` now and then). Every call is timed end to end in the
client, retries included. The baseline, measured first in the same run, is one
client alone for a few seconds.

The server's resident memory (``/proc/<pid>/status`` VmRSS) is sampled every
second; growth is reported from the end of a warm-up to the end of the run.

Figure: requests, errors (target 0), p50/p99 latency, RSS start/end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from botwire import AsyncMemory, BotWireError
from botwire._http import AsyncHTTPStore
from tests.security.procs import launch_secure, launch_server

PAD = "x" * 200


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line")


async def drive(
    url: str, clients: int, seconds: float, seed: int, api_key: str | None = None
) -> tuple[list[float], int]:
    """Run ``clients`` tasks for ``seconds``; return latencies and the error count."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def client(c: int) -> None:
        nonlocal errors
        rng = random.Random(seed * 1000 + c)
        store = AsyncHTTPStore(url, timeout=30.0, api_key=api_key)
        memory = AsyncMemory(f"load-{c % 8}", store=store)
        n = 0
        try:
            while time.monotonic() < deadline:
                roll = rng.random()
                started = time.perf_counter()
                try:
                    if roll < 0.60:
                        await memory.get(f"k-{rng.randrange(500)}")
                    elif roll < 0.85:
                        await memory.set(f"k-{rng.randrange(500)}", {"c": c, "n": n, "pad": PAD})
                    elif roll < 0.97:
                        await memory.append(f"log-{c}", {"n": n})
                    else:
                        await memory.get_list(f"log-{c}", last=10)
                except BotWireError as exc:
                    errors += 1
                    if errors <= 5:
                        print(f"  error: {type(exc).__name__}: {exc}")
                latencies.append(time.perf_counter() - started)
                n += 1
        finally:
            await store.aclose()

    await asyncio.gather(*(client(c) for c in range(clients)))
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--db", default=None, help="store URL (default: a temp SQLite file)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--tokens",
        action="store_true",
        help="serve behind TokenAuth (tests/security/launch.py) with a '*' token",
    )
    args = parser.parse_args()

    db = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='botwire-load-')) / 'load.db'}"
    key = None
    if args.tokens:
        admin = secrets.token_urlsafe(24)
        server = launch_secure(db, admin)
        made = httpx.post(
            f"{server.url}/admin/tokens",
            headers={"authorization": f"Bearer {admin}"},
            json={"namespaces": ["*"], "read": True, "write": True},
        )
        key = made.json()["token"]
    else:
        server = launch_server(db, "--no-access-log")
    with server:
        assert server.process is not None
        pid = server.process.pid
        base_lat, base_err = asyncio.run(drive(server.url, 1, 3.0, args.seed, key))
        asyncio.run(drive(server.url, args.clients, 2.0, args.seed + 1, key))  # warm-up
        samples = [rss_mib(pid)]

        async def sampled() -> tuple[list[float], int]:
            async def sampler() -> None:
                while True:
                    await asyncio.sleep(1.0)
                    samples.append(rss_mib(pid))

            task = asyncio.create_task(sampler())
            try:
                return await drive(server.url, args.clients, args.seconds, args.seed + 2, key)
            finally:
                task.cancel()

        started = time.monotonic()
        latencies, errors = asyncio.run(sampled())
        elapsed = time.monotonic() - started
        samples.append(rss_mib(pid))

    ms = 1000.0
    print(
        f"load: {args.clients} concurrent clients for {args.seconds:g} s against one server"
        f"{' behind TokenAuth' if args.tokens else ''} "
        f"({'SQLite' if not args.db else args.db.split(':')[0]}; 60% get, 25% set, 15% append)"
    )
    print(f"  requests:        {len(latencies)} ({len(latencies) / elapsed:.0f}/s)")
    print(f"  errors:          {errors}   (target 0)")
    print(f"  latency p50:     {statistics.median(latencies) * ms:.1f} ms")
    print(f"  latency p99:     {percentile(latencies, 0.99) * ms:.1f} ms")
    print(f"  latency max:     {max(latencies) * ms:.1f} ms")
    print(
        f"  baseline (1 client alone, 3 s): {len(base_lat)} requests, errors {base_err}, "
        f"p50 {statistics.median(base_lat) * ms:.2f} ms, "
        f"p99 {percentile(base_lat, 0.99) * ms:.2f} ms"
    )
    print(
        f"  p99 ratio vs 1 client: {percentile(latencies, 0.99) / percentile(base_lat, 0.99):.1f}x "
        f"(64 clients share 2 CPU cores with the server)"
    )
    growth = samples[-1] - samples[0]
    print(
        f"  server RSS start/peak/end: {samples[0]:.1f} / {max(samples):.1f} / "
        f"{samples[-1]:.1f} MiB (growth {growth:+.1f} MiB, {growth / samples[0] * 100:+.1f}%)"
    )
    ok = errors == 0 and growth < max(32.0, 0.5 * samples[0])
    print(f"  {'PASS' if ok else 'MISS'}: 0 errors, RSS growth bounded (< 50% or 32 MiB)")


if __name__ == "__main__":
    main()
