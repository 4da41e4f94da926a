"""Which namespaces the tools may touch, and one ``AsyncMemory`` per namespace."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from botwire import (
    AsyncMemory,
    AsyncStore,
    BotWireError,
    PermissionDeniedError,
    ValidationError,
    open_async_store,
)
from botwire.mcp._compat import ToolError
from botwire.tokens import RESERVED_PREFIX, Access, TokenScope, is_reserved, validate_pattern

__all__ = ["Namespaces", "RequestCheck", "request_check", "tool_errors"]

RequestCheck = Callable[[str, Access], None]
"""Raises ``PermissionDeniedError`` (with the refusal sentence) unless the request
being served may ``access`` the namespace."""

request_check: ContextVar[RequestCheck | None] = ContextVar("botwire_mcp_request", default=None)
"""The caller's own scope, set per request by a server that serves MCP over HTTP
(``/mcp`` on ``botwire serve``: the bearer token's scope). Set, it decides instead
of the server's fixed ``allow`` patterns; unset (stdio), those decide."""


@contextmanager
def tool_errors() -> Iterator[None]:
    """Report a BotWire error to the model as a tool error with the same sentence.

    On mcp 2.x any other exception reaches the model only as "Error executing
    tool"; a ``ToolError`` keeps its text (``isError`` result, not a protocol error).
    """
    try:
        yield
    except BotWireError as exc:
        raise ToolError(str(exc)) from exc


class Namespaces:
    """The default namespace, the ``allow`` patterns, and the store behind them.

    The store is opened on first use, inside the server's event loop (PostgreSQL's
    async pool needs one), and shared by every namespace's ``AsyncMemory``.
    """

    def __init__(
        self,
        default: str,
        allow: Iterable[str] | None,
        *,
        read_only: bool = False,
        url: str | None = None,
        api_key: str | None = None,
        store: AsyncStore | None = None,
    ) -> None:
        if any(c in validate_pattern(default) for c in "*?"):
            raise ValidationError(
                f"the default namespace must be a name, not a pattern: {default!r}"
            )
        self.default = default
        if isinstance(allow, str):
            raise ValidationError("allow must be a list of namespace patterns, e.g. ['team-*']")
        # the default namespace is always allowed: calls without `namespace` use it.
        # The patterns are token scopes' (`*`, `?`; `_botwire.*` never reachable).
        patterns = tuple(dict.fromkeys([self.default, *(allow or ())]))
        self.scope = TokenScope(patterns, read=True, write=not read_only)
        self.literal = tuple(p for p in patterns if not any(c in p for c in "*?"))
        self._url = url
        self._api_key = api_key
        self._store = store
        self._owns_store = store is None
        self._memories: dict[str, AsyncMemory] = {}

    def memory(self, namespace: str | None, access: Access = "read") -> AsyncMemory:
        """The ``AsyncMemory`` of ``namespace`` (``None``: the default) if ``access`` is allowed.

        Allowed means: by the :data:`request_check` of the request being served,
        if one is set, else by the ``allow`` patterns; ``_botwire.*`` never.

        Raises:
            ValidationError: not a valid namespace name.
            PermissionDeniedError: valid, but outside the ``allow`` patterns (or
                the caller's scope), or a write on a read-only server.
        """
        name = namespace or self.default
        memory = self._memories.get(name)
        if memory is None:
            if self._store is None:
                self._store = open_async_store(self._url, api_key=self._api_key)
            memory = AsyncMemory(name, store=self._store)  # validates the name
        check = request_check.get()
        if check is not None:  # served over HTTP: the caller's token decides
            if is_reserved(name):
                raise self._refusal(name)
            check(name, access)
            return memory  # not cached: each caller may reach other namespaces
        if not self.scope.allows(name, access):
            raise self._refusal(name)
        self._memories[name] = memory  # only allowed ones: the cache stays small
        return memory

    def _refusal(self, name: str) -> PermissionDeniedError:
        if is_reserved(name):
            return PermissionDeniedError(
                f"namespace {name!r} is reserved for BotWire's own records; "
                f"no tool can reach {RESERVED_PREFIX}*"
            )
        if not self.scope.covers(name):
            return PermissionDeniedError(
                f"namespace {name!r} is not allowed here; this server may use "
                f"{', '.join(repr(p) for p in self.scope.patterns)}"
            )
        return PermissionDeniedError(f"this server is read-only; it cannot write to {name!r}")

    async def aclose(self) -> None:
        """Close the store if it was opened here (not one passed as ``store=``)."""
        if self._owns_store and self._store is not None:
            store, self._store = self._store, None
            self._memories.clear()
            await store.aclose()
