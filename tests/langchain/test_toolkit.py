"""BotWireToolkit: the tools driven by a tool-calling fake model, plus LangChain's
standard tool tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain")

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, BaseToolkit
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

import botwire
from botwire.langchain import BotWireToolkit


class ToolCallingFakeModel(GenericFakeChatModel):
    """GenericFakeChatModel replays scripted messages; agents also need bind_tools."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def call(name: str, args: dict[str, Any], id: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": id}])


def tool_results(messages: list[Any]) -> dict[str, str]:
    return {m.tool_call_id: m.content for m in messages if isinstance(m, ToolMessage)}


def tools_by_name(memory: Any) -> dict[str, BaseTool]:
    return {t.name: t for t in BotWireToolkit(memory=memory).get_tools()}


def test_an_agent_drives_every_tool(memory: botwire.Memory) -> None:
    script = [
        AIMessage(
            "",
            tool_calls=[
                {"name": "remember", "args": {"key": "user:name", "value": "Ada"}, "id": "1"},
                {"name": "remember", "args": {"key": "user:city", "value": "Paris"}, "id": "2"},
            ],
        ),
        call("recall", {"key": "user:name"}, "3"),
        call("recall", {"key": "user:age"}, "4"),  # missing: a readable result
        call("list_memories", {"prefix": "user:"}, "5"),
        call("forget", {"key": "user:city"}, "6"),
        call("forget", {"key": "user:city"}, "7"),
        call("recall", {"key": ""}, "8"),  # invalid key: reported, the run goes on
        call("remember", {"key": "user:name"}, "9"),  # missing argument: reported too
        AIMessage("Done: your name is Ada."),
    ]
    agent = create_agent(
        ToolCallingFakeModel(messages=iter(script)), BotWireToolkit(memory=memory).get_tools()
    )
    result = agent.invoke({"messages": [{"role": "user", "content": "Remember me"}]})
    out = tool_results(result["messages"])
    assert out["1"] == 'Remembered "user:name".'
    assert out["3"] == "Ada"
    assert out["4"].startswith('Nothing is remembered under "user:age".')
    assert out["5"] == "user:city: Paris\nuser:name: Ada"
    assert out["6"] == 'Forgot "user:city".'
    assert out["7"].startswith('Nothing was remembered under "user:city"')
    assert out["8"] == "Error: key must not be empty"
    assert out["9"] == "Error: invalid arguments: value: Field required"
    assert result["messages"][-1].content == "Done: your name is Ada."
    # Written for real: another client of the same store sees it.
    assert memory.get("user:name") == "Ada"
    assert "user:city" not in memory


async def test_an_async_agent_uses_the_async_memory(amemory: botwire.AsyncMemory) -> None:
    script = [
        call("remember", {"key": "fav", "value": "tea"}, "1"),
        call("remember", {"key": "fav", "value": "coffee"}, "2"),
        call("recall", {"key": "fav"}, "3"),
        call("list_memories", {}, "4"),
        AIMessage("ok"),
    ]
    agent = create_agent(
        ToolCallingFakeModel(messages=iter(script)), BotWireToolkit(memory=amemory).get_tools()
    )
    result = await agent.ainvoke({"messages": [{"role": "user", "content": "hi"}]})
    out = tool_results(result["messages"])
    assert out["2"] == 'Remembered "fav" (replaced the old fact).'
    assert out["3"] == "coffee"
    assert out["4"] == "fav: coffee"
    assert await amemory.get("fav") == "coffee"


def test_text_is_shown_as_is_other_values_as_json(memory: botwire.Memory) -> None:
    tools = tools_by_name(memory)
    memory.set("profile", {"name": "Ada", "langs": ["en", "fr"]})
    memory.set("count", 3)
    memory.set("text", "3")
    memory.set("nothing", None)
    assert json.loads(tools["recall"].invoke({"key": "profile"})) == {
        "name": "Ada",
        "langs": ["en", "fr"],
    }
    assert tools["recall"].invoke({"key": "count"}) == "3"
    assert tools["recall"].invoke({"key": "text"}) == "3"
    assert tools["recall"].invoke({"key": "nothing"}) == "null"  # stored None is not "missing"
    assert tools["remember"].invoke({"key": "ключ", "value": "значение"}) == 'Remembered "ключ".'
    assert tools["recall"].invoke({"key": "ключ"}) == "значение"


