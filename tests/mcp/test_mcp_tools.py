"""The key-value tools and resources, in process, on the installed mcp major."""

from __future__ import annotations

import json
from typing import Any

import pytest

from botwire import Memory, ValidationError
from botwire.mcp import KV_TOOLS, READ_TOOLS, create_server
from tests.mcp.conftest import Opener, unpack

pytestmark = pytest.mark.timeout(60)

VALUES: list[Any] = [
    "plain",
    "",
    '{"a": 1}',  # JSON-looking strings stay strings (the SDK would parse these three)
    "[1, 2]",
    "null",
    "true",
    "42",
    '"quoted"',
    0,
    -7,
    2**53,
    1.5,
    -0.25,
    True,
    False,
    None,
    [],
    {},
    [1, "two", None, [True], {"x": 1.5}],
    {"nested": {"list": [1, 2, {"deep": "é ✓ 😀"}], "empty": {}, "null": None}},
    "ünïcödé ✓ 😀\nsecond line",
]


async def test_tool_names_annotations_and_descriptions(open_tools: Opener) -> None:
    async with open_tools() as tools:
        listed = {
            t.name: t.model_dump(by_alias=True) for t in (await tools.client.list_tools()).tools
        }
    assert set(listed) == set(KV_TOOLS)
    for name, tool in listed.items():
        description = tool["description"]
        assert description.count(". ") == 0 and description.endswith("."), name
        hints = tool["annotations"]
        assert hints["readOnlyHint"] is (name in READ_TOOLS), name
        assert hints["openWorldHint"] is False
        assert tool["inputSchema"]["type"] == "object"
    assert listed["memory_delete"]["annotations"]["destructiveHint"] is True
    assert listed["memory_append"]["annotations"]["idempotentHint"] is False
    schema = listed["memory_set"]["inputSchema"]
    assert schema["required"] == ["key", "value"]
    assert "description" in schema["properties"]["value"]


async def test_read_only_offers_only_reading_tools(open_tools: Opener) -> None:
    async with open_tools(read_only=True) as tools:
        names = {t.name for t in (await tools.client.list_tools()).tools}
        assert names == set(READ_TOOLS)
        is_error, _ = await tools.raw("memory_set", key="k", value=1)
        assert is_error


async def test_every_json_value_round_trips_exactly(
    open_tools: Opener, url: str, namespace: str
) -> None:
    async with open_tools() as tools:
        for i, value in enumerate(VALUES):
            stored = await tools.memory_set(key=f"v{i}", value=value)
            assert stored == {"namespace": namespace, "key": f"v{i}", "version": 1}
            got = await tools.memory_get(key=f"v{i}")
            assert got["found"] is True
            assert got["value"] == value and type(got["value"]) is type(value), (value, got)
            assert got["version"] == 1 and got["updated_at"].endswith("Z")
    memory = Memory(namespace, url)  # and it is what any other BotWire client reads
    assert [memory.get(f"v{i}") for i in range(len(VALUES))] == VALUES
    memory.close()


async def test_get_missing_is_found_false_not_an_error(open_tools: Opener, namespace: str) -> None:
    async with open_tools() as tools:
        assert await tools.memory_get(key="nope") == {
            "found": False,
            "namespace": namespace,
            "key": "nope",
        }


async def test_set_options_versions_delete(open_tools: Opener) -> None:
    async with open_tools() as tools:
        assert (await tools.memory_set(key="k", value="a", if_version=0))["version"] == 1
        assert (await tools.memory_set(key="k", value="b", if_version=1))["version"] == 2
        message = await tools.error("memory_set", key="k", value="c", if_version=1)
        assert "version conflict on 'k': expected version 1, found 2" in message
        await tools.memory_set(key="t", value="soon gone", ttl=3600)
        item = await tools.memory_get(key="t")
        assert item["expires_at"] is not None
        assert (await tools.memory_delete(key="k"))["deleted"] is True
        assert (await tools.memory_delete(key="k"))["deleted"] is False
        assert (await tools.memory_get(key="k"))["found"] is False


async def test_bad_input_is_a_tool_error_with_the_botwire_sentence(open_tools: Opener) -> None:
    async with open_tools() as tools:
        assert "control character" in await tools.error("memory_set", key="a\tb", value=1)
        assert "empty" in await tools.error("memory_get", key="")
        await tools.memory_set(key="scalar", value=1)
        assert "not a list" in await tools.error("memory_append", key="scalar", items=[2])
        assert "invalid namespace" in await tools.error("memory_get", key="k", namespace="bad ns")
        # arguments the schema refuses are reported too, not raised as protocol errors
        assert await tools.error("memory_list_keys", limit=0)
        assert await tools.error("memory_set", key="k", value=1, ttl=-1)


async def test_allow_patterns(open_tools: Opener, namespace: str) -> None:
    async with open_tools(allow=[namespace, "team-*"]) as tools:
        await tools.memory_set(key="k", value=1)
        await tools.memory_set(key="k", value=2, namespace="team-red")
        assert (await tools.memory_get(key="k", namespace="team-red"))["value"] == 2
        refused = await tools.error("memory_get", key="k", namespace="other")
        assert "namespace 'other' is not allowed here" in refused and "'team-*'" in refused
    async with open_tools(allow=["*"]) as tools:  # never the server's own records
        refused = await tools.error("memory_list_keys", namespace="_botwire.tokens")
        assert "reserved for BotWire's own records" in refused
    async with open_tools(allow=["team-*"]) as tools:  # the default is always allowed
        await tools.memory_set(key="k", value=3)
    async with open_tools() as tools:  # default: the default namespace only
        assert "not allowed" in await tools.error("memory_set", key="k", value=1, namespace="x")


