"""BotWire for CrewAI: durable crew memory and memory tools (``pip install "botwire[crewai]"``).

Three ways in, from the simplest:

1. **Tools**, the agent decides what to keep under which key::

       from botwire.crewai import memory_tools
       agent = Agent(role="Assistant", goal="...", backstory="...",
                     tools=memory_tools("crew-facts"))   # remember/recall/forget/list_memories

2. **LLM-free crew memory**, no embedder, no extra LLM call, no LanceDB folder::

       from botwire.crewai import BotWireCrewMemory
       crew = Crew(agents=[...], tasks=[...], memory=BotWireCrewMemory("research-crew"))

   Before each task the crew recalls the memories sharing words with it; after
   each task it saves the task and its result. The next ``kickoff()`` (in this
   process or another) sees them.

3. **Storage backend for CrewAI's own Memory** (LLM analysis, embeddings)::

       from crewai import Memory
       from botwire.crewai import BotWireStorage
       memory = Memory(storage=BotWireStorage("crew-memory"), embedder=...)

   or, process-wide, ``botwire.crewai.register("crew-memory")`` and then
   ``Memory(storage="botwire")``.

Every way keeps its data in a BotWire namespace: the embedded SQLite file by
default, or a shared server with ``BOTWIRE_URL=http://host:8080``. See
``docs/crewai.md`` for when to use which.
"""

from botwire import require_extra

require_extra("crewai", "crewai")

from botwire.crewai._memory import BotWireCrewMemory  # noqa: E402
from botwire.crewai._storage import (  # noqa: E402
    DEFAULT_NAMESPACE,
    BotWireStorage,
    register,
    unregister,
)
from botwire.crewai._tools import BotWireMemoryTools, memory_tools  # noqa: E402

__all__ = [
    "BotWireCrewMemory",
    "BotWireMemoryTools",
    "BotWireStorage",
    "DEFAULT_NAMESPACE",
    "memory_tools",
    "register",
    "unregister",
]
