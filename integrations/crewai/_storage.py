"""``BotWireStorage``: CrewAI's ``StorageBackend`` protocol on a BotWire namespace.

Key layout inside the namespace (``<path>`` is the record's normalised scope,
``""`` for the root scope ``/``):

* ``r<path>/#<id>``: the record without its embedding (JSON);
* ``e<path>/#<id>``: the embedding, little-endian float32 in base64;
* ``i:<id>``: ``<path>/#<id>``, so a record is found by id alone.

Putting the scope in the key lets a scope be listed, counted and searched with a
key-prefix scan that reads nothing outside it.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar

import numpy as np
from crewai.memory.storage.backend import EmbeddingDimensionMismatchError, StorageBackend
from crewai.memory.types import MemoryRecord, ScopeInfo
from crewai.memory.utils import normalize_scope_path
from pydantic_core import SchemaSerializer, core_schema

from botwire import DeleteOp, Memory, Op, SetOp, ValidationError, encode, validate_namespace

__all__ = ["DEFAULT_NAMESPACE", "BotWireStorage", "register", "unregister"]

DEFAULT_NAMESPACE = "crewai-memory"
"""The namespace BotWire's CrewAI memory uses when none is given."""

_CHUNK = 100
"""Keys per batched read or write (keeps one request small on a server)."""
_SEP = "/#"
_RECORD, _VECTOR, _INDEX = "r", "e", "i:"


def _naive_utc(value: datetime) -> datetime:
    """CrewAI stores naive UTC datetimes; bring aware ones to the same form."""
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _scope_path(scope: str | None) -> str:
    """``/a/b/`` -> ``/a/b``; the root scope becomes ``""`` (the key-path form)."""
    path = normalize_scope_path(scope or "/")
    return "" if path == "/" else path


def _prefix(scope_prefix: str | None) -> str:
    """Key-path prefix selecting ``scope_prefix`` and everything below it."""
    if scope_prefix is None:
        return ""
    path = _scope_path(scope_prefix)
    return path + "/" if path else ""


def _scope_of(suffix: str) -> str:
    return suffix.rpartition(_SEP)[0] or "/"


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _encode_vector(vector: Sequence[float]) -> dict[str, Any]:
    raw = np.asarray(vector, dtype="<f4").tobytes()
    return {"dim": len(vector), "f32": base64.b64encode(raw).decode("ascii")}


