"""Store wrappers that report what each store call did to the current span.

A traced memory talks to its store through one of these. Inside a traced memory
operation they add the metadata only the store sees (the stored size, the version,
hit or miss, conflicts retried) to that operation's span. Called with no traced
operation running, e.g. by an adapter that built a second client over
``memory.store``, they open a span of their own, so no memory access goes unseen.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from botwire._codec import encoded_size
from botwire._errors import ConflictError
from botwire._store import AsyncStore, Store
from botwire._types import AppendResult, KeyPage, Op, OpResult, Record, Usage, WriteResult
from botwire.agentops._spans import (
    ACTIVE,
    MAX_KEYS,
    MAX_VALUE_CHARS,
    OpState,
    enabled,
    finish,
    start,
)

__all__ = ["AsyncTracingStore", "TracingStore"]

T = TypeVar("T")
Attrs = dict[str, Any]

SPAN_KIND = "tool"
"""AgentOps span kind of every memory operation: a tool step of the agent."""


# -- what each call adds to its span (shared by the sync and async wrappers) -------


def _value(attrs: Attrs, text: str, record_values: bool) -> None:
    if record_values and len(text) <= MAX_VALUE_CHARS:
        attrs["botwire.value"] = text


def _note_record(attrs: Attrs, key: str, record: Record | None, record_values: bool) -> None:
    attrs["botwire.key"] = key
    attrs["botwire.hit"] = record is not None
    if record is not None:
        attrs["botwire.bytes"] = encoded_size(record.raw)
        attrs["botwire.version"] = record.version
        _value(attrs, record.raw, record_values)


def _note_set(
    attrs: Attrs,
    key: str,
    raw: str,
    ttl: float | None,
    if_version: int | None,
    result: WriteResult,
    record_values: bool,
) -> None:
    attrs["botwire.key"] = key
    attrs["botwire.bytes"] = result.bytes
    attrs["botwire.version"] = result.version
    if ttl is not None:
        attrs["botwire.ttl"] = ttl
    if if_version is not None:
        attrs["botwire.if_version"] = if_version
    _value(attrs, raw, record_values)


def _note_append(
    attrs: Attrs, key: str, raws: Sequence[str], result: AppendResult, record_values: bool
) -> None:
    attrs["botwire.key"] = key
    attrs["botwire.count"] = len(raws)
    attrs["botwire.bytes"] = sum(encoded_size(r) for r in raws)
    attrs["botwire.version"] = result.version
    attrs["botwire.length"] = result.length
    _value(attrs, "[" + ",".join(raws) + "]", record_values)


def _note_list_keys(attrs: Attrs, prefix: str, limit: int | None, page: KeyPage) -> None:
    if prefix:
        attrs["botwire.prefix"] = prefix
    if limit is not None:
        attrs["botwire.limit"] = limit
    attrs["botwire.count"] = len(page.keys)


def _note_batch(
    attrs: Attrs, ops: Sequence[Op], results: list[OpResult], record_values: bool
) -> None:
    attrs["botwire.count"] = len(ops)
    attrs["botwire.keys"] = [op.key for op in ops[:MAX_KEYS]]
    attrs["botwire.ops"] = sorted({op.op for op in ops})
    size = 0
    values: list[str] = []
    for op, result in zip(ops, results, strict=False):
        raw: str | None = None
        if op.op == "set":
            raw = op.raw
        elif op.op == "get" and isinstance(result, Record):
            raw = result.raw
        elif op.op == "append":
            raw = "[" + ",".join(op.raws) + "]"
        if raw is not None:
            size += encoded_size(raw)
            if record_values:
                values.append(f"{_json_key(op.key)}:{raw}")
    attrs["botwire.bytes"] = size
    if record_values:
        _value(attrs, "{" + ",".join(values) + "}", record_values)


def _json_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _note_conflict(attrs: Attrs) -> None:
    attrs["botwire.conflicts"] = attrs.get("botwire.conflicts", 0) + 1


class _Tracing:
    """What the sync and async wrappers share: the wrapped store and the settings."""

    def __init__(self, inner: Any, *, record_values: bool) -> None:
        self.inner = inner
        self.kind: str = inner.kind
        self.record_values = record_values

    def _own(self) -> OpState | None:
        state = ACTIVE.get()
        return state if state is not None and state.owner is self else None

    def _open(self, op: str, namespace: str) -> tuple[Any, Any, OpState] | None:
        if not enabled():
            return None
        state = OpState(self)
        span, token = start(
            f"botwire.{op}",
            SPAN_KIND,
            {"botwire.namespace": namespace, "botwire.store": self.kind},
        )
        return span, token, state

    def __getattr__(self, name: str) -> Any:
        # Backend extras (a SQLite path, an HTTP base URL) stay reachable.
        if name == "inner":  # not set yet (e.g. during unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


class TracingStore(_Tracing):
    """A :class:`botwire.Store` that reports each call to the current memory span.

    Args:
        inner: the store doing the work.
        record_values: also record stored values (JSON text) as ``botwire.value``.
    """

    inner: Store

    def __init__(self, inner: Store, *, record_values: bool = False) -> None:
        super().__init__(inner, record_values=record_values)

    def _run(
        self,
        op: str,
        namespace: str,
        call: Callable[[], T],
        note: Callable[[Attrs, T], None],
    ) -> T:
        state = self._own()
        if state is not None:
            try:
                result = call()
            except ConflictError:
                _note_conflict(state.attrs)
                raise
            note(state.attrs, result)
            return result
        opened = self._open(op, namespace)
        if opened is None:
            return call()
        span, token, state = opened
        error: BaseException | None = None
        try:
            result = call()
            note(state.attrs, result)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            finish(span, token, state.attrs, error)

    def get(self, namespace: str, key: str) -> Record | None:
        """``Store.get``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.get(namespace, key)
        rv = self.record_values
        return self._run(
            "get",
            namespace,
            lambda: self.inner.get(namespace, key),
            lambda a, r: _note_record(a, key, r, rv),
        )

    def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """``Store.get_list``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.get_list(namespace, key, last)
        rv = self.record_values
        return self._run(
            "get_list",
            namespace,
            lambda: self.inner.get_list(namespace, key, last),
            lambda a, r: _note_record(a, key, r, rv),
        )

    def set(
        self,
        namespace: str,
        key: str,
        raw: str,
        *,
        ttl: float | None = None,
        if_version: int | None = None,
        id: str | None = None,
    ) -> WriteResult:
        """``Store.set``, traced."""
        extra = {} if id is None else {"id": id}  # stores from before set ids: no kwarg
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.set(namespace, key, raw, ttl=ttl, if_version=if_version, **extra)
        rv = self.record_values
        return self._run(
            "set",
            namespace,
            lambda: self.inner.set(namespace, key, raw, ttl=ttl, if_version=if_version, **extra),
            lambda a, r: _note_set(a, key, raw, ttl, if_version, r, rv),
        )

    def delete(self, namespace: str, key: str) -> bool:
        """``Store.delete``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.delete(namespace, key)
        return self._run(
            "delete",
            namespace,
            lambda: self.inner.delete(namespace, key),
            lambda a, r: a.update({"botwire.key": key, "botwire.hit": r}),
        )

    def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """``Store.append``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.append(namespace, key, raws, id=id)
        rv = self.record_values
        return self._run(
            "append",
            namespace,
            lambda: self.inner.append(namespace, key, raws, id=id),
            lambda a, r: _note_append(a, key, raws, r, rv),
        )

    def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """``Store.list_keys``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.list_keys(namespace, prefix=prefix, limit=limit, cursor=cursor)
        return self._run(
            "list_keys",
            namespace,
            lambda: self.inner.list_keys(namespace, prefix=prefix, limit=limit, cursor=cursor),
            lambda a, r: _note_list_keys(a, prefix, limit, r),
        )

    def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """``Store.batch``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.batch(namespace, ops)
        rv = self.record_values
        return self._run(
            "batch",
            namespace,
            lambda: self.inner.batch(namespace, ops),
            lambda a, r: _note_batch(a, ops, r, rv),
        )

    def usage(self, namespace: str) -> Usage:
        """``Store.usage``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return self.inner.usage(namespace)
        return self._run(
            "usage",
            namespace,
            lambda: self.inner.usage(namespace),
            lambda a, r: a.update({"botwire.count": r.keys, "botwire.bytes": r.bytes}),
        )

    def close(self) -> None:
        """Close the wrapped store."""
        self.inner.close()


