"""Peak RSS of a server refusing the worst batch it can be sent under its default limits.

``python -m benchmarks.bench_worst_batch [--db URL]``: starts ``botwire serve`` on
the store (a fresh SQLite file by default), fills one namespace with 1 MiB values
until the namespace quota refuses one, then sends a batch of 10,000 ``get``s
cycling over them, and one ``set`` followed by 9,999 ``get``s. Prints each answer,
its time, and the server's peak RSS (``VmHWM``) after it (Linux).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import httpx

from tests.security.procs import launch_server


def _peak(pid: int) -> str:
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith("Vm"))
    return f"VmHWM {fields['VmHWM'].strip()}, VmRSS {fields['VmRSS'].strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_worst_batch")
    parser.add_argument("--db", default=None, help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    db = args.db or f"sqlite:///{tempfile.mkdtemp()}/worst.db"
    with launch_server(db) as proc:
        assert proc.process is not None
        pid = proc.process.pid
        url = f"{proc.url}/memory/worst-{int(time.time())}"
        value = "x" * (1024 * 1024 - 16)
        count = 0
        while httpx.put(f"{url}/k{count}", json={"value": value}, timeout=30).status_code == 200:
            count += 1
        print(f"{count} keys of 1 MiB stored before the namespace quota; {_peak(pid)}")
        keys = [f"k{i % count}" for i in range(10_000)]
        batches = {
            "10,000 gets": [{"op": "get", "key": k} for k in keys],
            "set + 9,999 gets": [{"op": "set", "key": "small", "value": 1}]
            + [{"op": "get", "key": k} for k in keys[1:]],
        }
        for name, ops in batches.items():
            started = time.monotonic()
            answer = httpx.post(url, json={"ops": ops}, timeout=300)
            took = time.monotonic() - started
            health = httpx.get(proc.url + "/healthz", timeout=10).status_code
            code = answer.json().get("code")
            print(
                f"{name}: {answer.status_code} {code} in {took:.2f} s, healthz {health}; "
                f"{_peak(pid)}"
            )


if __name__ == "__main__":
    main()
