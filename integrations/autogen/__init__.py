"""BotWire for AutoGen (`pip install "botwire[autogen]"`).

Targets AutoGen 0.4+ (``autogen_core`` / ``autogen_agentchat``, Microsoft); the
older ``import autogen`` API now lives on as AG2 and is not covered here.

Memory the agent sees on every turn::

    from autogen_agentchat.agents import AssistantAgent
    from autogen_core.memory import MemoryContent, MemoryMimeType
    from botwire.autogen import BotWireMemory

    memory = BotWireMemory("user-42")          # durable; shared by every process
    await memory.add(MemoryContent(content="Prefers metric units", mime_type=MemoryMimeType.TEXT))
    agent = AssistantAgent("assistant", model_client=client, memory=[memory])

Before each model call the agent calls ``memory.update_context``: the memories that
best match the latest user message (keyword match, then recency; ``limit=5``) go
into one system message, replacing the previous turn's, so nothing piles up.
``agent.dump_component()`` / ``AssistantAgent.load_component(...)`` round-trip it.

Tools the model calls itself::

    from botwire.autogen import memory_tools

    agent = AssistantAgent("assistant", model_client=client, tools=memory_tools(memory))

``remember(key, value)``, ``recall(key)``, ``forget(key)`` and
``list_memories(prefix)``, the same tools as the LangChain and CrewAI adapters';
given a ``BotWireMemory`` the facts also come back through ``update_context``;
given a ``botwire.AsyncMemory`` / ``botwire.Memory`` they are plain keys.

Conversations and teams that resume in another process::

    from botwire import AsyncMemory
    from botwire.autogen import load_state, save_state

    store = AsyncMemory("chats")
    await load_state(store, "chat:42", team)    # None the first time
    await team.run(task="Next step")
    await save_state(store, "chat:42", team)    # ConflictError if someone else saved

The state is ``await team.save_state()``; the save is conditioned on the version
this object last loaded or saved, so two processes continuing the same
conversation cannot overwrite each other silently.
"""

from botwire import require_extra

require_extra("autogen_core", "autogen")

from botwire.autogen._memory import AnyMemory, BotWireMemory, BotWireMemoryConfig  # noqa: E402
from botwire.autogen._state import Stateful, load_state, save_state  # noqa: E402
from botwire.autogen._tools import memory_tools  # noqa: E402

__all__ = [
    "AnyMemory",
    "BotWireMemory",
    "BotWireMemoryConfig",
    "Stateful",
    "load_state",
    "memory_tools",
    "save_state",
]
