"""docs/autogen.md: every Python snippet runs and prints what the page shows."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests import docs_runner

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext.models.replay")

DOC = Path(__file__).resolve().parents[2] / "docs" / "autogen.md"


def snippets() -> list[tuple[str, str | None]]:
    """Each ``python`` block with the ``text`` block right after it (its output)."""
    return docs_runner.snippets(DOC)


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
