"""``BotWireInstrumentor`` and ``traced``: an OpenTelemetry client span per memory call.

Like the OpenTelemetry contrib instrumentations (the redis one, say): the public
methods of ``botwire.Memory`` and ``botwire.AsyncMemory`` are replaced, on the
classes, by functions that open a ``CLIENT`` span around the original and pass
everything else through (same signature, docstring, result and exception).
:meth:`BotWireInstrumentor.instrument` traces every memory of the process;
:func:`traced` (:meth:`BotWireInstrumentor.instrument_memory`) traces one, by a
setting on that instance only. No subclass, no copy of the memory.

Plain functions rather than ``wrapt`` wrappers: a ``wrapt`` bound wrapper alone
costs 8-13% of an embedded ``get`` (about 6 us), the whole budget of tracing that
records nothing.

While nothing can record (no SDK tracer provider: ``agentops.init()`` not called,
no other OpenTelemetry setup) a call costs one dictionary lookup and one flag. The
flag is OpenTelemetry's public ``trace.get_tracer_provider()``, read once, and
kept up to date by watching ``trace.set_tracer_provider`` (the global provider is
set once and never unset) and, as a safety net, read again every
:data:`RECHECK_EVERY` calls; calling ``get_tracer_provider()`` on every operation
would cost a fifth of an embedded ``get``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.semconv.attributes.db_attributes import (
    DB_NAMESPACE,
    DB_OPERATION_BATCH_SIZE,
    DB_OPERATION_NAME,
    DB_SYSTEM_NAME,
)
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import Span, SpanKind

from botwire import AsyncMemory, BotWireError, Memory, __version__

__all__ = ["BotWireInstrumentor", "RequestHook", "ResponseHook", "traced"]

_instruments = ("agentops >= 0.4.21, < 0.5",)
"""The AgentOps releases whose span conventions these spans follow (the
``agentops`` extra in pyproject.toml says the same; a test keeps them equal)."""

RequestHook = Callable[[Span, Any, str, tuple[Any, ...], dict[str, Any]], None]
"""``request_hook(span, memory, operation, args, kwargs)``: called before each call."""
ResponseHook = Callable[[Span, Any, str, Any], None]
"""``response_hook(span, memory, operation, result)``: called after each successful call."""

MAX_KEYS = 100
"""Batch spans list at most this many keys (``db.operation.batch.size`` has the number)."""

SPAN_KIND = "tool"
"""AgentOps' span kind of a memory call: a tool step of the agent."""

# Traced methods: method name -> operation name (``in`` is ``contains`` on both twins).
_SYNC_OPS = {
    "get": "get",
    "get_item": "get_item",
    "set": "set",
    "delete": "delete",
    "__contains__": "contains",
    "list_keys": "list_keys",
    "append": "append",
    "get_list": "get_list",
    "update": "update",
    "get_many": "get_many",
    "set_many": "set_many",
    "delete_many": "delete_many",
    "batch": "batch",
}
_ASYNC_OPS = {("contains" if m == "__contains__" else m): op for m, op in _SYNC_OPS.items()}
_SETTING = "_botwire_tracing"
"""Instance attribute holding a memory's own :class:`_Settings` (set by ``traced``)."""

_MISSING: Any = object()


# -- when can anything record ----------------------------------------------------------

_NO_SDK = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_provider_ready = False
_provider_from_env = False


def _check_provider() -> None:
    global _provider_ready
    _provider_ready = not isinstance(trace.get_tracer_provider(), _NO_SDK)


def _provider_set(
    wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
) -> Any:  # wrapt wrapper of trace.set_tracer_provider
    try:
        return wrapped(*args, **kwargs)
    finally:
        _check_provider()


