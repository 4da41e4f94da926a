"""docs/autogen.md: every Python snippet runs and prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext.models.replay")

DOC = Path(__file__).resolve().parents[2] / "docs" / "autogen.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def snippets() -> list[tuple[str, str | None]]:
    """Each ``python`` block with the ``text`` block right after it (its output)."""
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in BLOCK.finditer(DOC.read_text())]
    doc = DOC.read_text()
    out: list[tuple[str, str | None]] = []
    for i, (lang, code, _, end) in enumerate(blocks):
        if lang != "python":
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        expected = None
        if following and following[0] == "text" and not doc[end : following[2]].strip():
            expected = following[1]
        out.append((code, expected))
    return out


def test_the_page_has_snippets_and_outputs() -> None:
    found = snippets()
    assert len(found) >= 4
    assert sum(expected is not None for _, expected in found) >= 4


@pytest.mark.parametrize("index", range(len(snippets())))
def test_snippet_runs_and_prints_what_the_page_shows(index: int) -> None:
    code, expected = snippets()[index]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"{DOC.name}[python block {index}]", "exec"), {"__name__": "__main__"})
    if expected is not None:
        assert printed.getvalue().strip() == expected.strip()
