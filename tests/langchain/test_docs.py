"""Every Python snippet in docs/langchain.md runs, each on a fresh embedded store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("langchain_core")

DOC = Path(__file__).resolve().parents[2] / "docs" / "langchain.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_snippets() -> None:
    assert len(SNIPPETS) >= 8


@pytest.mark.filterwarnings(
    # The page shows RunnableWithMessageHistory, deprecated (with a warning on
    # construction) in langchain-core 1.x, and the deprecated ConversationBufferMemory.
    "ignore:RunnableWithMessageHistory is deprecated"
    ":langchain_core._api.deprecation.LangChainDeprecationWarning",
    "ignore:The class `ConversationBufferMemory` was deprecated"
    ":langchain_core._api.deprecation.LangChainDeprecationWarning",
)
@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet-{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs(code: str) -> None:
    if "langchain_classic" in code:
        pytest.importorskip("langchain_classic", reason="needs pip install langchain-classic")
    exec(compile(code, str(DOC), "exec"), {"__name__": "__docs__"})
