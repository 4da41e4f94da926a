"""``@record_function`` / ``@memory_operation``: a span for a helper built on memory.

``@record_function("get_user_preference")`` is the call shape of the
``@agentops.record_function`` that AgentOps 0.4 removed and older guides still
show. Unlike ``@agentops.operation``/``@agentops.tool`` it records no argument
and no return value, only where the memory is: the namespace and store of a memory
passed in, and ``key``/``keys`` arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE

from botwire import AsyncMemory, Memory, __version__
from botwire.agentops._instrumentor import MAX_KEYS, _watch_provider, global_provider_ready

__all__ = ["memory_operation", "record_function"]

F = TypeVar("F", bound=Callable[..., Any])

SPAN_KIND = "task"
"""AgentOps span kind of a helper: the kind ``@agentops.operation`` gives too."""

_TRACER = trace.get_tracer(__name__, __version__)


def _describe(signature: inspect.Signature, args: Any, kwargs: Any) -> dict[str, Any]:
    """The ``botwire.*`` attributes of one call: no values, only where it looks."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return {}  # the call itself raises the TypeError, inside the span
    attrs: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if isinstance(value, (Memory, AsyncMemory)) and "botwire.namespace" not in attrs:
            attrs["botwire.namespace"] = value.namespace
            attrs["botwire.store"] = str(getattr(value.store, "kind", "unknown"))
        elif name == "key" and isinstance(value, str):
            attrs["botwire.key"] = value
        elif name == "keys" and isinstance(value, (list, tuple)):
            keys = [k for k in value if isinstance(k, str)]
            attrs["botwire.keys"] = keys[:MAX_KEYS]
            attrs["botwire.count"] = len(value)
    return attrs


@overload
def memory_operation(func: F, /) -> F: ...


@overload
def memory_operation(*, name: str | None = None) -> Callable[[F], F]: ...


def memory_operation(func: Any = None, /, *, name: str | None = None) -> Any:
    """Trace a function that works with memory as one AgentOps step.

    Each call opens a span ``<name>.task`` (``agentops.span.kind`` ``"task"``,
    ``operation.name`` ``<name>``) in the current trace; traced memory calls made
    inside become its children. Recorded: the ``namespace`` and ``store`` of the
    first ``Memory``/``AsyncMemory`` argument, and a ``key`` (string) or ``keys``
    (list) argument; never other arguments or the return value. Exceptions are
    recorded and re-raised. Works on plain and ``async`` functions and methods.

    Example:
        >>> from botwire.agentops import memory_operation
        >>> @memory_operation
        ... def remember_style(memory, key: str, style: str) -> None:
        ...     memory.set(key, style)

    Args:
        func: the function (when used as ``@memory_operation``).
        name: the span's operation name; default: the function's ``__name__``.

    Returns:
        The wrapped function, or a decorator when called with ``name=`` only.

    Raises:
        TypeError: ``func`` is not a plain or async function (generators are
            not supported: their work happens after the call returns).
        ValueError: ``name`` is empty or not a string.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"memory_operation name= must be a non-empty string, not {name!r}")
    if func is None:
        return functools.partial(_decorate, name=name)
    return _decorate(func, name=name)


def record_function(name: str) -> Callable[[F], F]:
    """``@record_function("name")``: the older AgentOps guides' decorator, as it was written.

    The same as ``@memory_operation(name="name")``: a ``name.task`` span, no
    arguments or results recorded. Change the article's
    ``@agentops.record_function("get_user_preference")`` to
    ``from botwire.agentops import record_function`` and
    ``@record_function("get_user_preference")``.

    Raises:
        TypeError: ``name`` is not a string (``@record_function`` needs the name).
    """
    if not isinstance(name, str):
        raise TypeError('write @record_function("name"): the span name comes first')
    decorator: Callable[[F], F] = memory_operation(name=name)
    return decorator


def _decorate(func: Any, *, name: str | None) -> Any:
    if isinstance(func, str):
        raise TypeError(f"write @memory_operation(name={func!r}), with name= spelled out")
    if not callable(func):
        raise TypeError(f"@memory_operation decorates a function, not {type(func).__name__}")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(
            f"@memory_operation cannot trace generator {func.__name__!r}: "
            "its work runs after the call returns; trace a function that consumes it"
        )
    op_name: str = name if name is not None else str(getattr(func, "__name__", "helper"))
    signature = inspect.signature(func)
    _watch_provider()

    def span(args: Any, kwargs: Any) -> Any:
        attrs = {"agentops.span.kind": SPAN_KIND, "operation.name": op_name}
        attrs.update(_describe(signature, args, kwargs))
        return _TRACER.start_as_current_span(f"{op_name}.{SPAN_KIND}", attributes=attrs)

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not global_provider_ready():
                return await func(*args, **kwargs)
            with span(args, kwargs) as current:
                try:
                    return await func(*args, **kwargs)
                except BaseException as exc:
                    current.set_attribute(ERROR_TYPE, type(exc).__qualname__)
                    raise

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not global_provider_ready():
            return func(*args, **kwargs)
        with span(args, kwargs) as current:
            try:
                return func(*args, **kwargs)
            except BaseException as exc:
                current.set_attribute(ERROR_TYPE, type(exc).__qualname__)
                raise

    return wrapper
