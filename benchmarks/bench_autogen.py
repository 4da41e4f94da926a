"""Cost of ``BotWireMemory.query`` / ``update_context`` as the number of memories grows.

Run: ``python benchmarks/bench_autogen.py [--sizes 100,1000,5000] [--rounds 15]``

For each size N, in one process and one temporary SQLite file, prints the median
milliseconds of:

* ``query``: ``BotWireMemory.query`` (reads every entry under the prefix, ranks by
  shared words then recency, returns 5);
* ``update_context``: what ``AssistantAgent`` calls before each model call (query +
  replacing the memory block in a 20-message model context);
* ``ListMemory.query``: AutoGen's in-process reference memory holding the same N
  memories (returns them all, no ranking, no I/O): the baseline;
* ``get one key``: one ``AsyncMemory.get`` on the same file, the floor of any read.

Ratios are against ``ListMemory.query`` measured in the same run. The cost is
linear in N (every entry under the prefix is read and ranked each turn); the target
printed is ``query`` under 50 ms at N=1000 (a model call takes hundreds), which
docs/autogen.md quotes with the figures measured.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence

TARGET_MS_AT_1000 = 50.0
WORDS = "tea coffee paris lyon blue green metric imperial cat dog rain snow train bike".split()


async def interleaved_median_ms(
    cases: dict[str, Callable[[], Awaitable[object]]], rounds: int
) -> dict[str, float]:
    """Median ms per case; the cases take turns so machine load hits them alike."""
    for fn in cases.values():
        await fn()  # warm up
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            await fn()
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


async def run(sizes: Sequence[int], rounds: int) -> bool:
    from autogen_core.memory import ListMemory, MemoryContent, MemoryMimeType
    from autogen_core.model_context import UnboundedChatCompletionContext
    from autogen_core.models import AssistantMessage, UserMessage

    from botwire import AsyncMemory
    from botwire.autogen import BotWireMemory

    ok = True
    print(f"{'N':>6} {'case':<18} {'median ms':>10} {'x ListMemory':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        for n in sizes:
            memory = BotWireMemory(f"bench-{n}", url)
            baseline = ListMemory()
            plain = AsyncMemory(f"bench-{n}", url)
            await plain.set("one", "value")
            for i in range(n):
                text = f"memory {i}: user likes {WORDS[i % len(WORDS)]} and {WORDS[i * 7 % 13]}"
                content = MemoryContent(content=text, mime_type=MemoryMimeType.TEXT)
                await memory.add(content)
                await baseline.add(content)
            context = UnboundedChatCompletionContext()
            for i in range(10):
                await context.add_message(UserMessage(content=f"question {i}", source="user"))
                await context.add_message(AssistantMessage(content=f"answer {i}", source="a"))
            await context.add_message(
                UserMessage(content="Do I like tea or coffee?", source="user")
            )

            async def query() -> object:
                return await memory.query("Do I like tea or coffee?")  # noqa: B023

            async def update() -> object:
                return await memory.update_context(context)  # noqa: B023

            async def list_query() -> object:
                return await baseline.query("Do I like tea or coffee?")  # noqa: B023

            async def get_one() -> object:
                return await plain.get("one")  # noqa: B023

            figures = await interleaved_median_ms(
                {
                    "query": query,
                    "update_context": update,
                    "ListMemory.query": list_query,
                    "get one key": get_one,
                },
                rounds,
            )
            base = figures["ListMemory.query"]
            for name, ms in figures.items():
                print(f"{n:>6} {name:<18} {ms:>10.3f} {ms / base:>12.0f}x")
            if n == 1000:
                hit = figures["query"] < TARGET_MS_AT_1000
                ok = ok and hit
                verdict = "PASS" if hit else "MISS"
                print(f"target: query < {TARGET_MS_AT_1000:.0f} ms at N=1000: {verdict}")
            await memory.close()
            await plain.aclose()
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="100,1000,5000", help="memory counts (default 100,1000,5000)"
    )
    parser.add_argument("--rounds", type=int, default=15, help="timed calls per case (default 15)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    return 0 if asyncio.run(run(sizes, args.rounds)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
