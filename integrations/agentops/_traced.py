"""``traced(memory)``: the same memory, with a span for every operation.

The traced memory is an instance of a subclass of the memory's own class (made
once per class), so ``isinstance(traced(m), botwire.Memory)`` holds, every
signature and exception is the original's and a subclass's overrides still run.
It shares ``m``'s namespace and store; its ``store`` attribute is that store behind
a thin wrapper that adds the store's view (size, version, hit) to the spans. While
no tracer provider exists, calls go to an untraced twin instead (same class,
namespace, settings and unwrapped store), so tracing that is off costs one check.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botwire._client import AsyncMemory, Memory
from botwire._store import ThreadedAsyncStore
from botwire.agentops._spans import ACTIVE, OpState, enabled, finish, start
from botwire.agentops._stores import SPAN_KIND, AsyncTracingStore, TracingStore

__all__ = ["traced"]

M = TypeVar("M", bound="Memory | AsyncMemory")
Attrs = dict[str, Any]

# Public methods traced, and the name each gets in its span (``botwire.<op>``).
_SYNC_OPS = {
    "get": "get",
    "get_item": "get_item",
    "set": "set",
    "delete": "delete",
    "__contains__": "contains",
    "list_keys": "list_keys",
    "keys": "keys",
    "append": "append",
    "get_list": "get_list",
    "update": "update",
    "get_many": "get_many",
    "set_many": "set_many",
    "delete_many": "delete_many",
    "batch": "batch",
}
_ASYNC_OPS = {
    ("contains" if name == "__contains__" else name): op for name, op in _SYNC_OPS.items()
}

_KEY_OPS = frozenset(
    {"get", "get_item", "set", "delete", "contains", "append", "get_list", "update"}
)


def _count(attrs: Attrs, result: Any) -> None:
    attrs["botwire.count"] = len(result)


def _deleted(attrs: Attrs, result: Any) -> None:
    attrs["botwire.count"] = result


def _contains(attrs: Attrs, result: Any) -> None:
    attrs["botwire.hit"] = bool(result)


# What a method's return value adds to its span (the store adds the rest).
_RESULT_NOTES: dict[str, Callable[[Attrs, Any], None]] = {
    "contains": _contains,
    "list_keys": _count,
    "keys": _count,
    "get_list": _count,
    "get_many": _count,
    "delete_many": _deleted,
}


def _begin(self: Any, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Open the span of ``op`` unless ``self`` is already in one (or is not traced)."""
    owner = getattr(self, "_botwire_tracing", None)
    if owner is None:
        return None
    active = ACTIVE.get()
    if active is not None and active.owner is owner:
        return None  # e.g. keys() calling list_keys(): one span per user call
    attrs: Attrs = {"botwire.namespace": self.namespace, "botwire.store": owner.kind}
    if op in _KEY_OPS:
        key = args[0] if args else kwargs.get("key")
        if isinstance(key, str):
            attrs["botwire.key"] = key
    state = OpState(owner)
    span, token = start(f"botwire.{op}", SPAN_KIND, attrs)
    return span, token, state, ACTIVE.set(state)


def _plain(self: Any) -> Any:
    """The untraced twin of a traced memory (itself, if it has none).

    While nothing records, operations run on it: same class, namespace and store,
    minus the tracing store's layer, which would only pass each call through.
    """
    return self.__dict__.get("_botwire_plain", self)


def _mirror_setattr(self: Any, name: str, value: Any) -> None:
    """Set an attribute on a traced memory and on its untraced twin alike."""
    type(self)._botwire_untraced_class.__setattr__(self, name, value)  # a subclass's own
    plain = self.__dict__.get("_botwire_plain")
    if plain is not None and name not in _TRACED_ONLY:
        setattr(plain, name, value)


# Attributes only the traced memory has (its store is the tracing one).
_TRACED_ONLY = frozenset({"store", "_botwire_tracing", "_botwire_plain"})


def _sync_method(fn: Callable[..., Any], op: str) -> Callable[..., Any]:
    note = _RESULT_NOTES.get(op)

    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not enabled():  # checked here, not in _begin: this is the hot path
            return fn(_plain(self), *args, **kwargs)
        opened = _begin(self, op, args, kwargs)
        if opened is None:
            return fn(self, *args, **kwargs)
        span, token, state, active_token = opened
        error: BaseException | None = None
        try:
            result = fn(self, *args, **kwargs)
            if note is not None:
                note(state.attrs, result)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            ACTIVE.reset(active_token)
            finish(span, token, state.attrs, error)

    return method


def _async_method(fn: Callable[..., Any], op: str) -> Callable[..., Any]:
    note = _RESULT_NOTES.get(op)

    @functools.wraps(fn)
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not enabled():  # checked here, not in _begin: this is the hot path
            return await fn(_plain(self), *args, **kwargs)
        opened = _begin(self, op, args, kwargs)
        if opened is None:
            return await fn(self, *args, **kwargs)
        span, token, state, active_token = opened
        error: BaseException | None = None
        try:
            result = await fn(self, *args, **kwargs)
            if note is not None:
                note(state.attrs, result)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            ACTIVE.reset(active_token)
            finish(span, token, state.attrs, error)

    return method


