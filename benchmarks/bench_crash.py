"""Crash safety: SIGKILL the server during a write storm, then audit every write.

Run: ``.venv/bin/python -m benchmarks.bench_crash`` (SQLite, 20 kills, ~60 s), or
``--kills 50``, or ``--db postgresql://user@host/db`` for PostgreSQL (add
``--restart-postgres-at 10`` to restart a private PostgreSQL cluster once;
``--pg-cluster`` starts that cluster in a temp dir).

Several client threads (the real HTTP client) write without pause: sets of fresh
keys, appends of unique items, and batches of both. A killer thread sends the
server ``SIGKILL`` at random moments and restarts it on the same port. Afterwards
the audit checks that every write a client saw acknowledged is present, that no
appended item appears twice, and (SQLite) that ``PRAGMA integrity_check`` is ok.

Figure: kills survived, acknowledged writes checked, writes lost (must be 0).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from botwire import AppendOp, BotWireError, Memory, SetOp
from tests.security.procs import Proc, free_port, launch_server


class Storm:
    """Client threads writing unique things, remembering what was acknowledged."""

    def __init__(self, url: str, namespace: str, clients: int) -> None:
        self.url = url
        self.namespace = namespace
        self.clients = clients
        self.stop = threading.Event()
        self.acked: list[tuple[str, int, int]] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(c,)) for c in range(clients)]

    def _client(self, c: int) -> None:
        with Memory(self.namespace, self.url, timeout=5.0) as m:
            i = 0
            while not self.stop.is_set():
                kind = ("set", "append", "batch")[i % 3]
                try:
                    if kind == "set":
                        m.set(f"s-{c}-{i}", {"c": c, "i": i})
                    elif kind == "append":
                        m.append(f"log-{c}", f"{c}-{i}")
                    else:
                        item = json.dumps(f"b{c}-{i}")
                        m.batch([SetOp(f"b-{c}-{i}", item), AppendOp(f"blog-{c}", (item,))])
                except BotWireError as exc:
                    with self.lock:
                        self.errors[type(exc).__name__] += 1
                    time.sleep(0.05)
                else:
                    with self.lock:
                        self.acked.append((kind, c, i))
                i += 1

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def audit(url: str, storm: Storm) -> dict[str, int]:
    """Check every acknowledged write against what the server holds now."""
    lost = reapplied = 0
    with Memory(storm.namespace, url, timeout=30.0) as m:
        items: collections.Counter[str] = collections.Counter()
        for c in range(storm.clients):
            items.update(m.get_list(f"log-{c}"))
            items.update(m.get_list(f"blog-{c}"))
        keys = {k: None for k in m.list_keys()}
        wanted = [k for k in keys if k.startswith(("s-", "b-"))]
        values: dict[str, object] = {}
        for start in range(0, len(wanted), 500):  # a batch holds at most 1000 operations
            values.update(m.get_many(wanted[start : start + 500]))
        versions: dict[str, int] = {}
        for kind, c, i in storm.acked:
            if kind == "set":
                key = f"s-{c}-{i}"
                if values.get(key) != {"c": c, "i": i}:
                    lost += 1
                else:
                    versions[key] = 0
            elif kind == "append":
                lost += items[f"{c}-{i}"] == 0
            else:
                key = f"b-{c}-{i}"
                if values.get(key) != f"b{c}-{i}" or items[f"b{c}-{i}"] == 0:
                    lost += 1
                else:
                    versions[key] = 0
        for key in versions:  # a set applied twice (a retry after an unseen commit)
            item = m.get_item(key)
            reapplied += item is not None and item.version > 1
    return {
        "checked": len(storm.acked),
        "lost": lost,
        "duplicated_items": sum(n - 1 for n in items.values() if n > 1),
        "sets_applied_twice": reapplied,
    }


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def restart_postgres(data_dir: str, port: int, server_url: str, namespace: str) -> str:
    """Restart the private cluster; probe the BotWire server while it is down."""
    import subprocess

    probes: list[tuple[int, float, str | None]] = []
    subprocess.run(
        _pg(["pg_ctl", "-D", data_dir, "-m", "immediate", "stop"]), check=True, capture_output=True
    )
    for _ in range(5):
        started = time.monotonic()
        try:
            r = httpx.get(f"{server_url}/memory/{namespace}/probe", timeout=30)
            probes.append((r.status_code, time.monotonic() - started, r.headers.get("retry-after")))
        except httpx.HTTPError as exc:
            probes.append((0, time.monotonic() - started, type(exc).__name__))
        time.sleep(0.2)
    _pg_start(data_dir, port)
    recovered = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        try:
            if httpx.get(f"{server_url}/memory/{namespace}/probe", timeout=10).status_code in (
                200,
                404,
            ):
                recovered = time.monotonic() - t0
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    shown = ", ".join(f"{s} in {t * 1000:.0f} ms (Retry-After {ra})" for s, t, ra in probes)
    return f"PostgreSQL restart: answers during the outage: {shown}; recovered after {recovered}s"


def _pg(args: list[str]) -> list[str]:
    return ["su", "postgres", "-c", " ".join(["/usr/lib/postgresql/15/bin/" + args[0], *args[1:]])]


def _pg_start(data_dir: str, port: int) -> None:
    import subprocess

    subprocess.run(
        _pg(
            [
                "pg_ctl",
                "-D",
                data_dir,
                "-w",
                "-l",
                f"{data_dir}/log",
                "-o",
                f"'-p {port} -k /tmp -c listen_addresses=127.0.0.1'",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )


def private_cluster() -> tuple[str, int]:
    """initdb a throwaway PostgreSQL cluster (run as the postgres user) and start it."""
    import os
    import subprocess

    data_dir = tempfile.mkdtemp(prefix="botwire-pg-")
    os.chown(data_dir, *_postgres_ids())
    subprocess.run(
        _pg(["initdb", "-A", "trust", "-U", "postgres", "-D", data_dir]),
        check=True,
        capture_output=True,
    )
    port = free_port()
    _pg_start(data_dir, port)
    return data_dir, port


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--db", default=None, help="store URL (default: a temp SQLite file)")
    parser.add_argument(
        "--pg-cluster", action="store_true", help="start a private PostgreSQL cluster and use it"
    )
    parser.add_argument(
        "--restart-postgres-at",
        type=int,
        default=None,
        help="restart the private cluster once, after this many kills",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    cluster: tuple[str, int] | None = None
    db_file: Path | None = None
    if args.pg_cluster:
        cluster = private_cluster()
        db = f"postgresql://postgres@127.0.0.1:{cluster[1]}/postgres"
    elif args.db:
        db = args.db
    else:
        db_file = Path(tempfile.mkdtemp(prefix="botwire-crash-")) / "crash.db"
        db = f"sqlite:///{db_file}"
    namespace = f"crash-{uuid.uuid4().hex[:8]}"
    port = free_port()
    server: Proc = launch_server(db, "--no-access-log", port=port)
    storm = Storm(server.url, namespace, args.clients)
    notes: list[str] = []
    started = time.monotonic()
    storm.start()
    kills = 0
    try:
        for kills in range(1, args.kills + 1):
            time.sleep(rng.uniform(0.2, 1.2))
            server.kill()
            server.start()
            if cluster and args.restart_postgres_at == kills:
                notes.append(restart_postgres(cluster[0], cluster[1], server.url, namespace))
        time.sleep(0.5)
    finally:
        storm.finish()
    figures = audit(server.url, storm)
    server.stop()
    seconds = time.monotonic() - started
    check = integrity(db_file) if db_file else "n/a (PostgreSQL)"
    if cluster:
        import subprocess

        subprocess.run(_pg(["pg_ctl", "-D", cluster[0], "-m", "fast", "stop"]), capture_output=True)
    store = "SQLite" if db_file else "PostgreSQL"
    print(f"crash safety ({store}, {args.clients} clients, {seconds:.0f} s)")
    print(f"  kills survived:             {kills} (SIGKILL, restart on the same port)")
    print(f"  acknowledged writes checked: {figures['checked']}")
    print(f"  writes lost:                {figures['lost']}   (target 0)")
    print(f"  appended items duplicated:  {figures['duplicated_items']}   (target 0)")
    print(
        f"  sets applied twice:         {figures['sets_applied_twice']}"
        "   (retried after a commit whose answer was lost; same value)"
    )
    print(f"  client errors surfaced:     {dict(storm.errors)} (writes not acknowledged)")
    print(f"  PRAGMA integrity_check:     {check}")
    for note in notes:
        print(f"  {note}")
    ok = (
        figures["lost"] == 0
        and figures["duplicated_items"] == 0
        and check in ("ok", "n/a (PostgreSQL)")
    )
    print(f"  {'PASS' if ok else 'MISS'}: 0 lost, 0 duplicated, integrity ok")


if __name__ == "__main__":
    main()
