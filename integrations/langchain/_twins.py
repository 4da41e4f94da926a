"""One namespace, two clients: the ``Memory`` / ``AsyncMemory`` pair an adapter uses.

LangChain calls the sync methods of a history, tool or store from sync code and the
``a``-prefixed ones from async code. Each adapter takes ``memory=`` as either client
and builds the other twin only when first needed:

* given a ``Memory``: its async twin runs the *same* store object in worker threads,
  or, with ``url=``, opens that URL natively async (HTTP, PostgreSQL);
* given an ``AsyncMemory`` on the embedded SQLite store: the sync twin uses the same
  store directly; on a natively async store (HTTP, PostgreSQL) the sync twin is
  opened from ``url=``, and a sync call without ``url=`` raises a ``ValidationError``
  that says so (guessing a URL could silently read another store);
* given neither: each twin opens ``url`` (default ``$BOTWIRE_URL``, else the
  embedded file) in ``namespace`` on first use.
"""

from __future__ import annotations

from typing import Any

from botwire import (
    AsyncMemory,
    Memory,
    ThreadedAsyncStore,
    ValidationError,
    open_async_store,
    open_store,
    validate_namespace,
)

__all__ = ["MemoryPair"]


class MemoryPair:
    """The sync and async clients of one namespace, each created on first use.

    Args:
        memory: a ``Memory`` or ``AsyncMemory`` to use, or ``None``.
        namespace: the namespace to open when ``memory`` is ``None``.
        url: where to open a missing twin (see the module docstring).
        owner: the adapter's class name, used in error messages.

    Raises:
        ValidationError: ``memory`` is neither client, or ``namespace`` is invalid.
    """

    def __init__(
        self,
        memory: Memory | AsyncMemory | None,
        namespace: str,
        url: str | None,
        owner: str,
    ) -> None:
        self._sync: Memory | None = None
        self._async: AsyncMemory | None = None
        self._url = url
        self._owner = owner
        self._opened: list[Any] = []  # stores this pair opened, closed by close()
        if memory is None:
            self.namespace = validate_namespace(namespace)
        elif isinstance(memory, Memory):
            self._sync = memory
            self.namespace = memory.namespace
        elif isinstance(memory, AsyncMemory):
            self._async = memory
            self.namespace = memory.namespace
        else:
            raise ValidationError(
                f"{owner} memory= takes a botwire.Memory or botwire.AsyncMemory, "
                f"not {type(memory).__name__}"
            )
        if url is not None and not isinstance(url, str):
            raise ValidationError(f"{owner} url= must be a string, not {type(url).__name__}")

    @property
    def sync(self) -> Memory:
        """The ``Memory`` twin (opened on first use)."""
        if self._sync is None:
            if self._async is not None and isinstance(self._async.store, ThreadedAsyncStore):
                store = self._async.store.sync
            elif self._async is None or self._url is not None:
                store = open_store(self._url)
                self._opened.append(store)
            else:
                raise ValidationError(
                    f"{self._owner} was given an AsyncMemory on a {self._async.store.kind} "
                    "store, so its sync methods need url= (that store's URL) or a "
                    "botwire.Memory; or call the async methods (ainvoke, aget_messages, ...)"
                )
            self._sync = Memory(self.namespace, store=store)
        return self._sync

    @property
    def async_(self) -> AsyncMemory:
        """The ``AsyncMemory`` twin (opened on first use)."""
        if self._async is None:
            if self._sync is not None and self._url is None:
                self._async = AsyncMemory.from_sync(self._sync)
            else:
                astore = open_async_store(self._url)
                self._opened.append(astore)
                self._async = AsyncMemory(self.namespace, store=astore)
        return self._async

    def close(self) -> None:
        """Close the stores this pair opened itself (never a memory passed in).

        A natively async store (HTTP, PostgreSQL) opened here is closed by
        :meth:`aclose`; ``close`` leaves it open.
        """
        kept = []
        for store in self._opened:
            if isinstance(store, ThreadedAsyncStore):
                store.sync.close()
            elif hasattr(store, "aclose"):
                kept.append(store)
            else:
                store.close()
        self._opened = kept

    async def aclose(self) -> None:
        """Close every store this pair opened itself."""
        opened, self._opened = self._opened, []
        for store in opened:
            if hasattr(store, "aclose"):
                await store.aclose()
            else:
                store.close()