def _decode_vector(value: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.frombuffer(base64.b64decode(value["f32"]), dtype="<f4")


def _matches(
    record: MemoryRecord,
    categories: list[str] | None,
    metadata_filter: dict[str, Any] | None,
) -> bool:
    if categories and not any(c in record.categories for c in categories):
        return False
    return not metadata_filter or all(
        record.metadata.get(k) == v for k, v in metadata_filter.items()
    )


class BotWireStorage:
    """CrewAI memory storage kept in a BotWire namespace: durable and shareable.

    Implements every method of ``crewai.memory.storage.backend.StorageBackend``,
    so CrewAI's own ``Memory`` (LLM analysis, embeddings, consolidation) keeps
    working while its records live in BotWire: in the embedded SQLite file, or on
    a shared server that several processes and machines use at once.

    Example:
        >>> from crewai import Memory
        >>> from botwire.crewai import BotWireStorage
        >>> memory = Memory(storage=BotWireStorage("crew-memory"), embedder=embed)

    ``search`` is a brute-force cosine search over the stored vectors of the
    requested scope; its score is the cosine similarity clipped to ``[0, 1]``.
    Scopes are paths: ``scope_prefix="/crew/a"`` selects ``/crew/a`` and
    ``/crew/a/...``, never ``/crew/ab``.

    Args:
        namespace: a BotWire namespace name, or an open :class:`botwire.Memory`
            to use (:meth:`close` never closes the store; see there).
        url: where the data lives (see :class:`botwire.Memory`); default
            ``$BOTWIRE_URL`` or the embedded SQLite file.
        api_key: token for a server that requires one.

    Raises:
        ValidationError: the namespace or URL is invalid.
    """

    __pydantic_serializer__: ClassVar[SchemaSerializer]

    def __init__(
        self,
        namespace: str | Memory = DEFAULT_NAMESPACE,
        url: str | None = None,
        *,
        api_key: str | None = None,
    ) -> None:
        if isinstance(namespace, Memory):
            if url is not None or api_key is not None:
                raise ValidationError("url and api_key go with a namespace name, not a Memory")
            self.memory = namespace
        elif isinstance(namespace, str):
            self.memory = Memory(namespace, url, api_key=api_key)
        else:
            raise ValidationError(
                "BotWireStorage takes a namespace name or a botwire.Memory, "
                f"not {type(namespace).__name__}"
            )

    @property
    def namespace(self) -> str:
        """The BotWire namespace holding the records."""
        return self.memory.namespace

    def __repr__(self) -> str:
        return f"BotWireStorage({self.namespace!r}, store={self.memory.store!r})"

    # A storage is a handle on shared data, like a connection: copies share it.
    # (crewai deep-copies agents and their memory; a SQLite handle cannot be copied.)
    def __copy__(self) -> BotWireStorage:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> BotWireStorage:
        return self

    # -- reading helpers ---------------------------------------------------------

    def _get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for chunk in _chunks(keys):
            found.update(self.memory.get_many(chunk))
        return found

    def _suffixes(self, scope_prefix: str | None) -> list[str]:
        """``<path>/#<id>`` of every record in ``scope_prefix``, from the keys alone."""
        head = _RECORD + _prefix(scope_prefix)
        return [key[len(_RECORD) :] for key in self.memory.list_keys(prefix=head)]

    def _load(self, suffixes: Sequence[str], vectors: bool = False) -> list[MemoryRecord]:
        keys = [_RECORD + s for s in suffixes]
        values = self._get_many(keys)
        embeddings = self._get_many([_VECTOR + s for s in suffixes]) if vectors else {}
        records = []
        for suffix, key in zip(suffixes, keys, strict=True):
            if key not in values:  # deleted between listing and reading
                continue
            record = MemoryRecord.model_validate(values[key])
            vector = embeddings.get(_VECTOR + suffix)
            if vector is not None:
                record.embedding = [float(x) for x in _decode_vector(vector)]
            records.append(record)
        return records

    def _records(self, scope_prefix: str | None) -> list[MemoryRecord]:
        return self._load(self._suffixes(scope_prefix))

    def _suffixes_by_id(self, record_ids: Iterable[str]) -> dict[str, str]:
        ids = [str(i) for i in record_ids]
        found = self._get_many([_INDEX + i for i in ids])
        return {i: found[_INDEX + i] for i in ids if _INDEX + i in found}

    # -- writes -------------------------------------------------------------------

    @staticmethod
    def _suffix(record: MemoryRecord) -> str:
        record_id = record.id
        if not isinstance(record_id, str) or not record_id or _SEP in record_id:
            raise ValidationError(
                f"memory record id {record_id!r} must be a non-empty string without '/#'"
            )
        return f"{_scope_path(record.scope)}{_SEP}{record_id}"

    def _delete_ops(self, suffixes: Iterable[str]) -> list[Op]:
        ops: list[Op] = []
        for suffix in suffixes:
            record_id = suffix.rpartition(_SEP)[2]
            ops += [DeleteOp(_RECORD + suffix), DeleteOp(_VECTOR + suffix)]
            ops.append(DeleteOp(_INDEX + record_id))
        return ops

    def _run(self, ops: list[Op]) -> None:
        for chunk in _chunks(ops):
            self.memory.batch(chunk)

    def save(self, records: list[MemoryRecord]) -> None:
        """Store ``records`` (a record with an existing id replaces it).

        Each record is written in one transaction with its embedding and id index.

        Raises:
            EmbeddingDimensionMismatchError: an embedding's length differs from the
                others in ``records`` or from the vectors already stored (another
                embedder): as with CrewAI's LanceDB storage, ``reset()`` first.
            ValidationError: a record id is empty or contains ``/#``, or a scope is
                too long for a BotWire key.
        """
        if not records:
            return
        dims = {len(r.embedding) for r in records if r.embedding}
        if len(dims) > 1:
            first, other = sorted(dims)[:2]
            raise EmbeddingDimensionMismatchError(first, other)
        if dims:
            stored = self._stored_dimension()
            if stored is not None and dims != {stored}:
                raise EmbeddingDimensionMismatchError(stored, dims.pop())
        old = self._suffixes_by_id(r.id for r in records)
        for record in records:
            suffix = self._suffix(record)
            ops: list[Op] = []
            if record.id in old and old[record.id] != suffix:  # moved to another scope
                ops += self._delete_ops([old[record.id]])[:2]
            data = record.model_dump(mode="json")
            data["created_at"] = _naive_utc(record.created_at).isoformat()
            data["last_accessed"] = _naive_utc(record.last_accessed).isoformat()
            ops.append(SetOp(_RECORD + suffix, encode(data)))
            if record.embedding:
                ops.append(SetOp(_VECTOR + suffix, encode(_encode_vector(record.embedding))))
            else:
                ops.append(DeleteOp(_VECTOR + suffix))
            ops.append(SetOp(_INDEX + record.id, encode(suffix)))
            self.memory.batch(ops)

    def _stored_dimension(self) -> int | None:
        """The length of the vectors stored so far (``None``: none is), as LanceDB's
        table schema fixes it: read from the store, so a reopened storage, or another
        process, refuses another embedder's vectors too (until :meth:`reset`)."""
        for key in self.memory.list_keys(prefix=_VECTOR, limit=1):
            vector = self.memory.get(key)
            if isinstance(vector, dict) and isinstance(vector.get("dim"), int):
                return int(vector["dim"])
        return None

    def update(self, record: MemoryRecord) -> None:
        """Replace the record with ``record.id`` by ``record`` (stored if missing).

        Raises:
            EmbeddingDimensionMismatchError: its embedding's length differs from the
                stored vectors' (see :meth:`save`).
        """
        self.save([record])

    def touch_records(self, record_ids: list[str]) -> None:
        """Set ``last_accessed`` of these records to now (CrewAI calls it on recall)."""
        suffixes = list(self._suffixes_by_id(record_ids).values())
        now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
        keys = [_RECORD + s for s in suffixes]
        values = self._get_many(keys)
        ops: list[Op] = []
        for key in keys:
            if key in values:
                ops.append(SetOp(key, encode({**values[key], "last_accessed": now})))
        self._run(ops)

    def delete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        """Delete the records matching every given criterion; return how many.

        Args:
            scope_prefix: only in this scope and below.
            categories: only records with at least one of these categories.
            record_ids: only these records.
            older_than: only records created before this time.
            metadata_filter: only records whose metadata has these exact values.

        With no criterion at all, every record is deleted.
        """
        if record_ids is not None:
            head = _prefix(scope_prefix)
            suffixes = [s for s in self._suffixes_by_id(record_ids).values() if s.startswith(head)]
        else:
            suffixes = self._suffixes(scope_prefix)
        if categories or metadata_filter or older_than is not None:
            cutoff = None if older_than is None else _naive_utc(older_than)
            suffixes = [
                self._suffix(r)
                for r in self._load(suffixes)
                if _matches(r, categories, metadata_filter)
                and (cutoff is None or _naive_utc(r.created_at) < cutoff)
            ]
        self._run(self._delete_ops(suffixes))
        return len(suffixes)

    def reset(self, scope_prefix: str | None = None) -> None:
        """Delete every record in ``scope_prefix`` and below (``None``: all records)."""
        self.delete(scope_prefix=scope_prefix)

    # -- reads --------------------------------------------------------------------

    def get_record(self, record_id: str) -> MemoryRecord | None:
        """Return the record with ``record_id`` (with its embedding), or ``None``."""
        suffix = self._suffixes_by_id([record_id]).get(str(record_id))
        records = self._load([suffix], vectors=True) if suffix else []
        return records[0] if records else None

    def search(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        """Return up to ``limit`` ``(record, score)`` pairs, most similar first.

        Records without an embedding are never returned.

        Args:
            query_embedding: the query's vector (same length as the stored ones).
            scope_prefix: only in this scope and below.
            categories: only records with at least one of these categories.
            metadata_filter: only records whose metadata has these exact values.
            limit: most results to return.
            min_score: least cosine similarity (0 to 1) a result must have.

        Raises:
            EmbeddingDimensionMismatchError: the stored vectors have another length.
        """
        if limit <= 0 or not query_embedding:
            return []
        keys = self.memory.list_keys(prefix=_VECTOR + _prefix(scope_prefix))
        if not keys:
            return []
        vectors = self._get_many(keys)
        keys = [k for k in keys if k in vectors]
        if not keys:
            return []
        query = np.asarray(query_embedding, dtype=np.float64)
        dims = {int(vectors[k]["dim"]) for k in keys}
        if dims != {len(query)}:
            stored = next(iter(dims - {len(query)}))
            raise EmbeddingDimensionMismatchError(stored, len(query))
        matrix = np.stack([_decode_vector(vectors[k]) for k in keys]).astype(np.float64)
        norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(norms > 0, matrix @ query / norms, 0.0)
        scores = np.clip(scores, 0.0, 1.0)
        order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] >= min_score]
        results: list[tuple[MemoryRecord, float]] = []
        step = max(limit, 16)
        for start in range(0, len(order), step):
            batch = order[start : start + step]
            suffixes = [keys[i][len(_VECTOR) :] for i in batch]
            loaded = {self._suffix(r): r for r in self._load(suffixes, vectors=False)}
            for i, suffix in zip(batch, suffixes, strict=True):
                record = loaded.get(suffix)
                if record is not None and _matches(record, categories, metadata_filter):
                    record.embedding = [float(x) for x in matrix[i]]
                    results.append((record, float(scores[i])))
                    if len(results) >= limit:
                        return results
        return results

    def list_records(
        self, scope_prefix: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[MemoryRecord]:
        """Return records in ``scope_prefix`` and below, newest first (without embeddings)."""
        if limit <= 0 or offset < 0:
            return []
        records = self._records(scope_prefix)
        newest = heapq.nlargest(offset + limit, records, key=lambda r: _naive_utc(r.created_at))
        return newest[offset:]

    def get_scope_info(self, scope: str) -> ScopeInfo:
        """Count, categories, oldest/newest time and child scopes of ``scope``."""
        path = normalize_scope_path(scope or "/")
        records = self._records(path)
        times = [_naive_utc(r.created_at) for r in records]
        return ScopeInfo(
            path=path,
            record_count=len(records),
            categories=sorted({c for r in records for c in r.categories}),
            oldest_record=min(times, default=None),
            newest_record=max(times, default=None),
            child_scopes=self.list_scopes(path),
        )

    def list_scopes(self, parent: str = "/") -> list[str]:
        """Return the immediate child scopes of ``parent`` that hold records."""
        head = _prefix(parent) or "/"
        children = set()
        for suffix in self._suffixes(parent):
            scope = _scope_of(suffix)
            if scope.startswith(head) and len(scope) > len(head):
                children.add(head + scope[len(head) :].split("/", 1)[0])
        return sorted(children)

    def list_categories(self, scope_prefix: str | None = None) -> dict[str, int]:
        """Return ``{category: number of records}`` in ``scope_prefix`` and below."""
        counts: dict[str, int] = {}
        for record in self._records(scope_prefix):
            for category in record.categories:
                counts[category] = counts.get(category, 0) + 1
        return counts

    def count(self, scope_prefix: str | None = None) -> int:
        """Number of records in ``scope_prefix`` and below (``None``: all)."""
        return len(self._suffixes(scope_prefix))

    # -- asyncio twins (the store runs in a worker thread, off the event loop) ----

    async def asave(self, records: list[MemoryRecord]) -> None:
        """Async :meth:`save`."""
        await asyncio.to_thread(self.save, records)

    async def asearch(
        self,
        query_embedding: list[float],
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        metadata_filter: dict[str, Any] | None = None,
        limit: int = 10,
        min_score: float = 0.0,
    ) -> list[tuple[MemoryRecord, float]]:
        """Async :meth:`search`."""
        return await asyncio.to_thread(
            self.search,
            query_embedding,
            scope_prefix,
            categories,
            metadata_filter,
            limit,
            min_score,
        )

    async def adelete(
        self,
        scope_prefix: str | None = None,
        categories: list[str] | None = None,
        record_ids: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
    ) -> int:
        """Async :meth:`delete`."""
        return await asyncio.to_thread(
            self.delete, scope_prefix, categories, record_ids, older_than, metadata_filter
        )

    def close(self) -> None:
        """Nothing to flush: every write is durable when ``save`` returns.

        The store stays open. CrewAI's ``Memory.close()`` closes its storage, and
        the copies CrewAI makes of a crew's memory share this one storage, so
        closing the store here would break them (LanceDB's storage has no
        ``close()`` either). To release the store this storage opened, call
        ``storage.memory.close()`` once nothing uses it.
        """


def _storage_name(storage: BotWireStorage) -> str:
    return f"botwire:{storage.namespace}"


# crewai's Memory holds its storage in a pydantic field, and crew checkpoints dump
# it as JSON; pydantic serialises any object with a ``__pydantic_serializer__``, so
# in JSON a BotWireStorage is its name (Python-mode dumps keep the object).
BotWireStorage.__pydantic_serializer__ = SchemaSerializer(
    core_schema.any_schema(
        serialization=core_schema.plain_serializer_function_ser_schema(
            _storage_name, when_used="json"
        )
    )
)

_previous: list[Callable[[str], StorageBackend | None] | None] = []


def register(
    namespace: str = DEFAULT_NAMESPACE,
    url: str | None = None,
    *,
    api_key: str | None = None,
    spec: str = "botwire",
) -> None:
    """Make ``crewai.Memory(storage="botwire")`` store its records in BotWire.

    Registers a process-wide CrewAI storage factory. ``storage="botwire"`` uses
    ``namespace``; ``storage="botwire:<other>"`` uses the namespace ``<other>``.
    Other storage specs (``"lancedb"``, paths…) go to the factory registered
    before, or to CrewAI's built-in choice.

    Example:
        >>> import botwire.crewai
        >>> botwire.crewai.register("crew-memory")
        >>> memory = crewai.Memory(storage="botwire", embedder=embed)

    Args:
        namespace: the namespace ``storage="botwire"`` maps to.
        url: where the data lives (default ``$BOTWIRE_URL`` or the SQLite file).
        api_key: token for a server that requires one.
        spec: the storage string that selects BotWire.

    Raises:
        ValidationError: ``namespace`` or ``spec`` is invalid.
    """
    from crewai.memory.storage import factory

    validate_namespace(namespace)
    if not isinstance(spec, str) or not spec or ":" in spec:
        raise ValidationError(f"spec must be a non-empty string without ':', not {spec!r}")
    previous = getattr(factory, "_factory", None)

    def botwire_storage(requested: str) -> StorageBackend | None:
        name, colon, other = requested.partition(":")
        if name == spec:
            return BotWireStorage(other if colon else namespace, url, api_key=api_key)
        return previous(requested) if previous is not None else None

    _previous.append(previous)
    factory.set_memory_storage_factory(botwire_storage)


def unregister() -> None:
    """Undo the last :func:`register`, restoring the factory that was there before."""
    from crewai.memory.storage import factory

    if not _previous:
        raise ValidationError("botwire.crewai.unregister() called without register()")
    factory.set_memory_storage_factory(_previous.pop())
