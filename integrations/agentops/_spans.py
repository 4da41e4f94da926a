"""OpenTelemetry spans in AgentOps' conventions, opened and closed by hand.

AgentOps 0.4 makes every span with ``trace.get_tracer(...)`` on the *global*
tracer provider, which ``agentops.init()`` installs; spans opened here go to the
same provider, so they nest inside ``agentops.start_trace(...)`` and reach the same
exporter. With no SDK provider installed (AgentOps not initialised, no other
OpenTelemetry setup) nothing is opened at all: tracing then costs a lookup or two.

The span of one memory operation is named ``botwire.<op>.<kind>`` and carries
``agentops.span.kind`` and ``operation.name`` (``botwire.<op>``) exactly as an
``@agentops.<kind>(name="botwire.<op>")`` decorator would, but never
``agentops.<kind>.input``/``output``: stored values are recorded only on request.
"""

from __future__ import annotations

import os
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode

from botwire import __version__
from botwire._errors import BotWireError

__all__ = [
    "ACTIVE",
    "MAX_KEYS",
    "MAX_VALUE_CHARS",
    "OpState",
    "enabled",
    "finish",
    "start",
]

# A ProxyTracer: it follows the global provider even when AgentOps installs it later.
_TRACER = trace.get_tracer("botwire", __version__)

_NO_SDK = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)

MAX_KEYS = 100
"""Batch spans list at most this many keys (``botwire.count`` has the full number)."""

MAX_VALUE_CHARS = 1_000_000
"""Longest value text recorded with ``record_values=True`` (AgentOps' own limit)."""

# AgentOps' attribute names (agentops.semconv.SpanAttributes); spelled out here so
# this module does not import agentops, whose import has side effects of its own.
SPAN_KIND = "agentops.span.kind"
OPERATION_NAME = "operation.name"


_UNKNOWN = object()
_OTEL_GLOBALS = vars(trace)
_PROVIDER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def enabled() -> bool:
    """Whether a real tracer provider is installed (``agentops.init()`` or other).

    Runs before every memory operation, so it reads OpenTelemetry's global
    directly: ``trace.get_tracer_provider()`` looks ``os.environ`` up on every
    call while no provider is set, which costs as much as a tenth of an embedded
    ``get``. Should that private name go away, the public call is used instead.
    """
    provider = _OTEL_GLOBALS.get("_TRACER_PROVIDER", _UNKNOWN)
    if provider is None:
        if not _PROVIDER_FROM_ENV:
            return False
        provider = trace.get_tracer_provider()  # loads the provider named in the environment
    elif provider is _UNKNOWN:
        provider = trace.get_tracer_provider()
    return not isinstance(provider, _NO_SDK)


class OpState:
    """One traced operation in progress: the attributes gathered for its span so far.

    ``owner`` is the tracing store of the memory that opened it, so the store
    annotates only its own operation (a memory used inside ``update``'s function
    opens spans of its own).
    """

    __slots__ = ("attrs", "owner")

    def __init__(self, owner: object) -> None:
        self.owner = owner
        self.attrs: dict[str, Any] = {}


def start(name: str, kind: str, attrs: dict[str, Any]) -> tuple[Span, Token[Context]]:
    """Open span ``<name>.<kind>`` as the current span; return it and its context token."""
    attrs[SPAN_KIND] = kind
    attrs[OPERATION_NAME] = name
    span = _TRACER.start_span(f"{name}.{kind}", attributes=attrs)
    token = otel_context.attach(trace.set_span_in_context(span))
    return span, token


def finish(
    span: Span, token: Token[Context], attrs: dict[str, Any], exc: BaseException | None
) -> None:
    """Record the gathered attributes and the outcome, restore the context, end the span."""
    otel_context.detach(token)
    if exc is not None:
        attrs["error.type"] = type(exc).__qualname__
        if isinstance(exc, BotWireError):
            attrs["botwire.error.code"] = exc.code
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.record_exception(exc)
    span.set_attributes(attrs)
    span.end()


ACTIVE: ContextVar[OpState | None] = ContextVar("botwire_agentops_op", default=None)
"""The traced memory operation running in this context, if any."""
