"""BotWire for AgentOps: every memory operation as a step of the AgentOps trace.

Install with ``pip install "botwire[agentops]"``. Wrap a memory with :func:`traced`
and initialise AgentOps as usual (this package never calls ``agentops.init()``)::

    import agentops
    from botwire import Memory
    from botwire.agentops import memory_operation, traced

    agentops.init()                                   # AGENTOPS_API_KEY from the environment
    memory = traced(Memory("user-preferences"))       # still a botwire.Memory

    with agentops.start_trace("support-chat"):
        style = memory.get("user-42:style", "friendly")   # span botwire.get.tool
        memory.set("user-42:style", "concise")            # span botwire.set.tool

Each span carries AgentOps' ``agentops.span.kind`` (``tool``) and ``operation.name``
(``botwire.<op>``) plus ``botwire.namespace``, ``botwire.store``, ``botwire.key`` or
``botwire.keys``, and what the store saw: ``botwire.hit``, ``botwire.bytes``,
``botwire.version``, ``botwire.count``. Errors get status ``ERROR`` and an
``exception`` event. Stored values are never recorded unless you ask with
``traced(memory, record_values=True)``.

``traced`` works for ``AsyncMemory`` too, and the traced memory is a drop-in for the
LangChain, CrewAI and AutoGen adapters. ``@memory_operation`` traces your own helper
functions (the ``@agentops.record_function`` of older guides) without recording
their arguments or results.

The spans go to OpenTelemetry's global tracer provider, the one ``agentops.init()``
installs, so they also reach any other OpenTelemetry backend configured there;
with no provider at all, tracing is skipped at the cost of one type check.
"""

from botwire._errors import require

require("agentops", "agentops")

from botwire.agentops._decorator import memory_operation  # noqa: E402
from botwire.agentops._traced import traced  # noqa: E402

__all__ = ["memory_operation", "traced"]
