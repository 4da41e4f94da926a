"""``BotWireStore``: a LangGraph ``BaseStore`` (long-term memory) on BotWire.

Each item is one BotWire value, ``{"namespace": [...], "key": ..., "value": {...},
"ttl": ...}``, under a key built from the namespace tuple and the
item key: every label is escaped (``%`` ``/`` ``|`` and control characters become
``%XX``) and followed by ``/``, then ``|`` and the escaped item key, e.g.
``("users", "u/1"), "prefs"`` -> ``users/u%2F1/|prefs``. Any strings LangGraph
accepts work, and a namespace prefix is a key prefix, so ``search`` and
``list_namespaces`` are one ordered key scan.

``search`` ignores ``query`` (there are no embeddings): it returns the items under
the namespace prefix that match ``filter`` (equality, nested objects, dotted keys
such as ``"user.level"`` for nested fields, and ``$eq`` ``$ne`` ``$gt`` ``$gte``
``$lt`` ``$lte``), newest update first, with
``score=None``. TTLs are LangGraph's minutes, stored as BotWire TTLs; a read with
``refresh_ttl`` rewrites the item to restart its clock (one extra write per read
item that has a TTL).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    validate_op_namespace,
)

from botwire import (
    AsyncMemory,
    ConflictError,
    Memory,
    Record,
    ValidationError,
    decode,
    validate_key,
)
from botwire import GetOp as KVGetOp
from botwire.langchain._twins import MemoryPair
from botwire.tools import Call, arun_plan, run_plan

__all__ = ["DEFAULT_STORE_NAMESPACE", "BotWireStore", "item_key"]

DEFAULT_STORE_NAMESPACE = "langgraph-store"
"""BotWire namespace the store uses when given no ``memory=``."""

_ESCAPE = re.compile(r"[%/|\x00-\x1f\x7f-\x9f]")
_UNESCAPE = re.compile(r"%([0-9A-F]{2})")
_READ_CHUNK = 500  # keys per batched read during a search


def _escape(text: str) -> str:
    return _ESCAPE.sub(lambda m: f"%{ord(m.group()):02X}", text)


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def namespace_prefix(namespace: tuple[str, ...]) -> str:
    """The key prefix shared by every item in ``namespace`` and below it."""
    return "".join(_escape(label) + "/" for label in namespace)


def item_key(namespace: tuple[str, ...], key: str) -> str:
    """Return the BotWire key of the item ``key`` in LangGraph ``namespace``.

    Raises:
        ValidationError: the result is longer than a BotWire key may be (512 bytes).
    """
    if not isinstance(key, str):
        raise InvalidNamespaceError(f"item keys must be strings, not {type(key).__name__}")
    full = namespace_prefix(namespace) + "|" + _escape(key)
    try:
        return validate_key(full)
    except ValidationError as exc:
        raise ValidationError(
            f"namespace {namespace!r} with key {key[:40]!r} is too long for BotWire: {exc}"
        ) from None


def _parse_namespace(stored_key: str) -> tuple[str, ...] | None:
    head, sep, _ = stored_key.partition("|")
    if not sep or not head.endswith("/"):
        return None  # not written by BotWireStore
    return tuple(_unescape(label) for label in head[:-1].split("/"))


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _compare(value: Any, wanted: Any) -> bool:
    """LangGraph's filter semantics (the same as ``InMemoryStore``)."""
    if isinstance(wanted, dict):
        if any(k.startswith("$") for k in wanted):
            return all(_operator(value, op, arg) for op, arg in wanted.items())
        return isinstance(value, dict) and all(_compare(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(wanted)
            and all(_compare(v, w) for v, w in zip(value, wanted, strict=False))
        )
    return bool(value == wanted)


def _field(value: dict[str, Any], key: str) -> Any:
    """The field a filter key names: the key itself, else a dotted path into nested
    objects (``"user.level"``), as LangGraph's SQLite and PostgreSQL stores read it."""
    if key in value or "." not in key:
        return value.get(key)
    current: Any = value
    for part in key.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _operator(value: Any, op: str, arg: Any) -> bool:
    if op == "$eq":
        return bool(value == arg)
    if op == "$ne":
        return bool(value != arg)
    if op not in ("$gt", "$gte", "$lt", "$lte"):
        raise ValidationError(f"unsupported filter operator {op!r}; use $eq $ne $gt $gte $lt $lte")
    try:
        left, right = float(value), float(arg)
    except (TypeError, ValueError):
        return False  # a missing or non-numeric field never satisfies a comparison
    if op == "$gt":
        return left > right
    if op == "$gte":
        return left >= right
    if op == "$lt":
        return left < right
    return left <= right


def _does_match(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = condition.path
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValidationError(f"unsupported match type {condition.match_type!r}")
    return all(p == "*" or n == p for n, p in pairs)


def _ttl_seconds(ttl: float | None) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
        raise ValidationError(f"ttl is a positive number of minutes or None, not {ttl!r}")
    return float(ttl) * 60


class BotWireStore(BaseStore):
    """Durable LangGraph store: long-term memory for ``create_agent`` and graphs.

    Example:
        >>> from botwire import Memory
        >>> from botwire.langchain import BotWireStore
        >>> store = BotWireStore(memory=Memory("langgraph-store"))
        >>> store.put(("users", "u1"), "prefs", {"style": "concise"})
        >>> store.get(("users", "u1"), "prefs").value
        {'style': 'concise'}

    Pass it as ``create_agent(..., store=store)`` or ``graph.compile(store=store)``;
    tools and nodes reach it as ``runtime.store``.

    Args:
        memory: a ``botwire.Memory`` or ``botwire.AsyncMemory`` (the other twin is
            derived; see :mod:`botwire.langchain`).
        namespace: BotWire namespace to open when ``memory`` is not given.
        url: store URL when ``memory`` is not given (default ``$BOTWIRE_URL``, else
            the embedded file).
        ttl: LangGraph TTL settings (``default_ttl`` in minutes, ``refresh_on_read``).

    Raises:
        ValidationError: ``memory`` is not a BotWire client, or a bad ``namespace``.
    """

    supports_ttl = True

    def __init__(
        self,
        *,
        memory: Memory | AsyncMemory | None = None,
        namespace: str = DEFAULT_STORE_NAMESPACE,
        url: str | None = None,
        ttl: TTLConfig | None = None,
    ) -> None:
        self._pair = MemoryPair(memory, namespace, url, type(self).__name__)
        if ttl is not None:
            if not isinstance(ttl, Mapping):
                raise ValidationError("ttl= takes a dict like {'default_ttl': 60} (minutes)")
            _ttl_seconds(ttl.get("default_ttl"))
        self.ttl_config = ttl

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self._pair.namespace!r})"

    # -- BaseStore -----------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run LangGraph store operations in order and return their results.

        Every operation is checked before the first runs: one with a bad namespace
        or value fails the batch with nothing written.
        """
        return run_plan(self._pair.sync, self._plan(list(ops)))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch`: the same plan, on the ``AsyncMemory`` twin."""
        return await arun_plan(self._pair.async_, self._plan(list(ops)))

    def _plan(self, ops: list[Op]) -> Generator[Call, Any, list[Result]]:
        """The memory calls of a batch (see :mod:`botwire.tools` for plans)."""
        puts: dict[int, tuple[str, dict[str, Any] | None, float | None]] = {}
        for index, op in enumerate(ops):  # check everything before writing anything
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                puts[index] = self._put_args(op)
            elif not isinstance(op, (GetOp, SearchOp, ListNamespacesOp)):
                raise ValidationError(f"unknown store operation {type(op).__name__}")
        results: list[Result] = []
        for index, op in enumerate(ops):
            if isinstance(op, GetOp):
                (record,) = yield ("batch", ([KVGetOp(item_key(op.namespace, op.key))],), {})
                decoded = self._decode(record)
                if decoded is not None and op.refresh_ttl and decoded[1].get("ttl"):
                    yield from self._refresh(decoded[2], decoded[1])
                results.append(None if decoded is None else decoded[0])
            elif isinstance(op, PutOp):
                key, value, ttl = puts[index]
                if value is None:
                    yield ("delete", (key,), {})
                else:
                    yield ("set", (key, value), {"ttl": ttl})
                results.append(None)
            elif isinstance(op, SearchOp):
                keys = yield ("list_keys", (namespace_prefix(op.namespace_prefix),), {})
                records = []
                for start in range(0, len(keys), _READ_CHUNK):
                    chunk = [KVGetOp(k) for k in keys[start : start + _READ_CHUNK]]
                    records.extend((yield ("batch", (chunk,), {})))
                found = self._select(records, op)
                if op.refresh_ttl:
                    for record, doc in found:
                        if doc.get("ttl"):
                            yield from self._refresh(record, doc)
                results.append([self._search_item(r, d) for r, d in found])
            else:
                assert isinstance(op, ListNamespacesOp)
                results.append(self._list_namespaces((yield ("list_keys", (), {})), op))
        return results

    # -- I/O-free helpers ----------------------------------------------------------

    @staticmethod
    def _put_args(op: PutOp) -> tuple[str, dict[str, Any] | None, float | None]:
        if not op.namespace:
            raise InvalidNamespaceError("a store item needs a non-empty namespace tuple")
        if op.namespace[0] == "langgraph":
            raise InvalidNamespaceError(
                f'the root label of a namespace cannot be "langgraph": {op.namespace!r}'
            )
        key = item_key(op.namespace, op.key)
        if op.value is None:
            return key, None, None
        if not isinstance(op.value, Mapping):
            raise ValidationError(
                f"a store item's value must be a dict, not {type(op.value).__name__}"
            )
        ttl = _ttl_seconds(op.ttl)
        doc = {
            "namespace": list(op.namespace),
            "key": op.key,
            "value": dict(op.value),
            "ttl": op.ttl,
        }
        return key, doc, ttl

    @staticmethod
    def _decode(record: Any) -> tuple[Item, dict[str, Any], Record] | None:
        if not isinstance(record, Record):
            return None
        doc = decode(record.raw)
        if not isinstance(doc, dict) or "value" not in doc:
            return None
        item = Item(
            value=doc["value"],
            key=doc["key"],
            namespace=tuple(doc["namespace"]),
            created_at=_when(record.created_at),
            updated_at=_when(doc.get("updated_at", record.updated_at)),
        )
        return item, doc, record

    @staticmethod
    def _search_item(record: Record, doc: dict[str, Any]) -> SearchItem:
        return SearchItem(
            namespace=tuple(doc["namespace"]),
            key=doc["key"],
            value=doc["value"],
            created_at=_when(record.created_at),
            updated_at=_when(doc.get("updated_at", record.updated_at)),
        )

    def _select(self, records: list[Any], op: SearchOp) -> list[tuple[Record, dict[str, Any]]]:
        found = []
        for record in records:
            decoded = self._decode(record)
            if decoded is None:
                continue
            doc = decoded[1]
            if op.filter and not all(
                _compare(_field(doc["value"], k), v) for k, v in op.filter.items()
            ):
                continue
            found.append((record, doc))
        found.sort(key=lambda rd: (-rd[1].get("updated_at", rd[0].updated_at), rd[0].key))
        return found[op.offset : op.offset + op.limit]

    @staticmethod
    def _list_namespaces(keys: list[str], op: ListNamespacesOp) -> list[tuple[str, ...]]:
        namespaces = {ns for ns in map(_parse_namespace, keys) if ns is not None}
        if op.match_conditions:
            namespaces = {
                ns for ns in namespaces if all(_does_match(c, ns) for c in op.match_conditions)
            }
        if op.max_depth is not None:
            namespaces = {ns[: op.max_depth] for ns in namespaces}
        return sorted(namespaces)[op.offset : op.offset + op.limit]

    # -- TTL refresh ---------------------------------------------------------------

    @staticmethod
    def _refresh(record: Record, doc: dict[str, Any]) -> Generator[Call, Any, None]:
        """Restart an item's TTL clock, unless another writer got there first."""
        doc = {**doc, "updated_at": doc.get("updated_at", record.updated_at)}
        ttl = _ttl_seconds(doc["ttl"])
        try:
            yield ("set", (record.key, doc), {"ttl": ttl, "if_version": record.version})
        except ConflictError:
            pass  # it was rewritten (which restarted its clock) or deleted meanwhile

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Close a store this object opened itself (not a ``memory=`` passed in)."""
        self._pair.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self._pair.aclose()