def _watch_provider() -> None:
    """Keep ``_provider_ready`` right: read it now, and again when a provider is set."""
    global _provider_from_env
    if not isinstance(trace.set_tracer_provider, wrapt.ObjectProxy):
        wrapt.wrap_function_wrapper(trace, "set_tracer_provider", _provider_set)
    # A provider named in the environment is loaded by get_tracer_provider() itself.
    _provider_from_env = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
    _check_provider()


RECHECK_EVERY = 256
"""While no provider is known, look again every this many calls: a provider set
through a reference to ``set_tracer_provider`` taken before it was watched (``from
opentelemetry.trace import set_tracer_provider``) is seen within that many calls."""
_until_recheck = 0


def _late_provider() -> bool:
    """Whether a provider has appeared that ``set_tracer_provider``'s watch missed."""
    global _until_recheck
    if _provider_from_env:
        _check_provider()
    else:
        _until_recheck -= 1
        if _until_recheck < 0:
            _until_recheck = RECHECK_EVERY
            _check_provider()
    return _provider_ready


def global_provider_ready() -> bool:
    """Whether OpenTelemetry's global tracer provider can record (an SDK one is set)."""
    return _provider_ready or _late_provider()


# -- what a call adds to its span: before it (never a value), and once it succeeded --------

Attrs = dict[str, Any]
Args = tuple[Any, ...]
Kwargs = dict[str, Any]


