"""Instructions per embedded ``Memory.set`` with and without the change feed.

    .venv/bin/python -m benchmarks.bench_feed_instructions [--sets 3000]

Load-independent, unlike the set/s of ``bench_feed``: each store runs under
``valgrind --tool=callgrind`` twice, with ``--sets`` overwrites and with none after
the same warm-up (1000 new keys), and the difference is divided by ``--sets``.
"Without" is the same store with the feed's triggers dropped (as in ``bench_feed``).
Needs valgrind (``apt-get install valgrind``). Valgrind counts each byte of a
``rep stosb`` memset as an instruction, so a large memset (a trigger program's
frame) weighs more here than on the CPU.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VALUE = {"role": "assistant", "content": "x" * 150}


def _child(feed: bool, sets: int) -> None:
    from botwire import Memory, SQLiteStore

    store = SQLiteStore(Path(tempfile.mkdtemp(prefix="bench-feed-instr-")) / "m.db")
    if not feed:
        conn = store._conn()
        names = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'feed%'"
        ).fetchall()
        for (name,) in names:
            conn.execute(f"DROP TRIGGER {name}")
    memory = Memory("w", store=store)
    for i in range(1000):
        memory.set(f"k{i}", VALUE)
    for i in range(sets):
        memory.set(f"k{i % 1000}", VALUE)
    store.close()


def _instructions(feed: bool, sets: int) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "benchmarks.bench_feed_instructions",
        "--child", "feed" if feed else "nofeed", "--sets", str(sets),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError("no instruction count from valgrind:\n" + done.stderr[-2000:])
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, default=3000)
    parser.add_argument("--child", choices=["feed", "nofeed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child == "feed", args.sets)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("needs valgrind (apt-get install valgrind)")
    per_set = {}
    for name, feed in (("without the feed", False), ("with the feed", True)):
        per_set[name] = (_instructions(feed, args.sets) - _instructions(feed, 0)) / args.sets
        print(f"  instructions per set {name:17}: {per_set[name]:9,.0f}")
    ratio = per_set["without the feed"] / per_set["with the feed"]
    print(f"  ratio without/with (instructions): {ratio:.2f}")


if __name__ == "__main__":
    main()