def test_list_memories_is_capped(memory: botwire.Memory) -> None:
    memory.set_many({f"k{i:02}": i for i in range(5)})
    tool = {t.name: t for t in BotWireToolkit(memory=memory, list_limit=3).get_tools()}
    shown = tool["list_memories"].invoke({})
    assert shown.startswith("k00: 0\nk01: 1\nk02: 2\n(only the first 3 keys")
    assert tool["list_memories"].invoke({"prefix": "k04"}) == "k04: 4"
    assert (
        tool["list_memories"].invoke({"prefix": "zz"})
        == 'No memories with keys starting "zz" are saved.'
    )
    memory.delete_many([f"k{i:02}" for i in range(5)])
    assert tool["list_memories"].invoke({}) == "No memories are saved."


def test_schemas_describe_every_argument(memory: botwire.Memory) -> None:
    tools = BotWireToolkit(memory=memory).get_tools()
    assert isinstance(BotWireToolkit(memory=memory), BaseToolkit)
    assert [t.name for t in tools] == ["remember", "recall", "forget", "list_memories"]
    for tool in tools:
        assert len(tool.description) > 30
        schema = tool.tool_call_schema.model_json_schema()
        for name, prop in schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    remember = tools[0].tool_call_schema.model_json_schema()
    assert remember["required"] == ["key", "value"]
    assert tools[3].tool_call_schema.model_json_schema().get("required", []) == []


def test_infrastructure_errors_are_not_hidden_from_the_caller() -> None:
    class DownStore:
        """A store whose server has gone away."""

        kind = "http"

        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> Any:
                raise botwire.UnavailableError("could not reach http://memory:8080")

            return fail

    tools = tools_by_name(botwire.Memory("down", store=DownStore()))  # type: ignore[arg-type]
    # A validation problem is the model's to fix; an outage is the operator's.
    with pytest.raises(botwire.UnavailableError):
        tools["remember"].invoke({"key": "k", "value": "v"})
    with pytest.raises(botwire.UnavailableError):
        tools["recall"].invoke({"key": "k"})


def test_bad_construction_says_what_to_fix() -> None:
    with pytest.raises(ValueError, match="takes a botwire.Memory or botwire.AsyncMemory"):
        BotWireToolkit(memory="agent-memory")
    with pytest.raises(ValueError, match="invalid namespace"):
        BotWireToolkit(namespace="no spaces allowed")


def test_the_default_namespace_and_store() -> None:
    toolkit = BotWireToolkit()  # BOTWIRE_HOME points at a temp dir
    tools = {t.name: t for t in toolkit.get_tools()}
    tools["remember"].invoke({"key": "a", "value": "b"})
    toolkit.close()
    with botwire.Memory("agent-memory") as memory:
        assert memory.get("a") == "b"


# -- LangChain's standard tool tests, once per tool ------------------------------------


class _StandardToolTests:
    index: int
    example: dict[str, Any]

    @property
    def tool_constructor(self) -> BaseTool:
        # Opens nothing until invoked; the ``tool`` fixture below supplies a real store.
        return BotWireToolkit().get_tools()[self.index]

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return self.example

    @pytest.fixture
    def tool(self, memory: botwire.Memory) -> BaseTool:
        return BotWireToolkit(memory=memory).get_tools()[self.index]


class TestRememberStandard(_StandardToolTests, ToolsIntegrationTests):
    index, example = 0, {"key": "user:name", "value": "Ada"}


class TestRememberUnit(_StandardToolTests, ToolsUnitTests):
    index, example = 0, {"key": "user:name", "value": "Ada"}


class TestRecallStandard(_StandardToolTests, ToolsIntegrationTests):
    index, example = 1, {"key": "user:name"}


class TestRecallUnit(_StandardToolTests, ToolsUnitTests):
    index, example = 1, {"key": "user:name"}


class TestForgetStandard(_StandardToolTests, ToolsIntegrationTests):
    index, example = 2, {"key": "user:name"}


class TestForgetUnit(_StandardToolTests, ToolsUnitTests):
    index, example = 2, {"key": "user:name"}


class TestListMemoriesStandard(_StandardToolTests, ToolsIntegrationTests):
    index, example = 3, {"prefix": "user:"}


class TestListMemoriesUnit(_StandardToolTests, ToolsUnitTests):
    index, example = 3, {"prefix": "user:"}