def _size(value: Any) -> int:
    """Bytes of ``value`` as stored (BotWire's codec: compact JSON, UTF-8)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _arg(args: Args, kwargs: Kwargs, index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, _MISSING)


def _keys(attrs: Attrs, keys: Any) -> None:
    keys = [k for k in keys if isinstance(k, str)]
    attrs["botwire.keys"] = keys[:MAX_KEYS]
    attrs[DB_OPERATION_BATCH_SIZE] = len(keys)


def _key(args: Args, kwargs: Kwargs, attrs: Attrs) -> None:
    key = args[0] if args else kwargs.get("key")
    if isinstance(key, str):
        attrs["botwire.key"] = key


def _set_options(args: Args, kwargs: Kwargs, attrs: Attrs) -> None:
    _key(args, kwargs, attrs)
    for name in ("ttl", "if_version"):
        if kwargs.get(name) is not None:
            attrs[f"botwire.{name}"] = kwargs[name]


def _listing(args: Args, kwargs: Kwargs, attrs: Attrs) -> None:
    prefix, limit = _arg(args, kwargs, 0, "prefix"), _arg(args, kwargs, 1, "limit")
    if isinstance(prefix, str) and prefix:
        attrs["botwire.prefix"] = prefix
    if isinstance(limit, int):
        attrs["botwire.limit"] = limit


def _key_list(args: Args, kwargs: Kwargs, attrs: Attrs) -> None:
    keys = _arg(args, kwargs, 0, "keys")
    if isinstance(keys, (list, tuple)):
        _keys(attrs, keys)


def _mapping(args: Args, kwargs: Kwargs, attrs: Attrs) -> None:
    mapping = _arg(args, kwargs, 0, "mapping")
    if isinstance(mapping, Mapping):
        _keys(attrs, list(mapping))


def _ops(args: Args, kwargs: Kwargs, attrs: Attrs) -> None:
    ops = _arg(args, kwargs, 0, "ops")
    if isinstance(ops, Sequence):
        _keys(attrs, [getattr(o, "key", None) for o in ops])
        attrs["botwire.ops"] = sorted({str(getattr(o, "op", "?")) for o in ops})


_BEFORE: dict[str, Callable[[Args, Kwargs, Attrs], None]] = {
    "set": _set_options,
    "list_keys": _listing,
    "get_many": _key_list,
    "delete_many": _key_list,
    "set_many": _mapping,
    "batch": _ops,
}
_KEYED = frozenset({"get", "get_item", "delete", "contains", "append", "get_list", "update"})
"""Operations whose only request attribute is the key (handled inline: the hot path)."""

# Once the call succeeded: (span, args, kwargs, result). Sizes are measured here, so a
# value the codec refuses has none; reads have none: measuring would cost a span.
_AFTER: dict[str, Callable[[Span, Args, Kwargs, Any], None]] = {
    "get": lambda span, a, k, r: span.set_attribute("botwire.hit", r is not _MISSING),
    "get_item": lambda span, a, k, r: span.set_attributes(
        {"botwire.hit": False} if r is None else {"botwire.hit": True, "botwire.version": r.version}
    ),
    "set": lambda span, a, k, r: span.set_attributes(
        {"botwire.version": r, "botwire.bytes": _size(_arg(a, k, 1, "value"))}
    ),
    "update": lambda span, a, k, r: span.set_attribute("botwire.bytes", _size(r)),
    "set_many": lambda span, a, k, r: span.set_attribute(
        "botwire.bytes", sum(_size(v) for v in _arg(a, k, 0, "mapping").values())
    ),
    "delete": lambda span, a, k, r: span.set_attribute("botwire.hit", bool(r)),
    "contains": lambda span, a, k, r: span.set_attribute("botwire.hit", bool(r)),
    "append": lambda span, a, k, r: span.set_attributes(
        {"botwire.count": len(a) - 1, "botwire.length": r, "botwire.bytes": sum(map(_size, a[1:]))}
    ),
    "list_keys": lambda span, a, k, r: span.set_attribute("botwire.count", len(r)),
    "get_list": lambda span, a, k, r: span.set_attribute("botwire.count", len(r)),
    "get_many": lambda span, a, k, r: span.set_attribute("botwire.count", len(r)),
    "delete_many": lambda span, a, k, r: span.set_attribute("botwire.count", r),
    "batch": lambda span, a, k, r: None,
}


# -- the span around one call -------------------------------------------------------------


class _Settings:
    """One ``instrument()`` or ``traced()`` call's tracer and hooks."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        request_hook: RequestHook | None,
        response_hook: ResponseHook | None,
    ) -> None:
        # With the global provider, the tracer is fetched on the first span: fetched
        # before the provider is set it would be a proxy, a lookup on every span.
        self.tracer: trace.Tracer | None = None
        if tracer_provider is not None:
            self.tracer = trace.get_tracer(__name__, __version__, tracer_provider)
        self.own_provider = tracer_provider is not None
        self.request_hook = request_hook
        self.response_hook = response_hook
        # (op, namespace, store kind) -> the attributes every such span starts with
        self._fixed: dict[tuple[str, str, str], Attrs] = {}

    def span(self, memory: Any, op: str, args: Args, kwargs: Kwargs) -> Any:
        """The ``start_as_current_span`` context manager of one call."""
        where = (op, memory.namespace, memory.store.kind)
        fixed = self._fixed.get(where)
        if fixed is None:
            if len(self._fixed) > 1000:  # namespaces made on the fly: stay bounded
                self._fixed.clear()
            fixed = self._fixed[where] = {
                DB_SYSTEM_NAME: "botwire",
                DB_OPERATION_NAME: op,
                DB_NAMESPACE: where[1],
                "botwire.store": where[2],
                "agentops.span.kind": SPAN_KIND,
                "operation.name": f"botwire.{op}",
            }
        attrs = fixed.copy()
        if op in _KEYED:
            key = args[0] if args else kwargs.get("key")
            if isinstance(key, str):
                attrs["botwire.key"] = key
        else:
            _BEFORE[op](args, kwargs, attrs)
        tracer = self.tracer
        if tracer is None:
            tracer = self.tracer = trace.get_tracer(__name__, __version__)
        if self.request_hook is None:
            return tracer.start_as_current_span(
                f"botwire.{op}.{SPAN_KIND}", kind=SpanKind.CLIENT, attributes=attrs
            )
        return self._hooked(tracer, memory, op, args, kwargs, attrs)

    @contextlib.contextmanager
    def _hooked(
        self, tracer: trace.Tracer, memory: Any, op: str, args: Args, kwargs: Kwargs, attrs: Attrs
    ) -> Iterator[Span]:
        with tracer.start_as_current_span(
            f"botwire.{op}.{SPAN_KIND}", kind=SpanKind.CLIENT, attributes=attrs
        ) as span:
            assert self.request_hook is not None
            self.request_hook(span, memory, op, args, kwargs)
            yield span


