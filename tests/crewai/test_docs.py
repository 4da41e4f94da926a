"""Every Python snippet of docs/crewai.md runs, and prints what its comments say.

Each snippet runs on its own (fresh globals, as a reader would paste it) with
the two names the page says it assumes: ``llm`` (a scripted CrewAI LLM here)
and ``embedder`` (a deterministic bag-of-words embedder here).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

pytest.importorskip("crewai")

from tests.crewai._env import ROOT
from tests.crewai._support import ScriptedLLM, hash_embed

PAGE = ROOT / "docs" / "crewai.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
PRINT_COMMENT = re.compile(r"^\s*print\(.*\)\s+#\s+(?P<expected>.+)$", re.M)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_page_has_snippets() -> None:
    assert len(SNIPPETS) >= 8


@pytest.mark.parametrize("number", range(len(SNIPPETS)))
def test_snippet_runs_and_prints_what_it_says(number: int, crewai_sandbox: Path) -> None:
    code = SNIPPETS[number]
    out = io.StringIO()
    namespace = {"llm": ScriptedLLM(model="scripted"), "embedder": hash_embed}
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"docs/crewai.md snippet {number + 1}", "exec"), namespace)
    printed = squash(out.getvalue())
    for match in PRINT_COMMENT.finditer(code):
        expected = squash(match["expected"].split("...")[0])
        assert expected in printed, f"snippet {number + 1} should print {expected!r}"