def test_bad_allow_patterns_are_refused_up_front() -> None:
    with pytest.raises(ValidationError, match="invalid namespace pattern"):
        create_server(allow=["bad pattern"])
    with pytest.raises(ValidationError, match="reserved"):
        create_server(allow=["_botwire.*"])
    with pytest.raises(ValidationError, match="list of namespace patterns"):
        create_server(allow="team-*")
    with pytest.raises(ValidationError, match="tools must name"):
        create_server(tools=["kv", "vectors"])


async def test_list_keys_prefix_and_pages(open_tools: Opener) -> None:
    async with open_tools() as tools:
        for key in ["user:1", "user:2", "user:3", "task:1", "a/b é?#"]:
            await tools.memory_set(key=key, value=key)
        listed = await tools.memory_list_keys()
        assert listed["keys"] == ["a/b é?#", "task:1", "user:1", "user:2", "user:3"]
        assert listed["next_cursor"] is None
        first = await tools.memory_list_keys(prefix="user:", limit=2)
        assert first["keys"] == ["user:1", "user:2"] and first["next_cursor"]
        rest = await tools.memory_list_keys(prefix="user:", limit=2, cursor=first["next_cursor"])
        assert rest == {"namespace": first["namespace"], "keys": ["user:3"], "next_cursor": None}


async def test_append_and_get_list(open_tools: Opener) -> None:
    async with open_tools() as tools:
        assert (await tools.memory_append(key="log", items=["a", {"b": 1}]))["length"] == 2
        assert (await tools.memory_append(key="log", items=['{"c": 3}', None]))["length"] == 4
        assert (await tools.memory_get_list(key="log"))["items"] == [
            "a",
            {"b": 1},
            '{"c": 3}',
            None,
        ]
        assert (await tools.memory_get_list(key="log", last=2))["items"] == ['{"c": 3}', None]
        assert (await tools.memory_get_list(key="missing"))["items"] == []
        assert (await tools.memory_get(key="log"))["value"][0] == "a"
        assert await tools.error("memory_append", key="log", items=[])


async def test_search_ranks_keys_and_values(open_tools: Opener) -> None:
    async with open_tools() as tools:
        await tools.memory_set(key="user:colour", value="favourite colour is blue")
        await tools.memory_set(key="user:food", value={"favourite": "pasta"})
        await tools.memory_set(key="weather", value="rainy")
        found = await tools.memory_search(query="favourite colour")
        assert [r["key"] for r in found["results"]] == ["user:colour", "user:food"]
        assert found["results"][0]["value"] == "favourite colour is blue"
        # the adapters' ranker: common words dropped, a plural matches its singular
        plural = await tools.memory_search(query="what are my favourite colours?")
        assert [r["key"] for r in plural["results"]] == ["user:colour", "user:food"]
        assert (await tools.memory_search(query="weather", limit=1))["results"][0]["key"] == (
            "weather"
        )
        assert (await tools.memory_search(query="nothing-like-this"))["results"] == []


async def test_resources(open_tools: Opener, namespace: str) -> None:
    async with open_tools(allow=[namespace, "team-*"]) as tools:
        await tools.memory_set(key="a/b é?#", value={"x": [1, None]})
        await tools.memory_set(key="plain", value='{"looks": "like json"}')
        await tools.memory_set(key="../up", value=1)  # keys are not paths (2.x checks those)
        await tools.memory_set(key="/abs", value=2)
        client = tools.client
        listed = [r.model_dump(by_alias=True) for r in (await client.list_resources()).resources]
        assert [str(r["uri"]) for r in listed] == [f"botwire://{namespace}"]
        templates = (await client.list_resource_templates()).model_dump(by_alias=True)
        assert {t["uriTemplate"] for t in templates["resourceTemplates"]} == {
            "botwire://{namespace}/{key}",
            "botwire://{namespace}",
        }
        listing = json.loads(
            (await client.read_resource(f"botwire://{namespace}")).contents[0].text
        )
        keys = {k["key"]: k["uri"] for k in listing["keys"]}
        assert keys["a/b é?#"] == f"botwire://{namespace}/a%2Fb%20%C3%A9%3F%23"
        value = await client.read_resource(keys["a/b é?#"])
        assert json.loads(value.contents[0].text) == {"x": [1, None]}
        for key, expected in [("../up", 1), ("/abs", 2)]:
            assert json.loads((await client.read_resource(keys[key])).contents[0].text) == expected
        plain = await client.read_resource(keys["plain"])
        assert json.loads(plain.contents[0].text) == '{"looks": "like json"}'
        other = json.loads((await client.read_resource("botwire://team-x")).contents[0].text)
        assert other == {"namespace": "team-x", "keys": []}


async def test_unpack_reads_text_results(open_tools: Opener) -> None:
    """The text content carries the same JSON, for hosts that ignore structured output."""
    async with open_tools() as tools:
        await tools.memory_set(key="k", value=[1, "2"])
        result = await tools.client.call_tool("memory_get", {"key": "k"})
        data = result.model_dump(by_alias=True)
        assert json.loads(data["content"][0]["text"])["value"] == [1, "2"]
        assert unpack(result)[1]["value"] == [1, "2"]