def _failed(span: Span, exc: BaseException) -> None:
    span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
    if isinstance(exc, BotWireError):
        span.set_attribute("botwire.error.code", exc.code)


_everything: _Settings | None = None
"""The settings of :meth:`BotWireInstrumentor.instrument`, while it is on."""


def _done(settings: _Settings, span: Span, memory: Any, op: str, call: Args, result: Any) -> Any:
    """Record a successful call on its span; return what the caller gets."""
    args, kwargs = call
    _AFTER[op](span, args, kwargs, result)
    if op == "get" and result is _MISSING:
        result = _arg(args, kwargs, 1, "default")
        result = None if result is _MISSING else result
    if settings.response_hook is not None:
        settings.response_hook(span, memory, op, result)
    return result


# The sync and async methods differ only in ``await``; the check that comes first
# is the whole cost while nothing records, so it stays inline in both.


def _sync_method(fn: Callable[..., Any], op: str) -> Callable[..., Any]:
    is_get = op == "get"  # a sentinel default tells a hit from a miss

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        settings = self.__dict__.get(_SETTING, _everything)
        if (
            settings is None
            or not (settings.own_provider or _provider_ready or _late_provider())
            or not is_instrumentation_enabled()
        ):
            return fn(self, *args, **kwargs)
        with settings.span(self, op, args, kwargs) as span:
            try:
                if is_get:
                    result = fn(self, args[0] if args else kwargs["key"], _MISSING)
                else:
                    result = fn(self, *args, **kwargs)
            except BaseException as exc:
                _failed(span, exc)
                raise
            return _done(settings, span, self, op, (args, kwargs), result)

    return method


def _async_method(fn: Callable[..., Any], op: str) -> Callable[..., Any]:
    is_get = op == "get"

    @functools.wraps(fn)
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        settings = self.__dict__.get(_SETTING, _everything)
        if (
            settings is None
            or not (settings.own_provider or _provider_ready or _late_provider())
            or not is_instrumentation_enabled()
        ):
            return await fn(self, *args, **kwargs)
        with settings.span(self, op, args, kwargs) as span:
            try:
                if is_get:
                    result = await fn(self, args[0] if args else kwargs["key"], _MISSING)
                else:
                    result = await fn(self, *args, **kwargs)
            except BaseException as exc:
                _failed(span, exc)
                raise
            return _done(settings, span, self, op, (args, kwargs), result)

    return method


_ORIGINALS: dict[tuple[type[Any], str], Callable[..., Any]] = {}


def _patch() -> None:
    """Put the tracing methods on ``Memory`` and ``AsyncMemory`` (once)."""
    _watch_provider()
    for cls, ops, make in (
        (Memory, _SYNC_OPS, _sync_method),
        (AsyncMemory, _ASYNC_OPS, _async_method),
    ):
        for name, op in ops.items():
            if (cls, name) not in _ORIGINALS:
                _ORIGINALS[cls, name] = original = cls.__dict__[name]
                setattr(cls, name, make(original, op))


def _unpatch() -> None:
    for (cls, name), original in _ORIGINALS.items():
        setattr(cls, name, original)
    _ORIGINALS.clear()
    if isinstance(trace.set_tracer_provider, wrapt.ObjectProxy):
        unwrap(trace, "set_tracer_provider")


_traced_memories: weakref.WeakSet[Any] = weakref.WeakSet()
"""The memories ``traced()`` set up: while any is alive, the methods stay patched."""


class BotWireInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Trace BotWire memory calls with OpenTelemetry, in AgentOps' conventions.

    Example:
        >>> from botwire.agentops import BotWireInstrumentor
        >>> BotWireInstrumentor().instrument()      # every Memory / AsyncMemory
        >>> BotWireInstrumentor().uninstrument()

    ``instrument()`` takes ``tracer_provider=`` (default: the global one, which
    ``agentops.init()`` installs), ``request_hook=`` and ``response_hook=`` (see
    :data:`RequestHook`, :data:`ResponseHook`).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """The supported AgentOps range (this package needs AgentOps to import)."""
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        global _everything
        _everything = _Settings(
            kwargs.get("tracer_provider"), kwargs.get("request_hook"), kwargs.get("response_hook")
        )
        _patch()

    def _uninstrument(self, **kwargs: Any) -> None:
        global _everything
        _everything = None
        if not _traced_memories:
            _unpatch()

    @staticmethod
    def instrument_memory(
        memory: Any,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        request_hook: RequestHook | None = None,
        response_hook: ResponseHook | None = None,
    ) -> None:
        """Trace one memory (see :func:`traced`)."""
        if not isinstance(memory, (Memory, AsyncMemory)):
            raise TypeError(
                "traced() takes a botwire.Memory or botwire.AsyncMemory, "
                f"not {type(memory).__name__}"
            )
        _traced_memories.add(memory)
        memory.__dict__[_SETTING] = _Settings(tracer_provider, request_hook, response_hook)
        _patch()

    @staticmethod
    def uninstrument_memory(memory: Any) -> None:
        """Stop tracing a memory traced by :meth:`instrument_memory` (a no-op otherwise)."""
        memory.__dict__.pop(_SETTING, None)
        _traced_memories.discard(memory)


def traced(
    memory: Any,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    request_hook: RequestHook | None = None,
    response_hook: ResponseHook | None = None,
) -> Any:
    """Trace every call of ``memory``; return ``memory`` itself.

    Each call (``get``, ``get_item``, ``set``, ``delete``, ``in``/``contains``,
    ``list_keys`` (``keys()`` too), ``append``, ``get_list``, ``update``, ``get_many``,
    ``set_many``, ``delete_many``, ``batch``) opens a ``CLIENT`` span
    ``botwire.<op>.tool`` in the current trace, with ``db.system.name``
    ``"botwire"``, ``db.operation.name``, ``db.namespace``, AgentOps'
    ``agentops.span.kind`` / ``operation.name`` and ``botwire.*`` metadata: key or
    keys, ``hit``, ``bytes``, ``version``, ``count``... never a stored value.
    Errors get status ``ERROR``, an ``exception`` event and ``error.type``, and are
    re-raised unchanged. Nothing is made until a tracer provider exists
    (``agentops.init()`` installs one); this never initialises AgentOps.

    Only this instance is traced; clients built from it (``AsyncMemory.from_sync``,
    an adapter's async twin) are not: for those, use
    ``BotWireInstrumentor().instrument()``.

    Example:
        >>> from botwire import Memory
        >>> from botwire.agentops import traced
        >>> memory = traced(Memory("user-preferences"))
        >>> memory.set("user-42:style", "concise")  # a botwire.set.tool span
        1

    Args:
        memory: a :class:`botwire.Memory` or :class:`botwire.AsyncMemory`.
        tracer_provider: where the spans go (default: the global provider).
        request_hook: ``(span, memory, operation, args, kwargs)``, before each call.
        response_hook: ``(span, memory, operation, result)``, after each success.

    Returns:
        ``memory``, now traced (tracing it again replaces the settings).

    Raises:
        TypeError: ``memory`` is not a BotWire memory.
    """
    BotWireInstrumentor.instrument_memory(
        memory,
        tracer_provider=tracer_provider,
        request_hook=request_hook,
        response_hook=response_hook,
    )
    return memory
