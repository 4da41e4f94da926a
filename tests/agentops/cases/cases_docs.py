"""Every snippet of ``docs/agentops.md`` runs, in order, and does what the page says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .conftest import Spans

DOC = Path(__file__).resolve().parents[3] / "docs" / "agentops.md"
NOT_RUN = "<!-- not run:"
BLOCK = re.compile(r"(<!-- not run:[^\n]*-->\n)?```python\n(.*?)```", re.DOTALL)


def snippets() -> list[str]:
    return [code for marker, code in BLOCK.findall(DOC.read_text("utf-8")) if not marker]


def test_the_page_has_snippets_and_skips_only_the_legacy_one() -> None:
    text = DOC.read_text("utf-8")
    assert len(snippets()) >= 6
    assert text.count(NOT_RUN) == 1
    assert "record_function" in text.split(NOT_RUN, 1)[1].split("```", 2)[1]


def _children(spans: Spans, root_name: str) -> list[list[tuple[str, dict[str, Any]]]]:
    """For each trace named ``root_name``: its descendants' (name, attributes)."""
    result = []
    for root in spans.named(root_name):
        inside = [
            (s.name, dict(s.attributes or {}))
            for s in spans.all()
            if s.context.trace_id == root.context.trace_id and s is not root
        ]
        result.append(inside)
    return result


def test_the_snippets_run_and_show_every_memory_operation(spans: Spans) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    for code in snippets():
        exec(compile(code, str(DOC), "exec"), namespace)

    first, second, migration = _children(spans, "support-chat.session")
    assert [name for name, _ in first] == [
        "botwire.get.tool",
        "botwire.set.tool",
        "botwire.append.tool",
    ]
    assert first[0][1]["botwire.hit"] is False
    assert [name for name, _ in second] == ["botwire.get.tool", "botwire.append.tool"]
    assert second[0][1]["botwire.hit"] is True and second[0][1]["botwire.version"] == 1
    [helper] = [s for s in spans.named("remember_style.task")]
    assert dict(helper.attributes or {})["botwire.key"] == "user-7:response_style"
    assert dict(migration).keys() == {"save_preference.task", "botwire.set.tool"}
    assert dict(migration)["save_preference.task"]["botwire.namespace"] == "user-preferences"
    [[(name, attrs)]] = _children(spans, "async-chat.session")
    assert name == "botwire.get.tool" and attrs["botwire.hit"] is True

    debug = [
        dict(s.attributes or {})
        for s in spans.botwire()
        if "botwire.value" in dict(s.attributes or {})
    ]
    assert [json.loads(a["botwire.value"]) for a in debug] == ["concise"]
    recorded = json.dumps([dict(s.attributes or {}) for s in spans.all()])
    assert "Please be brief" not in recorded  # the appended message never leaves
