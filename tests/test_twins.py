"""Sync and async twins have the same API, signature for signature (DESIGN.md §8).

Every public pair is compared in full: the methods each side has, and for each
method its parameters (names, kinds, defaults) and annotations, return included,
once ``Async*`` names are mapped to their sync spelling. A drifted pair fails here;
``test_the_comparison_catches_drift`` shows the comparison can fail at all.
"""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (module, sync class, async class, methods that must be compared at the least)
PAIRS = [
    ("botwire._memory_sync", "Memory", "AsyncMemory", 17),
    ("botwire._http", "HTTPStore", "AsyncHTTPStore", 10),
    ("botwire._store", "Store", "AsyncStore", 9),
    ("botwire._store", "WriteCounter", "AsyncWriteCounter", 2),
    ("botwire._store", "Feed", "AsyncFeed", 2),
]
POSTGRES_PAIR = ("botwire._postgres", "PostgresStore", "AsyncPostgresStore", 13)

# What each side spells differently on purpose: `in` cannot await, so the async
# twin has contains(); closing is aclose(); context managers are async ones.
SYNC_TO_ASYNC = {
    "close": "aclose",
    "__contains__": "contains",
    "__enter__": "__aenter__",
    "__exit__": "__aexit__",
}
# Annotations that differ by design, as (method, parameter) -> (sync, async).
ALLOWED = {
    ("update", "fn"): ("Callable[[Any], Any]", "Callable[[Any], Any | Awaitable[Any]]"),
    ("__contains__", "key"): ("object", "str"),  # `in` takes any object
}
# Methods only one side can have: building the async client over a sync one.
ASYNC_ONLY = {"from_sync"}
# Async generators (``async for``) on the async side, not coroutine functions.
ASYNC_ITERATORS = {"watch"}
_DUNDERS = {"__init__", *SYNC_TO_ASYNC, *SYNC_TO_ASYNC.values()}
_ASYNC_NAME = re.compile(r"\bAsync(?=[A-Z])")


def _methods(cls: type) -> dict[str, Any]:
    found = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") and name not in _DUNDERS:
            continue
        if inspect.isfunction(member):
            found[name] = member
    return found


def _spelled_sync(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
    return _ASYNC_NAME.sub("", text).replace("open_async_store", "open_store")


def differences(sync: type, async_: type) -> tuple[list[str], int]:
    """Every way ``async_`` differs from ``sync``; and how many methods were compared."""
    problems: list[str] = []
    ours, theirs = _methods(sync), _methods(async_)
    expected = {SYNC_TO_ASYNC.get(name, name) for name in ours}
    extra_async = set(theirs) - expected - ({"close"} & set(theirs)) - ASYNC_ONLY  # close = aclose
    for name in sorted(expected - set(theirs)):
        problems.append(f"{async_.__name__} lacks {name}")
    for name in sorted(extra_async):
        problems.append(f"{sync.__name__} lacks the twin of {async_.__name__}.{name}")
    compared = 0
    for name, fn in sorted(ours.items()):
        twin = theirs.get(SYNC_TO_ASYNC.get(name, name))
        if twin is None:
            continue
        compared += 1
        if name in ASYNC_ITERATORS:
            if not inspect.isasyncgenfunction(twin):
                problems.append(f"{async_.__name__}.{twin.__name__} is not an async generator")
        elif name not in ("__init__",) and not inspect.iscoroutinefunction(twin):
            problems.append(f"{async_.__name__}.{twin.__name__} is not a coroutine function")
        if inspect.iscoroutinefunction(fn):
            problems.append(f"{sync.__name__}.{name} is a coroutine function")
        a, b = inspect.signature(fn), inspect.signature(twin)
        if list(a.parameters) != list(b.parameters):
            problems.append(f"{name}: parameters {list(a.parameters)} != {list(b.parameters)}")
            continue
        for p, q in zip(a.parameters.values(), b.parameters.values(), strict=True):
            where = f"{name}({p.name})"
            if p.kind != q.kind:
                problems.append(f"{where}: kind {p.kind} != {q.kind}")
            if p.default != q.default:
                problems.append(f"{where}: default {p.default!r} != {q.default!r}")
            allowed = ALLOWED.get((name, p.name))
            pair = (str(p.annotation), str(q.annotation))
            if allowed is not None and pair == allowed:
                continue
            if _spelled_sync(p.annotation) != _spelled_sync(q.annotation):
                problems.append(f"{where}: annotation {pair[0]} != {pair[1]}")
        if name in ("__enter__",):
            continue  # returns Self on each side: Memory / AsyncMemory
        if _spelled_sync(a.return_annotation) != _spelled_sync(b.return_annotation):
            problems.append(f"{name}: returns {a.return_annotation} != {b.return_annotation}")
    return problems, compared


def _pair(module: str, sync: str, async_: str) -> tuple[type, type]:
    mod = importlib.import_module(module)
    twin_module = importlib.import_module(module.replace("_memory_sync", "_memory_async"))
    return getattr(mod, sync), getattr(twin_module, async_)


@pytest.mark.parametrize(("module", "sync", "async_", "at_least"), PAIRS)
def test_twins_have_the_same_api(module: str, sync: str, async_: str, at_least: int) -> None:
    problems, compared = differences(*_pair(module, sync, async_))
    assert problems == []
    assert compared >= at_least, f"only {compared} methods compared"


def test_postgres_twins_have_the_same_api() -> None:
    pytest.importorskip("psycopg")
    module, sync, async_, at_least = POSTGRES_PAIR
    problems, compared = differences(*_pair(module, sync, async_))
    assert problems == []
    assert compared >= at_least, f"only {compared} methods compared"


def test_the_comparison_catches_drift() -> None:
    class Sync:
        def get(self, key: str, default: int = 0) -> int: ...
        def put(self, key: str) -> None: ...
        def only_sync(self) -> None: ...
        def close(self) -> None: ...

    class AsyncTwin:
        async def get(self, key: str, default: int = 1) -> str: ...
        def put(self, key: bytes) -> None: ...
        async def only_async(self) -> None: ...
        async def aclose(self) -> None: ...

    problems, compared = differences(Sync, AsyncTwin)
    assert compared == 3
    assert problems == [
        "AsyncTwin lacks only_sync",
        "Sync lacks the twin of AsyncTwin.only_async",
        "get(default): default 0 != 1",
        "get: returns int != str",
        "AsyncTwin.put is not a coroutine function",
        "put(key): annotation str != bytes",
    ]


def test_generated_sync_code_is_current() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
