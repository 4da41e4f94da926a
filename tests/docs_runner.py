"""Run a docs page's Python snippets as a reader would; exit 1 if one fails or misprints.

Usage: ``python tests/docs_runner.py PAGE[:core] ...`` (standard library only, so it
runs in a clean venv that has nothing but ``botwire[<extra>]``; ``:core`` skips the
snippets that use an adapter).

Each snippet runs in fresh globals, as if pasted on its own, except on
docs/agentops.md, whose snippets build on one another (they run in one namespace,
through ``tests/agentops/docs_probe.py``). What a snippet prints must contain each
``print(...)  # expected`` comment, or, where a ```` ```text ```` block directly
follows it, equal that block. docs/crewai.md snippets get the two names that page assumes,
``llm`` and ``embedder`` (offline stand-ins from ``tests/crewai/_support.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import runpy
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
PRINT_COMMENT = re.compile(r"^[ \t]*print\(.*\)[ \t]+#[ \t]+(?P<expected>.+)$", re.M)


def _squash(text: str) -> str:
    return " ".join(text.split())


def snippets(page: Path) -> list[tuple[str, str | None]]:
    """Each ``python`` block (not marked ``<!-- not run``) and the ``text`` block after it."""
    text = page.read_text("utf-8")
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in BLOCK.finditer(text)]
    found: list[tuple[str, str | None]] = []
    for i, (lang, code, start, end) in enumerate(blocks):
        if lang != "python" or text[:start].rstrip().endswith("-->"):
            continue
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        shown = None
        if after and after[0] == "text" and not text[end : after[2]].strip():
            shown = after[1]
        found.append((code, shown))
    return found


def _page_globals(page: Path) -> dict[str, object]:
    names: dict[str, object] = {"__name__": "__main__"}
    if page.name == "crewai.md":
        sys.path.append(str(ROOT))  # after site-packages: botwire is the installed one
        from tests.crewai._support import ScriptedLLM, hash_embed

        names.update(llm=ScriptedLLM(model="scripted"), embedder=hash_embed)
    return names


ADAPTERS = re.compile(r"\bbotwire\.(langchain|crewai|autogen|agentops)\b")


def run_page(page: Path, core_only: bool = False) -> list[str]:
    """Run every snippet of ``page``; return what went wrong (nothing: all is well).

    ``core_only``: skip the snippets that use an adapter (``botwire.langchain`` ...).
    """
    if page.name == "agentops.md":
        printed = io.StringIO()
        probe = runpy.run_path(str(ROOT / "tests" / "agentops" / "docs_probe.py"))
        with contextlib.redirect_stdout(printed):
            probe["main"]()
        found = json.loads(printed.getvalue().strip().splitlines()[-1])
        return [
            f"{page.name}: missing {e!r}" for e in found["expected"] if e not in found["printed"]
        ]
    problems = []
    for number, (code, shown) in enumerate(snippets(page), 1):
        where = f"{page.name} snippet {number}"
        if core_only and ADAPTERS.search(code):
            continue
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(code, where, "exec"), _page_globals(page))
        except BaseException:
            problems.append(f"{where} failed:\n{traceback.format_exc()}")
            continue
        out = printed.getvalue()
        if shown is not None:  # the page shows the output: its comments only explain
            if out.strip() != shown.strip():
                problems.append(f"{where} printed {out!r}, the page shows {shown!r}")
            continue
        for match in PRINT_COMMENT.finditer(code):
            expected = _squash(match["expected"].split("...")[0])
            if expected not in _squash(out):
                problems.append(f"{where} should print {expected!r}, printed {out!r}")
    return problems


def main(argv: list[str]) -> int:
    problems = []
    for spec in argv:
        page, _, only = spec.partition(":")
        problems += run_page(Path(page).resolve(), core_only=only == "core")
    for problem in problems:
        print(problem)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
