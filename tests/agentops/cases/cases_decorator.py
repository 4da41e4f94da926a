"""``@memory_operation``: a task span for a user's helper, without its values."""

from __future__ import annotations

import json

import agentops
import pytest
from opentelemetry.trace import StatusCode

import botwire
from botwire import AsyncMemory, Memory
from botwire.agentops import memory_operation, traced

from .conftest import Spans

SECRET = "helper-s3cr3t-42"


def test_a_helper_is_one_task_span_with_the_memory_calls_inside(
    plain: Memory, spans: Spans
) -> None:
    @memory_operation
    def remember_style(memory: Memory, key: str, style: str) -> str:
        memory.set(key, style)
        return f"remembered {style}"

    memory = traced(plain)
    with agentops.start_trace("chat"):
        assert remember_style(memory, "user-42:style", SECRET) == f"remembered {SECRET}"

    root = spans.one("chat.session")
    helper = spans.one("remember_style.task")
    write = spans.one("botwire.set.tool")
    assert helper.parent is not None and helper.parent.span_id == root.context.span_id
    assert write.parent is not None and write.parent.span_id == helper.context.span_id
    attrs = dict(helper.attributes or {})
    assert attrs == {
        "agentops.span.kind": "task",
        "operation.name": "remember_style",
        "botwire.namespace": "prefs",
        "botwire.store": "sqlite",
        "botwire.key": "user-42:style",
    }
    assert remember_style.__name__ == "remember_style"


def test_a_helper_records_no_argument_or_result(plain: Memory, spans: Spans) -> None:
    @memory_operation(name="prefs.save_all")
    def save_all(memory: Memory, keys: list[str], value: str) -> dict[str, str]:
        memory.set_many(dict.fromkeys(keys, value))
        return dict.fromkeys(keys, value)

    save_all(plain, ["a", "b"], SECRET)

    span = spans.one("prefs.save_all.task")
    attrs = dict(span.attributes or {})
    assert list(attrs["botwire.keys"]) == ["a", "b"] and attrs["botwire.count"] == 2
    assert SECRET not in json.dumps(attrs, default=str)


def test_a_helper_error_is_recorded_and_reraised(plain: Memory, spans: Spans) -> None:
    @memory_operation
    def strict_save(memory: Memory, key: str) -> None:
        memory.set(key, 1, if_version=5)

    with pytest.raises(botwire.ConflictError):
        strict_save(traced(plain), key="style")

    helper = spans.one("strict_save.task")
    assert helper.status.status_code is StatusCode.ERROR
    assert dict(helper.attributes or {})["botwire.error.code"] == "version_conflict"
    assert spans.one("botwire.set.tool").status.status_code is StatusCode.ERROR


def test_a_bad_call_still_raises_its_type_error(spans: Spans) -> None:
    @memory_operation
    def needs_two(memory: Memory, key: str) -> None:
        raise AssertionError("not reached")

    with pytest.raises(TypeError):
        needs_two()  # type: ignore[call-arg]
    assert dict(spans.one("needs_two.task").attributes or {})["error.type"] == "TypeError"


async def test_an_async_helper(db_url: str, spans: Spans) -> None:
    class Preferences:
        def __init__(self, memory: AsyncMemory) -> None:
            self.memory = traced(memory)

        @memory_operation
        async def style_of(self, memory: AsyncMemory, key: str) -> str:
            return str(await memory.get(key, "friendly"))

    async with AsyncMemory("prefs", db_url) as memory:
        prefs = Preferences(memory)
        assert await prefs.style_of(prefs.memory, "user-42:style") == "friendly"

    helper = spans.one("style_of.task")
    read = spans.one("botwire.get.tool")
    assert read.parent is not None and read.parent.span_id == helper.context.span_id
    assert dict(helper.attributes or {})["botwire.namespace"] == "prefs"
