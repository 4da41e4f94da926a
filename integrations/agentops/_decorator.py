"""``@memory_operation``: a span for a helper function built on memory.

The replacement for the ``@agentops.record_function("name")`` that older AgentOps
guides put on such helpers. Unlike ``@agentops.operation``/``@agentops.tool``, it
records no argument and no return value, only where the memory is: the namespace
and store of a memory passed in, and the ``key``/``keys`` arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from botwire._client import AsyncMemory, Memory
from botwire.agentops._spans import MAX_KEYS, enabled, finish, start

__all__ = ["memory_operation"]

F = TypeVar("F", bound=Callable[..., Any])

SPAN_KIND = "task"
"""AgentOps span kind of a helper: the kind ``@agentops.operation`` gives too."""


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
            attrs["botwire.store"] = value.store.kind
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
    ``operation.name`` ``<name>``) in the current trace. The operations of a
    :func:`~botwire.agentops.traced` memory used inside become its children.
    Recorded: the ``namespace`` and ``store`` of the first ``Memory``/``AsyncMemory``
    argument, and a ``key`` (string) or ``keys`` (list) argument; never other
    arguments or the return value. Exceptions are recorded and re-raised.
    Works on plain and ``async`` functions and methods.

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

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not enabled():
                return await func(*args, **kwargs)
            span, token = start(op_name, SPAN_KIND, _describe(signature, args, kwargs))
            error: BaseException | None = None
            try:
                return await func(*args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                finish(span, token, {}, error)

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not enabled():
            return func(*args, **kwargs)
        span, token = start(op_name, SPAN_KIND, _describe(signature, args, kwargs))
        error: BaseException | None = None
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            finish(span, token, {}, error)

    return wrapper
