"""BotWire for AgentOps: every memory operation as a step of the AgentOps trace.

Install with ``pip install "botwire[agentops]"``. Turn tracing on and initialise
AgentOps as usual (this package never calls ``agentops.init()``)::

    import agentops
    from botwire import Memory
    from botwire.agentops import BotWireInstrumentor

    BotWireInstrumentor().instrument()                # every Memory / AsyncMemory
    agentops.init(auto_start_session=False)           # AGENTOPS_API_KEY from the environment
    memory = Memory("user-preferences")

    with agentops.start_trace("support-chat"):
        style = memory.get("user-42:style", "friendly")   # span botwire.get.tool
        memory.set("user-42:style", "concise")            # span botwire.set.tool

``traced(memory)`` traces one memory instead. Each span is an OpenTelemetry
``CLIENT`` span with the database conventions (``db.system.name="botwire"``,
``db.operation.name``, ``db.namespace``), AgentOps' ``agentops.span.kind``
(``tool``) and ``operation.name`` (``botwire.<op>``), and ``botwire.*`` metadata:
``key``/``keys``, ``hit``, ``bytes``, ``version``, ``count``. Stored values are
never recorded. Errors get status ``ERROR`` and an ``exception`` event.

``@record_function("name")`` (the decorator of older AgentOps guides, which
AgentOps 0.4 removed) and ``@memory_operation`` trace your own helper functions
without recording their arguments or results.

The spans go to OpenTelemetry's global tracer provider, the one ``agentops.init()``
installs (or ``tracer_provider=``), so they also reach any other OpenTelemetry
backend configured there; with no provider at all, nothing is recorded and a call
costs a dictionary lookup.
"""

import importlib.util

from botwire import require_extra

# Check the extra is installed without importing agentops (a second or so of
# import-time work and side effects this package never needs: it only uses
# OpenTelemetry, whose provider agentops.init() installs).
if importlib.util.find_spec("agentops") is None:
    require_extra("agentops", "agentops")  # raises, naming the extra

from botwire.agentops._decorator import memory_operation, record_function  # noqa: E402
from botwire.agentops._instrumentor import BotWireInstrumentor, traced  # noqa: E402

__all__ = ["BotWireInstrumentor", "memory_operation", "record_function", "traced"]
