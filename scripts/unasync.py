#!/usr/bin/env python3
"""Generate the synchronous twins from their asyncio sources (httpcore's approach).

Usage: ``python scripts/unasync.py`` rewrites every generated file;
``python scripts/unasync.py --check`` (run by ``scripts/test``) fails if one is stale.

The async class is the source of truth; its sync twin is produced by replacing
tokens (``async def`` -> ``def``, ``await x`` -> ``x``, ``AsyncStore`` -> ``Store``,
…), so a method cannot exist, or change, on one side only. Two markers cover what
really differs:

* a line ending in ``# unasync: async-only`` (or a block between
  ``# unasync: begin async-only`` and ``# unasync: end``) is left out of the sync file;
* comment lines starting with ``# sync:`` are code of the sync file only (the prefix
  is removed there; indentation follows the comment's).

The output then goes through ``ruff check --fix`` (unused imports, import order) and
``ruff format``, so it meets the same checks as hand-written code.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FILES = [
    ("botwire_core/_memory_async.py", "botwire_core/_memory_sync.py"),
    ("botwire_core/_http_async.py", "botwire_core/_http_sync.py"),
]

# Applied in order to every line; word boundaries keep `AsyncStore` from matching
# inside another name.
RULES: list[tuple[str, str]] = [
    (r"\bCallable\[\[Any\], Any \| Awaitable\[Any\]\]", "Callable[[Any], Any]"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait\s+", ""),
    (r"\bimport asyncio\b", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bAsyncMemory\b", "Memory"),
    (r"\bAsyncStore\b", "Store"),
    (r"\bAsyncFeed\b", "Feed"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncHTTPStore\b", "HTTPStore"),
    (r"\bAsyncPostgresStore\b", "PostgresStore"),
    (r"\bAsyncClient\b", "Client"),
    (r"\bopen_async_store\b", "open_store"),
    (r"\baclose\b", "close"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
]

_ASYNC_ONLY = "# unasync: async-only"
_BEGIN = "# unasync: begin async-only"
_END = "# unasync: end"
_SYNC = re.compile(r"^(\s*)# sync: ?(.*)$")


def unasync(source: str, origin: str) -> str:
    """The sync twin of ``source`` (before import clean-up and formatting)."""
    out = [
        f"# GENERATED from {origin} by scripts/unasync.py: edit that file and run\n",
        "# `python scripts/unasync.py`; `scripts/test` fails while this copy is stale.\n",
    ]
    skipping = False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == _BEGIN:
            skipping = True
            continue
        if stripped == _END:
            skipping = False
            continue
        if skipping or line.rstrip().endswith(_ASYNC_ONLY):
            continue
        match = _SYNC.match(line)
        if match:
            line = f"{match.group(1)}{match.group(2)}\n" if match.group(2) else "\n"
        for pattern, replacement in RULES:
            line = re.sub(pattern, replacement, line)
        out.append(line)
    if skipping:
        raise SystemExit(f"{origin}: '{_BEGIN}' without '{_END}'")
    return "".join(out)


def _ruff() -> str:
    local = ROOT / ".venv" / "bin" / "ruff"
    found = str(local) if local.exists() else shutil.which("ruff")
    if found is None:
        raise SystemExit("scripts/unasync.py needs ruff (run scripts/test once to install it)")
    return found


def _tidy(code: str, target: str) -> str:
    ruff = _ruff()
    for args in (
        ["check", "--fix", "--quiet", "--select", "F401,I", "--exit-zero"],
        ["format", "--quiet"],
    ):
        code = subprocess.run(
            [ruff, *args, "--stdin-filename", target, "-"],
            input=code,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return code


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for source, target in FILES:
        wanted = _tidy(unasync((ROOT / source).read_text(), source), target)
        path = ROOT / target
        have = path.read_text() if path.exists() else ""
        if have == wanted:
            continue
        if check:
            stale.append(target)
            sys.stdout.writelines(
                difflib.unified_diff(
                    have.splitlines(keepends=True), wanted.splitlines(keepends=True), target
                )
            )
        else:
            path.write_text(wanted)
            print(f"wrote {target}")
    if stale:
        print(f"stale: {', '.join(stale)}; run: python scripts/unasync.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