_CLASSES: dict[type[Any], type[Any]] = {}


def _traced_class(base: type[Any]) -> type[Any]:
    """The traced subclass of a memory class (made once per class)."""
    made = _CLASSES.get(base)
    if made is None:
        made = _CLASSES.setdefault(base, _make_traced_class(base))
    return made


def _make_traced_class(base: type[Any]) -> type[Any]:
    is_async = issubclass(base, AsyncMemory)
    ops = _ASYNC_OPS if is_async else _SYNC_OPS
    wrap = _async_method if is_async else _sync_method
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": f"Traced{base.__name__}",
        "__doc__": f"A traced {base.__name__}: see :func:`botwire.agentops.traced`.",
        "_botwire_untraced_class": base,
        "__setattr__": _mirror_setattr,
    }
    for name, op in ops.items():
        namespace[name] = wrap(getattr(base, name), op)
    return type(f"Traced{base.__name__}", (base,), namespace)


def _traced_store(memory: Memory | AsyncMemory, record_values: bool) -> tuple[Any, Any]:
    """Return ``(store for the traced memory, the tracing store that owns its spans)``."""
    store: Any = memory.store
    if isinstance(store, (TracingStore, AsyncTracingStore)):
        store = store.inner  # tracing an already traced memory: replace the settings
    if isinstance(store, ThreadedAsyncStore):
        # Wrap the blocking store inside, so the result is still a ThreadedAsyncStore
        # (adapters reach the blocking store of an embedded AsyncMemory as ``.sync``).
        sync = store.sync.inner if isinstance(store.sync, TracingStore) else store.sync
        owner: Any = TracingStore(sync, record_values=record_values)
        return ThreadedAsyncStore(owner), owner
    if isinstance(memory, AsyncMemory):
        owner = AsyncTracingStore(store, record_values=record_values)
    else:
        owner = TracingStore(store, record_values=record_values)
    return owner, owner


def traced(memory: M, *, record_values: bool = False) -> M:
    """Return ``memory`` with an AgentOps span around every operation.

    Each call (``get``, ``get_item``, ``set``, ``delete``, ``in``/``contains``,
    ``list_keys``, ``keys``, ``append``, ``get_list``, ``update``, ``get_many``,
    ``set_many``, ``delete_many``, ``batch``) opens a span ``botwire.<op>.tool``
    in the current trace, with ``agentops.span.kind`` ``"tool"``, ``operation.name``
    ``"botwire.<op>"`` and ``botwire.*`` attributes: ``namespace``, ``store``,
    ``key`` or ``keys``, ``hit``, ``bytes``, ``version``, ``count`` … Errors are
    recorded with status ``ERROR`` and re-raised unchanged. No span is made until
    a tracer provider exists (``agentops.init()`` installs one); this function
    never initialises AgentOps itself.

    The result is an instance of a subclass of ``type(memory)`` sharing its
    namespace and store: a drop-in for any code, adapters included, that takes a
    ``Memory`` or ``AsyncMemory``. Closing either closes the store if ``memory``
    opened it.

    Example:
        >>> import agentops
        >>> from botwire import Memory
        >>> from botwire.agentops import traced
        >>> agentops.init()  # doctest: +SKIP
        >>> memory = traced(Memory("user-preferences"))
        >>> memory.set("user-42:style", "concise")  # a botwire.set.tool span
        1

    Args:
        memory: a :class:`botwire.Memory` or :class:`botwire.AsyncMemory`.
        record_values: also record the values read and written, as JSON text in
            ``botwire.value`` (for a batch, a JSON object of key to value). Off by
            default, because spans leave the process.

    Returns:
        The traced memory, of the same (sub)class as ``memory``.

    Raises:
        TypeError: ``memory`` is not a BotWire memory, or ``record_values`` is not a bool.
    """
    if not isinstance(memory, (Memory, AsyncMemory)):
        raise TypeError(
            f"traced() takes a botwire.Memory or botwire.AsyncMemory, not {type(memory).__name__}"
        )
    if not isinstance(record_values, bool):
        raise TypeError(f"record_values must be True or False, not {record_values!r}")
    base: type[Any] = getattr(type(memory), "_botwire_untraced_class", type(memory))
    untraced = _plain(memory)
    plain: Any = object.__new__(base)
    plain.__dict__.update(untraced.__dict__)
    result: Any = object.__new__(_traced_class(base))
    result.__dict__.update(untraced.__dict__)
    store, owner = _traced_store(memory, record_values)
    result.__dict__.update(store=store, _botwire_tracing=owner, _botwire_plain=plain)
    return result  # type: ignore[no-any-return]
