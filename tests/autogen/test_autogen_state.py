"""save_state/load_state: agents and teams resume in another process, conflicts detected."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

pytest.importorskip("autogen_agentchat")
pytest.importorskip("autogen_ext.models.replay")

from autogen_agentchat.agents import AssistantAgent  # noqa: E402

from botwire import AsyncMemory, ConflictError, Memory, ValidationError  # noqa: E402
from botwire.autogen import load_state, save_state  # noqa: E402
from tests.autogen.scripted import (  # noqa: E402
    model_inputs,
    run_child,
    scripted,
    text_of,
    writers_team,
)

TASK = "Write a haiku about rain."


@pytest.fixture
async def memory(namespace: str, url: str) -> AsyncIterator[AsyncMemory]:
    mem = AsyncMemory(namespace, url)
    yield mem
    await mem.aclose()


async def test_team_resumes_in_another_process(memory: AsyncMemory, url: str) -> None:
    team, _, _ = writers_team(["draft 1"], [], max_messages=2)
    assert await load_state(memory, "team:haiku", team) is None
    result = await team.run(task=TASK)
    assert [m.source for m in result.messages] == ["user", "writer"]
    assert await save_state(memory, "team:haiku", team) == 1

    report = run_child("team-continue", memory.namespace, url, "team:haiku")

    assert report["loaded"] == 1 and report["saved"] == 2
    # round-robin carried on with the critic, who saw the earlier turns
    assert report["speakers"] == ["critic", "writer"]
    assert TASK in report["critic_input"] and "draft 1" in report["critic_input"]
    assert "too long" in report["writer_input"] and "draft 1" in report["writer_input"]

    # the first process's team is now behind: its save is refused, not applied
    with pytest.raises(ConflictError, match="saved by someone else") as caught:
        await save_state(memory, "team:haiku", team)
    assert caught.value.current_version == 2
    assert caught.value.key == "team:haiku"

    # reloading brings it up to date; then it continues where the other process stopped
    later, writer, critic = writers_team(["draft 3"], ["good"], max_messages=2)
    assert await load_state(memory, "team:haiku", later) == 2
    result = await later.run()
    assert [m.source for m in result.messages] == ["critic", "writer"]
    assert "draft 2" in text_of(model_inputs(critic)[0])
    assert await save_state(memory, "team:haiku", later) == 3


async def test_agent_conversation_resumes(memory: AsyncMemory) -> None:
    first = AssistantAgent("assistant", model_client=scripted("Nice to meet you, Ada."))
    await first.run(task="My name is Ada.")
    await save_state(memory, "chat:ada", first)

    client = scripted("Your name is Ada.")
    second = AssistantAgent("assistant", model_client=client)
    assert await load_state(memory, "chat:ada", second) == 1
    await second.run(task="What is my name?")
    sent = text_of(model_inputs(client)[0])
    assert "My name is Ada." in sent and "Nice to meet you, Ada." in sent
    assert await save_state(memory, "chat:ada", second) == 2


async def test_concurrent_savers_are_detected(memory: AsyncMemory) -> None:
    await save_state(memory, "chat", AssistantAgent("assistant", model_client=scripted()))
    one = AssistantAgent("assistant", model_client=scripted("from one"))
    two = AssistantAgent("assistant", model_client=scripted("from two"))
    await load_state(memory, "chat", one)
    await load_state(memory, "chat", two)
    await one.run(task="hi")
    await two.run(task="hi")

    assert await save_state(memory, "chat", one) == 2
    with pytest.raises(ConflictError) as caught:
        await save_state(memory, "chat", two)
    assert caught.value.current_version == 2

    stored = await memory.get("chat")
    assert "from one" in str(stored["state"]) and "from two" not in str(stored["state"])
    # one keeps saving without reloading: it knows the version it wrote
    assert await save_state(memory, "chat", one) == 3


async def test_a_new_object_cannot_replace_a_saved_state_by_accident(memory: AsyncMemory) -> None:
    await save_state(memory, "chat", AssistantAgent("assistant", model_client=scripted()))
    fresh = AssistantAgent("assistant", model_client=scripted())
    with pytest.raises(ConflictError, match="did not load it"):
        await save_state(memory, "chat", fresh)
    assert await save_state(memory, "chat", fresh, overwrite=True) == 2
    assert await save_state(memory, "chat", fresh, if_version=2) == 3
    with pytest.raises(ConflictError):
        await save_state(memory, "chat", fresh, if_version=2)


async def test_missing_state_leaves_the_agent_as_it_was(memory: AsyncMemory) -> None:
    agent = AssistantAgent("assistant", model_client=scripted("hello"))
    await agent.run(task="hi")
    before = await agent.save_state()
    assert await load_state(memory, "nothing-here", agent) is None
    assert await agent.save_state() == before
    # after a load that found nothing, the first save creates the key
    assert await save_state(memory, "nothing-here", agent) == 1


async def test_sync_memory_works_too(namespace: str, url: str) -> None:
    memory = Memory(namespace, url)
    agent = AssistantAgent("assistant", model_client=scripted("ok"))
    await agent.run(task="hi")
    assert await save_state(memory, "chat", agent) == 1
    assert memory.get("chat")["state"]["type"] == "AssistantAgentState"
    memory.close()


async def test_loading_a_team_state_into_an_agent_is_refused(memory: AsyncMemory) -> None:
    team, _, _ = writers_team(["draft"], [], max_messages=2)
    await team.run(task=TASK)
    await save_state(memory, "team", team)
    with pytest.raises(ValidationError, match="saved TeamState .* needs a AssistantAgentState"):
        await load_state(memory, "team", AssistantAgent("assistant", model_client=scripted()))


async def test_loading_a_key_that_is_not_a_state_is_refused(memory: AsyncMemory) -> None:
    await memory.set("chat", {"some": "thing"})
    with pytest.raises(ValidationError, match="does not hold a state"):
        await load_state(memory, "chat", AssistantAgent("assistant", model_client=scripted()))


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("chat", "not an agent"), {}, "expected an AutoGen agent or team"),
        (("", None), {}, "key"),
        (("chat", None), {"overwrite": True, "if_version": 1}, "either if_version or overwrite"),
    ],
)
async def test_save_state_validates(
    memory: AsyncMemory, args: tuple[str, object], kwargs: dict[str, object], message: str
) -> None:
    key, target = args
    agent = target if target is not None else AssistantAgent("a", model_client=scripted())
    with pytest.raises(ValidationError, match=message):
        await save_state(memory, key, agent, **kwargs)  # type: ignore[arg-type]


async def test_save_state_needs_a_botwire_memory() -> None:
    with pytest.raises(ValidationError, match="must be a botwire.Memory"):
        await save_state({}, "chat", AssistantAgent("a", model_client=scripted()))  # type: ignore[arg-type]