class AsyncTracingStore(_Tracing):
    """The :class:`botwire.AsyncStore` twin of :class:`TracingStore`.

    Used for natively asynchronous stores (HTTP, PostgreSQL); an embedded store
    in worker threads is traced by wrapping its synchronous store instead.
    """

    inner: AsyncStore

    def __init__(self, inner: AsyncStore, *, record_values: bool = False) -> None:
        super().__init__(inner, record_values=record_values)

    async def _run(
        self,
        op: str,
        namespace: str,
        call: Callable[[], Awaitable[T]],
        note: Callable[[Attrs, T], None],
    ) -> T:
        state = self._own()
        if state is not None:
            try:
                result = await call()
            except ConflictError:
                _note_conflict(state.attrs)
                raise
            note(state.attrs, result)
            return result
        opened = self._open(op, namespace)
        if opened is None:
            return await call()
        span, token, state = opened
        error: BaseException | None = None
        try:
            result = await call()
            note(state.attrs, result)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            finish(span, token, state.attrs, error)

    async def get(self, namespace: str, key: str) -> Record | None:
        """``AsyncStore.get``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.get(namespace, key)
        rv = self.record_values
        return await self._run(
            "get",
            namespace,
            lambda: self.inner.get(namespace, key),
            lambda a, r: _note_record(a, key, r, rv),
        )

    async def get_list(self, namespace: str, key: str, last: int | None = None) -> Record | None:
        """``AsyncStore.get_list``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.get_list(namespace, key, last)
        rv = self.record_values
        return await self._run(
            "get_list",
            namespace,
            lambda: self.inner.get_list(namespace, key, last),
            lambda a, r: _note_record(a, key, r, rv),
        )

    async def set(
        self,
        namespace: str,
        key: str,
        raw: str,
        *,
        ttl: float | None = None,
        if_version: int | None = None,
        id: str | None = None,
    ) -> WriteResult:
        """``AsyncStore.set``, traced."""
        extra = {} if id is None else {"id": id}  # stores from before set ids: no kwarg
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.set(
                namespace, key, raw, ttl=ttl, if_version=if_version, **extra
            )
        rv = self.record_values
        return await self._run(
            "set",
            namespace,
            lambda: self.inner.set(namespace, key, raw, ttl=ttl, if_version=if_version, **extra),
            lambda a, r: _note_set(a, key, raw, ttl, if_version, r, rv),
        )

    async def delete(self, namespace: str, key: str) -> bool:
        """``AsyncStore.delete``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.delete(namespace, key)
        return await self._run(
            "delete",
            namespace,
            lambda: self.inner.delete(namespace, key),
            lambda a, r: a.update({"botwire.key": key, "botwire.hit": r}),
        )

    async def append(
        self, namespace: str, key: str, raws: Sequence[str], *, id: str | None = None
    ) -> AppendResult:
        """``AsyncStore.append``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.append(namespace, key, raws, id=id)
        rv = self.record_values
        return await self._run(
            "append",
            namespace,
            lambda: self.inner.append(namespace, key, raws, id=id),
            lambda a, r: _note_append(a, key, raws, r, rv),
        )

    async def list_keys(
        self,
        namespace: str,
        *,
        prefix: str = "",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> KeyPage:
        """``AsyncStore.list_keys``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.list_keys(namespace, prefix=prefix, limit=limit, cursor=cursor)
        return await self._run(
            "list_keys",
            namespace,
            lambda: self.inner.list_keys(namespace, prefix=prefix, limit=limit, cursor=cursor),
            lambda a, r: _note_list_keys(a, prefix, limit, r),
        )

    async def batch(self, namespace: str, ops: Sequence[Op]) -> list[OpResult]:
        """``AsyncStore.batch``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.batch(namespace, ops)
        rv = self.record_values
        return await self._run(
            "batch",
            namespace,
            lambda: self.inner.batch(namespace, ops),
            lambda a, r: _note_batch(a, ops, r, rv),
        )

    async def usage(self, namespace: str) -> Usage:
        """``AsyncStore.usage``, traced."""
        if ACTIVE.get() is None and not enabled():  # tracing off: pass through
            return await self.inner.usage(namespace)
        return await self._run(
            "usage",
            namespace,
            lambda: self.inner.usage(namespace),
            lambda a, r: a.update({"botwire.count": r.keys, "botwire.bytes": r.bytes}),
        )

    async def aclose(self) -> None:
        """Close the wrapped store."""
        await self.inner.aclose()
