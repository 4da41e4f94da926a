"""``BotWireSaver``: a LangGraph checkpointer (short-term, resumable threads) on BotWire.

Give a graph durable threads on the same BotWire store that holds its long-term
memory: the embedded SQLite file, PostgreSQL, or a shared BotWire server::

    from botwire import Memory
    from botwire.langchain import BotWireSaver

    saver = BotWireSaver(Memory("langgraph-checkpoints"))
    graph = builder.compile(checkpointer=saver)
    graph.invoke(inputs, {"configurable": {"thread_id": "t-1"}})

Any process that opens the same namespace resumes the thread, interrupts included
(``graph.invoke(Command(resume=...), config)``). The sync methods run on a
``Memory`` and the async ones on an ``AsyncMemory``; give either (see
:mod:`botwire.langchain` for how the other twin is found).

Key layout
----------
Everything lives in one BotWire namespace. Thread ids, checkpoint namespaces,
channels, versions and task ids are escaped labels (``%``, ``/`` and control
characters become ``%XX``), so ``/`` only ever separates fields::

    t/{thread}/c/{ns}/{rid}                  one checkpoint (JSON, below)
    t/{thread}/c/{ns}/{rid}/{task_id}/{idx}  one pending write of that checkpoint
    t/{thread}/b/{ns}/{channel}/{version}    one channel value, once per version
    t/{thread}/l/{ns}/{channel}/{gen}        append-only log of a list channel's items
    t/{thread}/h/{ns}/{channel}              that log's head: {"gen", "n", "d"}
    t/{thread}/r/{run_id}                    "this thread has checkpoints of run_id"
    t/{thread}/lease                         thread_ttl bookkeeping (only with thread_ttl)
    r/{run_id}/{thread}/{ns}/{rid}           run index, for delete_for_runs

``rid`` is the checkpoint id written so that key order is newest first: the
id's UTF-8 bytes, each complemented (``255 - b``) in two hex digits, then ``~``.
LangGraph's ids are uuid6 strings that sort by time, so the newest checkpoint of
a thread is the first key under ``t/{thread}/c/{ns}/`` (``list_keys(prefix,
limit=1)``), ``list(before=...)`` starts after one key, and the encoding is
reversible (``rid_to_id``). A checkpoint's pending writes are keyed under it, so
they follow it in key order: ``get_tuple`` finds the latest checkpoint and its
writes with one listing, reads the checkpoint, then its values and writes in one
batch.

A checkpoint is ``{"id", "parent", "cp", "md", "vals", "blobs", "logs", "run",
"delta"}``: ``cp`` is the serialized checkpoint without its channel values, ``md``
the serialized metadata, ``vals`` the channel values that are small JSON scalars
(kept inline, as PostgresSaver does), ``blobs`` the ``{channel}/{version}`` keys
of the others, ``logs`` ``{channel: [gen, n]}`` for list values kept in a log (the
value is the log's first ``n`` items). Serialized data is ``[type,
base64(bytes)]``: the serializer's binary output is kept byte for byte.

Each channel value is stored once per version, not copied into every checkpoint.
A list value of 4 or more items (a conversation's messages) goes further: its
items are serialized one by one into the channel's log, and a new version that
extends the previous one (same items first, checked by a rolling digest) appends
only its new items. A conversation of ``n`` messages therefore costs ``O(n)``
bytes, not ``O(n^2)`` as when every version (PostgresSaver) or every checkpoint
(SqliteSaver) holds the whole list. A value that does not extend the log (a fork,
an edited or removed message) starts a new log generation. Every log write is
guarded by the head's version (``if_version``) in the same batch, so two writers
never interleave items. A read fetches a checkpoint's values and logs in one
batch.

Consistency
-----------
* One ``put`` is one BotWire batch (one transaction): the checkpoint, its new
  channel values, log appends and run index appear together or not at all. A reader never
  sees a torn checkpoint, on any door.
* Regular pending writes are first-writer-wins per ``(task_id, idx)`` (written
  only if absent, atomically); special writes (error, interrupt, resume,
  scheduled) overwrite, as in LangGraph's reference savers.
* Two processes running one thread at once cannot corrupt it: each checkpoint is
  complete and immutable once written, and channel versions carry a random
  suffix (``get_next_version``), so two writers never store different values
  under one version. If both continue from the same parent, both checkpoints are
  kept as siblings (a fork, as with every LangGraph saver) and the newer id is
  the thread's latest; nothing is merged or half-written.

Cache
-----
A saver keeps the items of the list logs it has read or written (serialized as
stored, and decoded), by ``(thread, checkpoint_ns, channel, log generation)``, in
memory, least recently used out: at most ``cache_bytes`` of serialized items
(default 8 MiB; LangChain messages take about 5 times that once decoded) and
1,000 logs; a single list bigger than the bound is not cached. A log generation
only ever grows, and its items never change once written, so a cached item is
never stale: a read still fetches the checkpoint from the store, which says how
many items of which generation its value has (``[gen, n]``). When the cache has
them, the log is not read and nothing is decoded; when another process has
appended meanwhile, the log is read and only the new items are decoded. A value
from the cache is a deep copy (pydantic models, containers and immutable
scalars are copied directly; anything else is decoded again from its bytes), so
changing what a read returned never changes the next read (unless
``assume_immutable``, below). ``put`` compares a new list with the cached items
byte for byte instead of hashing it. Deleting,
pruning or trimming a thread, or copying onto it, drops its logs from this
process's cache; a thread deleted by another process or expired is simply not
found in the store. ``cache_bytes=0`` turns the cache off.

``assume_immutable=True`` is the caller's promise that values it gives to the
saver or gets from it are never changed in place (LangGraph's way: nodes return
updates, ``add_messages`` builds a new list and replaces a message by id with a new
object). The cache then keeps the caller's own objects as a log's decoded items,
and:

* ``put`` takes the items of a list that are the very objects (``is``), at the same
  positions, as the decoded items cached for the log its head names, as unchanged:
  it serializes and appends only the new tail. One pass over the pointers, no
  serializing, no byte comparison. Anything else (a different object at any old
  position, a shorter list, nothing cached, a head another process moved: the
  head's version check fails and the put reads it again) takes the exact path.
* reads hand out the cached objects (a new list of them) instead of copies.

So a step's cost no longer grows with the list's length. Breaking the promise is
not detected: an old message edited in place is not stored, and changing what a
read returned changes what later reads in this process return.

Growth and expiry
-----------------
``max_checkpoints_per_thread=n`` keeps the newest ``n`` checkpoints of each
thread namespace after each ``put`` (trimming in steps: up to ``n + n // 10``
are kept between trims), with the pending writes and channel values that only
the dropped ones used. ``thread_ttl=seconds`` makes a thread expire once idle:
every key of the thread shares one expiry time, moved forward by the writes
(a whole-thread refresh at most every ``thread_ttl / 10``), so an idle thread
disappears at once, between 0.9 and 1 ``thread_ttl`` after its last write.
``prune(thread_ids, strategy="keep_latest" | "delete")`` does the same on demand.
Threads using a ``DeltaChannel`` are never trimmed (their state is rebuilt from
older checkpoints); ``prune(..., "keep_latest")`` refuses them.

Trust: the serializer (LangGraph's ``JsonPlusSerializer`` unless ``serde=``) can
rebuild Python objects, so anyone who can write this namespace can make a loading
process run code, as with every LangGraph saver. Keep the namespace writable
only by the agents you trust (server tokens are scoped per namespace).
"""

from __future__ import annotations

import base64
import builtins
import datetime
import hashlib
import json
import operator
import random
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from botwire import (
    AppendOp,
    AsyncMemory,
    BotWireError,
    ConflictError,
    DeleteOp,
    GetOp,
    Memory,
    Record,
    SetOp,
    ValidationError,
)
from botwire.langchain._twins import MemoryPair

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_CHECKPOINT_NAMESPACE",
    "BotWireSaver",
    "id_to_rid",
    "rid_to_id",
]

DEFAULT_CHECKPOINT_NAMESPACE = "langgraph-checkpoints"
"""BotWire namespace the saver uses when given no ``memory=``."""

T = TypeVar("T")
Plan = Generator[tuple[Any, ...], Any, T]
"""An operation written once, I/O-free: it yields ``("list", prefix, limit)``,
``("batch", ops)`` or ``("emit", value)`` and the sync or async driver answers."""

_ESCAPE = re.compile(r"[%/\x00-\x1f\x7f-\x9f]")
_UNESCAPE = re.compile(r"%([0-9A-F]{2})")
_CHUNK = 500  # operations per batch when reading or deleting many keys
_SCALARS = (str, int, float, bool, type(None))
_INLINE_STR = 256  # longest string kept inline in a checkpoint
_REFRESH = 0.1  # thread_ttl fraction after which a write refreshes the whole thread
_ATTEMPTS = 50  # retries of a write that lost a race (first-writer-wins, refresh)
_DELTA_KEYS = ("counters_since_delta_snapshot", "delta_writes_versioned")
_LOG_MIN = 4  # lists at least this long are kept in an append-only log
_MAX_KEY_BYTES = 512
_LATEST = 64  # keys listed to find a thread's latest checkpoint and its writes
_BATCH_BYTES = 1 << 20  # payload per batch when rewriting or copying a thread
_CACHE = 20_000  # entries kept in each in-process cache before it is cleared
_CACHE_LOGS = 1_000  # list logs kept by the decoded-items cache
DEFAULT_CACHE_BYTES = 8 << 20
"""Default bound of a saver's in-process cache of list items (serialized bytes)."""


def _label(text: Any) -> str:
    return _ESCAPE.sub(lambda m: f"%{ord(m.group()):02X}", str(text))


def _unlabel(text: str) -> str:
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def id_to_rid(checkpoint_id: str) -> str:
    """Encode a checkpoint id so that keys sort newest (greatest id) first."""
    raw = checkpoint_id.encode("utf-8", "surrogatepass")
    return "".join(f"{255 - b:02x}" for b in raw) + "~"


def rid_to_id(rid: str) -> str:
    """Decode :func:`id_to_rid`."""
    raw = bytes(255 - int(rid[i : i + 2], 16) for i in range(0, len(rid) - 1, 2))
    return raw.decode("utf-8", "surrogatepass")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _pack(typed: tuple[str, bytes]) -> list[str]:
    return [typed[0], base64.b64encode(typed[1]).decode("ascii")]


def _unpack(packed: list[str]) -> tuple[str, bytes]:
    return packed[0], base64.b64decode(packed[1])


def _inline(value: Any) -> bool:
    """Small JSON scalars are kept in the checkpoint itself (exact round trip)."""
    kind = type(value)
    if kind not in _SCALARS:
        return False
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if kind is str:
        if len(value) > _INLINE_STR:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


def _chain(digest: str, typed: Iterable[tuple[str, bytes]]) -> str:
    """The rolling digest of a list's serialized items (a log head's ``"d"``): the
    digest of the first items is ``digest``; ``typed`` are the next ones."""
    state = bytes.fromhex(digest)
    for kind, data in typed:
        state = hashlib.blake2b(state + kind.encode() + b"\0" + data, digest_size=16).digest()
    return state.hex()


def _msgpack_array(items: list[bytes]) -> bytes:
    """The msgpack encoding of an array of already-encoded items."""
    n = len(items)
    if n < 16:
        header = bytes([0x90 | n])
    elif n < 1 << 16:
        header = b"\xdc" + n.to_bytes(2, "big")
    else:
        header = b"\xdd" + n.to_bytes(4, "big")
    return header + b"".join(items)


def _is_delta(metadata: Any, values: dict[str, Any]) -> bool:
    if isinstance(metadata, dict) and any(k in metadata for k in _DELTA_KEYS):
        return True
    return any(type(v).__name__ == "_DeltaSnapshot" for v in values.values())


def _thread_ids(thread_ids: Sequence[str]) -> list[str]:
    if isinstance(thread_ids, (str, bytes)):
        raise TypeError("thread_ids takes a list of thread ids, not a single string")
    return [str(t) for t in thread_ids]


class _Keys:
    """Key builders for one thread (see the module docstring)."""

    def __init__(self, thread_id: Any) -> None:
        self.thread = _label(thread_id)
        self.root = f"t/{self.thread}/"
        self.lease = self.root + "lease"

    def docs(self, ns: str | None = None) -> str:
        return self.root + "c/" + ("" if ns is None else _label(ns) + "/")

    def doc(self, ns: str, rid: str) -> str:
        return f"{self.root}c/{_label(ns)}/{rid}"

    def write(self, ns: str, rid: str, task_id: str, idx: int) -> str:
        return f"{self.doc(ns, rid)}/{_label(task_id)}/{idx}"

    def blobs(self, ns: str) -> str:
        return f"{self.root}b/{_label(ns)}/"

    def blob_ref(self, channel: str, version: Any) -> str:
        return f"{_label(channel)}/{_label(version)}"

    def log(self, ns: str, channel: str, gen: str) -> str:
        return f"{self.root}l/{_label(ns)}/{_label(channel)}/{gen}"

    def head(self, ns: str, channel: str) -> str:
        return f"{self.root}h/{_label(ns)}/{_label(channel)}"

    def run_marker(self, run_id: str) -> str:
        return f"{self.root}r/{_label(run_id)}"

    def run_entry(self, run_id: str, ns: str, rid: str) -> str:
        return f"r/{_label(run_id)}/{self.thread}/{_label(ns)}/{rid}"


def _doc_parts(key: str) -> tuple[str, str, str] | None:
    """``(thread, ns, rid)`` of a checkpoint key, else ``None``."""
    parts = key.split("/")
    if len(parts) != 5 or parts[0] != "t" or parts[2] != "c":
        return None
    return _unlabel(parts[1]), _unlabel(parts[3]), parts[4]


def _write_parts(key: str) -> tuple[str, str, str] | None:
    """``(thread, ns, rid)`` of the checkpoint a pending write's key belongs to."""
    parts = key.split("/")
    if len(parts) != 7 or parts[0] != "t" or parts[2] != "c":
        return None
    return _unlabel(parts[1]), _unlabel(parts[3]), parts[4]


def _advance(plan: Plan[Any], answer: tuple[Any, BaseException | None]) -> Any:
    """Give a plan the answer to its last call (a result or an error to raise); return
    its next call, or ``None`` when it is done."""
    result, error = answer
    try:
        return plan.send(result) if error is None else plan.throw(error)
    except StopIteration:
        return None


def _checked(ops: list[Any]) -> list[Any]:
    """Refuse keys over BotWire's 512-byte limit with a sentence (``Memory.batch`` passes
    keys to the store as they are, and not every store checks them)."""
    for op in ops:
        if len(op.key.encode("utf-8", "surrogatepass")) > _MAX_KEY_BYTES:
            raise ValidationError(
                f"thread, namespace, channel or task ids are too long for a BotWire key "
                f"(over {_MAX_KEY_BYTES} bytes): {op.key[:80]!r}..."
            )
    return ops


def _kind(key: str) -> str:
    """The section of a thread key (``c`` ``b`` ``l`` ``h`` ``w`` ``r`` ``lease``)."""
    parts = key.split("/", 3)
    return parts[2] if len(parts) >= 3 and parts[0] == "t" else ""


def _chunks(units: Iterable[list[Any]]) -> Iterator[list[Any]]:
    """Group units of operations into batches of bounded count and size; a unit is
    never split (its operations must commit together)."""
    batch: list[Any] = []
    size = 0
    for unit in units:
        unit_size = sum(
            len(op.raw) if isinstance(op, SetOp) else sum(map(len, op.raws)) for op in unit
        )
        if batch and (len(batch) + len(unit) > _CHUNK or size + unit_size > _BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.extend(unit)
        size += unit_size
    if batch:
        yield batch


def _refresh_units(records: dict[str, Record], ttl: float) -> list[list[Any]]:
    """Rewrite a thread's keys with a fresh TTL. A log is rewritten together with its
    head, guarded by the head's version, so an append made meanwhile is never lost."""
    heads = {k: r for k, r in records.items() if _kind(k) == "h"}
    guarded: dict[str, Record] = {}
    for key, record in heads.items():
        parts = key.split("/")
        parts[2] = "l"
        guarded["/".join(parts) + "/" + str(json.loads(record.raw).get("gen"))] = record
    units = []
    for key, record in records.items():
        if _kind(key) == "h":
            continue
        unit = _rewrite(key, record.raw, ttl)
        head = guarded.pop(key, None)
        if head is not None:
            unit.insert(0, SetOp(head.key, head.raw, ttl, if_version=head.version))
        units.append(unit)
    for head in guarded.values():  # heads whose current log is gone
        units.append([SetOp(head.key, head.raw, ttl, if_version=head.version)])
    return units


def _rewrite(key: str, raw: str, ttl: float | None) -> list[Any]:
    """Operations that write ``raw`` again under ``key``; a list log stays a list
    written item by item (the value size limit applies to each item)."""
    parts = key.split("/")
    if len(parts) == 6 and parts[0] == "t" and parts[2] == "l":
        items = tuple(_dumps(item) for item in json.loads(raw))
        ops: list[Any] = [SetOp(key, "[]", ttl)]
        if items:
            ops.append(AppendOp(key, items, uuid.uuid4().hex))
        return ops
    return [SetOp(key, raw, ttl)]


# -- the in-process cache of list logs ---------------------------------------------------

_ATOMS = frozenset(
    {str, int, float, bool, type(None), bytes, complex, Decimal, UUID}
    | {datetime.datetime, datetime.date, datetime.time, datetime.timedelta, datetime.timezone}
)
"""Immutable types a copy can share with the cached object."""


class _Uncopyable(Exception):
    """A value :func:`_copied` cannot copy without the serializer."""


def _copied(value: Any) -> Any:
    """A deep copy of a decoded value made of containers, immutable scalars and pydantic
    models (what messages are made of); raises :class:`_Uncopyable` for anything else."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    atoms = _ATOMS  # below: atoms are shared without a call, the rest copied
    if kind is list:
        return [v if type(v) in atoms else _copied(v) for v in value] if value else []
    if kind is dict:
        if not value:
            return {}
        return {k: v if type(v) in atoms else _copied(v) for k, v in value.items()}
    if kind is tuple:
        return tuple(v if type(v) in atoms else _copied(v) for v in value)
    if kind is set:
        return set(value)  # hashable items
    if isinstance(value, BaseModel):
        # What pydantic's own __deepcopy__ does, without copy.deepcopy's bookkeeping.
        cls: Any = kind
        new = cls.__new__(cls)
        fields = value.__dict__.copy()
        for k, v in fields.items():
            if type(v) not in atoms:
                fields[k] = _copied(v)
        object.__setattr__(new, "__dict__", fields)
        extra = value.__pydantic_extra__
        object.__setattr__(new, "__pydantic_extra__", None if extra is None else _copied(extra))
        object.__setattr__(new, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
        private = getattr(value, "__pydantic_private__", None)
        if private is not None:
            private = {k: _copied(v) for k, v in private.items() if v is not PydanticUndefined}
        object.__setattr__(new, "__pydantic_private__", private)
        return new
    raise _Uncopyable


class _Log:
    """What this process knows of one list log: its first items, serialized as stored,
    and the first of them decoded (readers get copies; under ``assume_immutable``, the
    objects themselves, which may be the caller's own from a put)."""

    __slots__ = ("decoded", "size", "typed")

    def __init__(self) -> None:
        self.typed: list[tuple[str, bytes]] = []
        self.decoded: list[Any] = []
        self.size = 0


class _LogCache:
    """Items of list logs, by ``(thread, ns, channel, gen)``, least recently used out.

    A log generation is append-only and its items never change once written (a new
    value that is not an extension starts a new generation), so the first ``n``
    items cached are the first ``n`` stored, whoever wrote them: a checkpoint read
    from the store says how many of them its value has (``[gen, n]``). Bounded by
    ``max_bytes`` of serialized items and ``_CACHE_LOGS`` logs.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._logs: OrderedDict[tuple[str, str, str, str], _Log] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._logs)

    def typed(self, key: tuple[str, str, str, str]) -> builtins.list[tuple[str, bytes]] | None:
        """The serialized items cached for a log (read-only), or ``None``."""
        with self._lock:
            log = self._logs.get(key)
            return None if log is None else log.typed

    def extend(
        self, key: tuple[str, str, str, str], start: int, typed: Sequence[tuple[str, bytes]]
    ) -> None:
        """Record that a log holds ``typed`` from position ``start`` on."""
        if not self.max_bytes:
            return
        with self._lock:
            log = self._logs.get(key)
            if log is None:
                if start != 0:
                    return  # the items before start are unknown here
                log = self._logs[key] = _Log()
            have = len(log.typed)
            if have < start or have >= start + len(typed):
                return  # a gap (unknown items between), or nothing new
            new = typed[have - start :]
            log.typed.extend(new)
            added = sum(len(kind) + len(data) for kind, data in new)
            log.size += added
            self.size += added
            self._logs.move_to_end(key)
            while self._logs and (self.size > self.max_bytes or len(self._logs) > _CACHE_LOGS):
                _, old = self._logs.popitem(last=False)
                self.size -= old.size

    def values(
        self,
        key: tuple[str, str, str, str],
        n: int,
        load: Callable[[Sequence[tuple[str, bytes]]], builtins.list[Any]],
        shared: bool = False,
    ) -> builtins.list[Any] | None:
        """Fresh copies of a log's first ``n`` items (``None`` if not cached). ``load``
        decodes serialized items; the copies share nothing mutable with the cache.
        ``shared``: a new list of the cached objects themselves, not copies (the
        ``assume_immutable`` contract)."""
        with self._lock:
            log = self._logs.get(key)
            if log is None or len(log.typed) < n:
                return None
            self._logs.move_to_end(key)
            have = len(log.decoded)
            if have < n:
                log.decoded.extend(load(log.typed[have:n]))
            decoded = log.decoded[:n]
            if shared:
                return decoded
            typed = log.typed[:n]
        out = []
        for i, item in enumerate(decoded):
            try:
                out.append(_copied(item))
            except _Uncopyable:
                (fresh,) = load([typed[i]])
                out.append(fresh)
        return out

    def unchanged(self, key: tuple[str, str, str, str], value: builtins.list[Any], n: int) -> bool:
        """Whether ``value``'s first ``n`` items are the very objects cached as the first
        ``n`` items of a log (``is``, position by position).

        Under ``assume_immutable`` this replaces serializing those items: an object
        the caller promised never to change still holds what was stored for it.
        One pass over the pointers: the serialized items are not touched.
        """
        with self._lock:
            log = self._logs.get(key)
            if log is None or len(log.decoded) < n or len(log.typed) < n or len(value) < n:
                return False
            decoded = log.decoded if len(log.decoded) == n else log.decoded[:n]
            if not all(map(operator.is_, value, decoded)):  # stops after n items
                return False
            self._logs.move_to_end(key)
            return True

    def adopt(self, key: tuple[str, str, str, str], value: Sequence[Any], start: int) -> None:
        """Cache ``value``'s objects from position ``start`` on as the decoded items of a
        log that holds them (a put under ``assume_immutable``: the next put of the
        same objects, or a read handing them out, needs neither serializing nor
        decoding). The items before ``start`` are already ``value``'s."""
        with self._lock:
            log = self._logs.get(key)
            if log is None or len(log.typed) < len(value) or len(log.decoded) < start:
                return
            log.decoded[start:] = value[start:]

    def forget(self, thread: str, ns: str | None = None, channel: str | None = None) -> None:
        """Drop the logs of a thread (of one namespace, of one channel)."""
        with self._lock:
            for key in [
                k
                for k in self._logs
                if k[0] == thread
                and (ns is None or k[1] == ns)
                and (channel is None or k[2] == channel)
            ]:
                self.size -= self._logs.pop(key).size


def _records(results: Iterable[Any]) -> dict[str, Record]:
    return {r.key: r for r in results if isinstance(r, Record)}


class BotWireSaver(BaseCheckpointSaver[str]):
    """Durable LangGraph checkpointer: threads, interrupts and time travel on BotWire.

    Example:
        >>> from botwire import Memory
        >>> from botwire.langchain import BotWireSaver
        >>> saver = BotWireSaver(Memory("langgraph-checkpoints"))
        >>> graph = builder.compile(checkpointer=saver)  # doctest: +SKIP

    Args:
        memory: a ``botwire.Memory`` (sync methods) or ``botwire.AsyncMemory``
            (async methods); the other twin is derived (see :mod:`botwire.langchain`).
        namespace: BotWire namespace to open when ``memory`` is not given.
        url: store URL when ``memory`` is not given (default ``$BOTWIRE_URL``, else
            the embedded file).
        serde: the serializer (default LangGraph's ``JsonPlusSerializer``).
        max_checkpoints_per_thread: keep only the newest ``n`` checkpoints of each
            thread namespace (trimmed after ``put``, in steps of ``n // 10``).
        thread_ttl: seconds after its last write at which a thread expires.
        cache_bytes: bound of the in-process cache of list items (messages), in
            serialized bytes; ``0`` turns it off (see "Cache" in the module docs).
        assume_immutable: promise that values given to the saver or read from it
            are never changed in place (nodes return updates; ``add_messages``
            replaces a message with a new object). ``put`` then serializes only the
            list items that are not the very objects it last stored or handed out,
            and reads hand out the cached objects instead of copies, so per-step
            time stays flat as a thread grows. An old message edited in place is
            then *not* stored. Default ``False``: every item compared, private copies.

    Raises:
        ValidationError: a bad ``memory``, ``namespace``, limit, TTL or cache size.
        TypeError: ``assume_immutable`` is not a bool.
    """

    def __init__(
        self,
        memory: Memory | AsyncMemory | None = None,
        *,
        namespace: str = DEFAULT_CHECKPOINT_NAMESPACE,
        url: str | None = None,
        serde: SerializerProtocol | None = None,
        max_checkpoints_per_thread: int | None = None,
        thread_ttl: float | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        assume_immutable: bool = False,
    ) -> None:
        super().__init__(serde=serde)
        if not isinstance(assume_immutable, bool):
            raise TypeError(f"assume_immutable must be True or False, not {assume_immutable!r}")
        self._pair = MemoryPair(memory, namespace, url, type(self).__name__)
        if max_checkpoints_per_thread is not None and (
            isinstance(max_checkpoints_per_thread, bool)
            or not isinstance(max_checkpoints_per_thread, int)
            or max_checkpoints_per_thread < 1
        ):
            raise ValidationError(
                "max_checkpoints_per_thread must be an integer >= 1 or None, "
                f"not {max_checkpoints_per_thread!r}"
            )
        if thread_ttl is not None and (
            isinstance(thread_ttl, bool)
            or not isinstance(thread_ttl, (int, float))
            or not thread_ttl > 0
        ):
            raise ValidationError(
                f"thread_ttl must be a positive number of seconds or None, not {thread_ttl!r}"
            )
        if isinstance(cache_bytes, bool) or not isinstance(cache_bytes, int) or cache_bytes < 0:
            raise ValidationError(
                f"cache_bytes must be an integer >= 0 (0: no cache), not {cache_bytes!r}"
            )
        self.max_checkpoints_per_thread = max_checkpoints_per_thread
        self.assume_immutable = assume_immutable
        self.thread_ttl = None if thread_ttl is None else float(thread_ttl)
        # Where list values live in their logs, learnt from this process's reads and
        # writes: (thread, ns, channel, version) -> [gen, n]; and each log's head:
        # (thread, ns, channel) -> (gen, n, digest, head version). A stale head only
        # costs a retry: every log write is guarded by the head's version.
        self._positions: dict[tuple[str, str, str, str], list[Any]] = {}
        self._heads: dict[tuple[str, str, str], tuple[str | None, int, str, int]] = {}
        # The items of list logs, serialized and decoded (see "Cache" in the module docs).
        self._logs = _LogCache(cache_bytes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self._pair.namespace!r})"

    # -- drivers: the only code that does I/O ------------------------------------------

    def _iter(self, plan: Plan[Any]) -> Iterator[Any]:
        memory = self._pair.sync
        answer: tuple[Any, BaseException | None] = (None, None)
        while (call := _advance(plan, answer)) is not None:
            if call[0] == "emit":
                answer = (None, None)
                yield call[1]
                continue
            try:
                if call[0] == "list":
                    answer = (memory.list_keys(call[1], limit=call[2]), None)
                else:
                    answer = (memory.batch(_checked(call[1])), None)
            except BotWireError as exc:
                answer = (None, exc)  # the plan decides: retry, skip or raise

    async def _aiter(self, plan: Plan[Any]) -> AsyncIterator[Any]:
        memory = self._pair.async_
        answer: tuple[Any, BaseException | None] = (None, None)
        while (call := _advance(plan, answer)) is not None:
            if call[0] == "emit":
                answer = (None, None)
                yield call[1]
                continue
            try:
                if call[0] == "list":
                    answer = (await memory.list_keys(call[1], limit=call[2]), None)
                else:
                    answer = (await memory.batch(_checked(call[1])), None)
            except BotWireError as exc:
                answer = (None, exc)

    def _run(self, plan: Plan[Any]) -> Any:
        out = list(self._iter(plan))
        return out[0] if out else None

    async def _arun(self, plan: Plan[Any]) -> Any:
        out = [x async for x in self._aiter(plan)]
        return out[0] if out else None

    # -- BaseCheckpointSaver: sync -------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Return the checkpoint ``config`` names (or the thread's latest), or ``None``."""
        result: CheckpointTuple | None = self._run(self._get_tuple(config))
        return result

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Yield checkpoints newest first (``filter``: exact match on metadata keys)."""
        yield from self._iter(self._list(config, filter, before, limit))

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint and its new channel values in one transaction."""
        result: RunnableConfig = self._run(self._put(config, checkpoint, metadata, new_versions))
        return result

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes for the checkpoint ``config`` names."""
        self._run(self._put_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of ``thread_id``."""
        self._run(self._delete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints written by ``run_ids`` (their writes and unused values)."""
        self._run(self._delete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, write and value of one thread to another."""
        self._run(self._copy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Shrink threads: ``"keep_latest"`` checkpoint per namespace, or ``"delete"`` all.

        Raises:
            TypeError: ``thread_ids`` is a single string.
            ValueError: an unknown ``strategy``.
            NotImplementedError: ``"keep_latest"`` on a thread using a ``DeltaChannel``.
        """
        self._run(self._prune(thread_ids, strategy))

    # -- BaseCheckpointSaver: async (the same plans, awaited) ---------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        result: CheckpointTuple | None = await self._arun(self._get_tuple(config))
        return result

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        async for item in self._aiter(self._list(config, filter, before, limit)):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        result: RunnableConfig = await self._arun(
            self._put(config, checkpoint, metadata, new_versions)
        )
        return result

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        await self._arun(self._put_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        await self._arun(self._delete_thread(thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async :meth:`delete_for_runs`."""
        await self._arun(self._delete_for_runs(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async :meth:`copy_thread`."""
        await self._arun(self._copy_thread(source_thread_id, target_thread_id))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async :meth:`prune`."""
        await self._arun(self._prune(thread_ids, strategy))

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Next channel version: a zero-padded counter plus a random suffix.

        The suffix keeps two processes that step one thread at once from ever
        writing two different values under one version.
        """
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(str(current).split(".")[0])
        return f"{number + 1:032}.{random.random():016}"

    # -- plans: small steps ------------------------------------------------------------

    @staticmethod
    def _read(keys: Sequence[str]) -> Plan[dict[str, Record]]:
        """Read ``keys`` in batches; return the records that exist."""
        found: dict[str, Record] = {}
        for start in range(0, len(keys), _CHUNK):
            ops = [GetOp(k) for k in keys[start : start + _CHUNK]]
            found.update(_records((yield ("batch", ops))))
        return found

    @staticmethod
    def _delete(keys: Iterable[str]) -> Plan[None]:
        """Delete ``keys`` in batches (each batch one transaction)."""
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            yield ("batch", [DeleteOp(k) for k in unique[start : start + _CHUNK]])

    def _ttl(self, keys: _Keys) -> Plan[float | None]:
        """TTL in seconds for a write to this thread (``None`` without ``thread_ttl``).

        Every key of a thread shares one expiry time, kept in the lease. When the
        lease is older than ``thread_ttl * _REFRESH`` the whole thread (and its
        run index entries) is rewritten with a fresh expiry.
        """
        ttl = self.thread_ttl
        if ttl is None:
            return None
        for _ in range(_ATTEMPTS):
            (lease,) = yield ("batch", [GetOp(keys.lease)])
            now = time.time()
            if isinstance(lease, Record):
                at = float(json.loads(lease.raw)["at"])
                if now - at < ttl * _REFRESH:
                    return max(at + ttl - now, 0.001)
            thread_keys = [k for k in (yield ("list", keys.root, None)) if k != keys.lease]
            records = yield from self._read(thread_keys)
            extra = []
            for key in records:
                if key.startswith(keys.root + "r/"):
                    run = key[len(keys.root) + 2 :]
                    extra.extend((yield ("list", f"r/{run}/{keys.thread}/", None)))
            records.update((yield from self._read(extra)))
            version = lease.version if isinstance(lease, Record) else 0
            try:
                for ops in _chunks(_refresh_units(records, ttl)):
                    yield ("batch", ops)
                yield (
                    "batch",
                    [SetOp(keys.lease, _dumps({"at": now}), ttl, if_version=version)],
                )
            except ConflictError:
                continue  # another writer refreshed the thread meanwhile: read again
            return ttl
        raise ConflictError(f"could not refresh the TTL of thread {keys.thread!r}")

    def _load(
        self,
        keys: _Keys,
        ns: str,
        doc: dict[str, Any],
        blobs: dict[str, Record],
        ready: dict[str, builtins.list[Any]],
    ) -> tuple[Checkpoint, CheckpointMetadata, str | None]:
        """Decode a checkpoint from its document and the records read for it; ``ready``:
        list values already taken from the cache."""
        checkpoint: Checkpoint = self.serde.loads_typed(_unpack(doc["cp"]))
        values: dict[str, Any] = dict(doc.get("vals") or {})
        logs: dict[str, list[Any]] = doc.get("logs") or {}
        prefix = keys.blobs(ns)
        for ref in doc.get("blobs") or ():
            channel = _unlabel(ref.split("/", 1)[0])
            record = blobs.get(prefix + ref)
            if record is not None and channel not in logs:
                values[channel] = self.serde.loads_typed(_unpack(json.loads(record.raw)))
        versions = checkpoint.get("channel_versions") or {}
        if len(self._positions) > _CACHE:
            self._positions.clear()
        for channel, (gen, n) in logs.items():
            if channel in ready:
                values[channel] = ready[channel]
            else:
                record = blobs.get(keys.log(ns, channel, gen))
                if record is None:
                    continue
                values[channel] = self._log_items(keys, ns, channel, gen, n, record)
            if channel in versions:
                key = (keys.thread, ns, channel, str(versions[channel]))
                self._positions[key] = [gen, n]
        checkpoint = {**checkpoint, "channel_values": values}
        metadata: CheckpointMetadata = self.serde.loads_typed(_unpack(doc["md"]))
        return checkpoint, metadata, doc.get("parent")

    def _log_items(
        self, keys: _Keys, ns: str, channel: str, gen: str, n: int, record: Record
    ) -> builtins.list[Any]:
        """The first ``n`` items of a log read from the store; the cache learns the
        items it did not have (decoding only those)."""
        items = json.loads(record.raw)
        if self._logs.max_bytes:
            key = (keys.thread, ns, channel, gen)
            known = self._logs.typed(key)
            have = 0 if known is None else len(known)
            self._logs.extend(key, have, [_unpack(item) for item in items[have:]])
            cached = self._logs.values(key, n, self._load_typed, self.assume_immutable)
            if cached is not None:
                return cached
        return self._load_typed([_unpack(item) for item in items[:n]])

    def _load_typed(self, typed: Sequence[tuple[str, bytes]]) -> builtins.list[Any]:
        """Decode serialized items."""
        if type(self.serde) is JsonPlusSerializer and all(kind == "msgpack" for kind, _ in typed):
            # One msgpack array instead of one call per item: the same objects, faster.
            data = _msgpack_array([data for _, data in typed])
            return builtins.list(self.serde.loads_typed(("msgpack", data)))
        return [self.serde.loads_typed(item) for item in typed]

    def _pending(self, records: Iterable[Record]) -> builtins.list[tuple[str, str, Any]]:
        rows = []
        for record in records:
            w = json.loads(record.raw)
            rows.append((w["path"], w["task"], w["idx"], w["ch"], w["v"]))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        return [(task, ch, self.serde.loads_typed(_unpack(v))) for _, task, _, ch, v in rows]

    def _tuples(
        self,
        thread: str,
        docs: builtins.list[tuple[str, str, dict[str, Any]]],
        write_keys: builtins.list[str],
    ) -> Plan[builtins.list[CheckpointTuple]]:
        """Build tuples for ``(ns, rid, doc)`` of one thread: one batched read."""
        keys = _Keys(thread)
        wanted = {(ns, rid) for ns, rid, _ in docs}
        by_checkpoint: dict[tuple[str, str], list[str]] = {}
        for key in write_keys:
            parts = _write_parts(key)
            if parts is not None and (parts[1], parts[2]) in wanted:
                by_checkpoint.setdefault((parts[1], parts[2]), []).append(key)
        blob_keys = []
        ready: dict[tuple[str, str], dict[str, builtins.list[Any]]] = {}
        for ns, rid, doc in docs:
            logs = doc.get("logs") or {}
            for ref in doc.get("blobs") or ():
                if _unlabel(ref.split("/", 1)[0]) not in logs:  # a log's position record
                    blob_keys.append(keys.blobs(ns) + ref)
            for channel, (gen, n) in logs.items():
                cached = None
                if self._logs.max_bytes:
                    cached = self._logs.values(
                        (keys.thread, ns, channel, gen),
                        n,
                        self._load_typed,
                        self.assume_immutable,
                    )
                if cached is None:
                    blob_keys.append(keys.log(ns, channel, gen))
                else:
                    ready.setdefault((ns, rid), {})[channel] = cached
        all_writes = [k for ks in by_checkpoint.values() for k in ks]
        records = yield from self._read(list(dict.fromkeys(blob_keys + all_writes)))
        out = []
        for ns, rid, doc in docs:
            checkpoint, metadata, parent = self._load(
                keys, ns, doc, records, ready.get((ns, rid), {})
            )
            writes = [records[k] for k in by_checkpoint.get((ns, rid), ()) if k in records]
            out.append(
                CheckpointTuple(
                    config=self._config(thread, ns, doc["id"]),
                    checkpoint=checkpoint,
                    metadata=metadata,
                    parent_config=self._config(thread, ns, parent) if parent else None,
                    pending_writes=self._pending(writes),
                )
            )
        return out

    @staticmethod
    def _config(thread: str, ns: str, checkpoint_id: str) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": thread,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        }

    # -- plans: the operations -----------------------------------------------------------

    def _get_tuple(self, config: RunnableConfig) -> Plan[None]:
        configurable = config["configurable"]
        thread = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        keys = _Keys(thread)
        checkpoint_id = get_checkpoint_id(config)
        # A checkpoint's pending writes are keyed under it, right after it in key
        # order, so one listing finds the checkpoint (the newest, first) and its writes.
        if checkpoint_id:
            rid = id_to_rid(checkpoint_id)
            listed = yield ("list", keys.doc(ns, rid), None)
        else:
            listed = yield ("list", keys.docs(ns), _LATEST)
            if not listed:
                return
            rid = listed[0].rsplit("/", 1)[1]
        doc_key = keys.doc(ns, rid)
        write_keys = [k for k in listed if k.startswith(doc_key + "/")]
        if not checkpoint_id and len(listed) == _LATEST and len(write_keys) == _LATEST - 1:
            write_keys = yield ("list", doc_key + "/", None)  # more writes than listed
        if not listed or listed[0] != doc_key:
            return
        found = yield from self._read([doc_key])
        record = found.get(keys.doc(ns, rid))
        if record is None:
            return
        (result,) = yield from self._tuples(thread, [(ns, rid, json.loads(record.raw))], write_keys)
        yield ("emit", result)

    def _list(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Plan[None]:
        if limit is not None and limit <= 0:
            return
        configurable = (config or {}).get("configurable") or {}
        thread = configurable.get("thread_id")
        ns = configurable.get("checkpoint_ns")
        only = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        if thread is None:
            prefix = "t/"
        else:
            prefix = _Keys(thread).docs(ns)
        listed = yield ("list", prefix, None)
        found = [p for p in map(_doc_parts, listed) if p is not None]
        write_keys: dict[str, list[str]] = {}
        for key in listed:
            parts = _write_parts(key)
            if parts is not None:
                write_keys.setdefault(parts[0], []).append(key)
        if ns is not None:
            found = [p for p in found if p[1] == ns]
        # Newest first: within one namespace the keys already are; across namespaces
        # and threads, order by checkpoint id as the SQL savers do.
        chosen = []
        for t, n, rid in found:
            cid = rid_to_id(rid)
            if only and cid != only:
                continue
            if before_id and cid >= before_id:
                continue
            chosen.append((cid, t, n, rid))
        chosen.sort(key=lambda c: c[0], reverse=True)
        remaining = limit
        page = 50 if (filter or remaining is None) else min(remaining, 50)
        for start in range(0, len(chosen), page):
            group = chosen[start : start + page]
            docs = yield from self._read([_Keys(t).doc(n, rid) for _, t, n, rid in group])
            by_thread: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
            for _, t, n, rid in group:
                record = docs.get(_Keys(t).doc(n, rid))
                if record is None:
                    continue
                doc = json.loads(record.raw)
                if filter:
                    metadata = self.serde.loads_typed(_unpack(doc["md"]))
                    if not all(metadata.get(k) == v for k, v in filter.items()):
                        continue
                if remaining is not None:
                    if remaining <= 0:
                        break
                    remaining -= 1
                by_thread.setdefault(t, []).append((n, rid, doc))
            built: dict[tuple[str, str, str], CheckpointTuple] = {}
            for t, items in by_thread.items():
                tuples: list[CheckpointTuple] = yield from self._tuples(
                    t, items, write_keys.get(t, [])
                )
                for item, tup in zip(items, tuples, strict=True):
                    built[(t, item[0], item[1])] = tup
            for _, t, n, rid in group:
                if (t, n, rid) in built:
                    yield ("emit", built[(t, n, rid)])
            if remaining is not None and remaining <= 0:
                return

    def _put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Plan[None]:
        configurable = config["configurable"]
        thread = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        parent = configurable.get("checkpoint_id")
        keys = _Keys(thread)
        rid = id_to_rid(checkpoint["id"])
        stored = checkpoint.copy()
        values: dict[str, Any] = stored.pop("channel_values")  # type: ignore[misc]
        versions = checkpoint["channel_versions"]
        inline = {ch: v for ch, v in values.items() if _inline(v)}
        blob_prefix = keys.blobs(ns)
        refs = [keys.blob_ref(ch, version) for ch, version in versions.items() if ch not in inline]
        meta = get_checkpoint_metadata(config, metadata)
        run_id = meta.get("run_id")
        doc: dict[str, Any] = {
            "id": checkpoint["id"],
            "parent": parent,
            "cp": _pack(self.serde.dumps_typed(stored)),
            "md": _pack(self.serde.dumps_typed(meta)),
            "vals": inline,
            "blobs": refs,
            "logs": {},
            "run": run_id,
            "delta": _is_delta(meta, values),
        }
        ttl = yield from self._ttl(keys)
        ops: list[Any] = []
        lists: dict[str, list[Any]] = {}
        for ch, version in new_versions.items():
            if ch not in values or ch in inline:
                continue
            value = values[ch]
            if type(value) is list and len(value) >= _LOG_MIN:
                lists[ch] = value  # serialized in _log_ops, once the log's head is known
            else:
                blob = _pack(self.serde.dumps_typed(value))
                ops.append(SetOp(blob_prefix + keys.blob_ref(ch, version), _dumps(blob), ttl))
        doc["logs"] = yield from self._carried(keys, ns, versions, values, inline, new_versions)
        if run_id is not None:
            ops.append(SetOp(keys.run_marker(str(run_id)), "null", ttl))
            ops.append(SetOp(keys.run_entry(str(run_id), ns, rid), "null", ttl))
        serialized: dict[str, list[tuple[str, bytes]]] = {}  # kept across retries
        for _ in range(_ATTEMPTS):
            missing = [ch for ch in lists if (keys.thread, ns, ch) not in self._heads]
            heads = yield from self._read([keys.head(ns, ch) for ch in missing])
            for ch in missing:
                record = heads.get(keys.head(ns, ch))
                head = json.loads(record.raw) if record is not None else None
                self._heads[(keys.thread, ns, ch)] = (
                    (head["gen"], head["n"], head["d"], record.version)
                    if head is not None and record is not None
                    else (None, 0, "", 0)
                )
            log_ops, moved, typed = self._log_ops(keys, ns, lists, serialized, ttl)
            for ch, (gen, n, _, _) in moved.items():
                doc["logs"][ch] = [gen, n]
                record_key = blob_prefix + keys.blob_ref(ch, new_versions[ch])
                log_ops.append(SetOp(record_key, _dumps({"log": [gen, n]}), ttl))
            try:
                yield ("batch", [SetOp(keys.doc(ns, rid), _dumps(doc), ttl), *ops, *log_ops])
            except ConflictError:
                for ch in lists:  # another writer moved a log: read its head again
                    self._heads.pop((keys.thread, ns, ch), None)
                continue
            if len(self._heads) > _CACHE:
                self._heads.clear()
            for ch, head in moved.items():
                self._heads[(keys.thread, ns, ch)] = head
                log_key = (keys.thread, ns, ch, str(head[0]))
                start, items = typed[ch]
                self._logs.extend(log_key, start, items)
                if self.assume_immutable:
                    self._logs.adopt(log_key, lists[ch], start)
                self._positions[(keys.thread, ns, ch, str(new_versions[ch]))] = [head[0], head[1]]
            break
        else:
            raise ConflictError(f"put kept losing races on thread {thread!r}")
        if self.max_checkpoints_per_thread is not None:
            yield from self._trim(keys, ns, self.max_checkpoints_per_thread)
        yield ("emit", self._config(thread, ns, checkpoint["id"]))

    def _carried(
        self,
        keys: _Keys,
        ns: str,
        versions: ChannelVersions,
        values: dict[str, Any],
        inline: dict[str, Any],
        new_versions: ChannelVersions,
    ) -> Plan[dict[str, builtins.list[Any]]]:
        """Log positions of the unchanged list channels this checkpoint refers to."""
        carried = {
            ch: str(v)
            for ch, v in versions.items()
            if ch in values and ch not in inline and ch not in new_versions
        }
        logs: dict[str, list[Any]] = {}
        unknown = []
        for ch, version in carried.items():
            position = self._positions.get((keys.thread, ns, ch, version))
            if position is not None:
                logs[ch] = position
            elif type(values[ch]) is list and len(values[ch]) >= _LOG_MIN:
                unknown.append(ch)
        if unknown:
            prefix = keys.blobs(ns)
            found = yield from self._read(
                [prefix + keys.blob_ref(ch, carried[ch]) for ch in unknown]
            )
            for ch in unknown:
                record = found.get(prefix + keys.blob_ref(ch, carried[ch]))
                record_value = json.loads(record.raw) if record is not None else None
                if isinstance(record_value, dict) and "log" in record_value:
                    logs[ch] = record_value["log"]
        return logs

    def _log_ops(
        self,
        keys: _Keys,
        ns: str,
        lists: dict[str, builtins.list[Any]],
        serialized: dict[str, builtins.list[tuple[str, bytes]]],
        ttl: float | None,
    ) -> tuple[
        builtins.list[Any],
        dict[str, tuple[str, int, str, int]],
        dict[str, tuple[int, builtins.list[tuple[str, bytes]]]],
    ]:
        """Writes that put each new list value in its log, the logs' new heads, and each
        value's serialized items (``(start, items)``: the items from position ``start``).

        A value that extends what its log holds (the same items first) appends only
        the new items; any other value starts a new log. Every write
        is guarded by the head's version, so two writers cannot interleave items.
        ``serialized`` keeps whole values serialized by an earlier attempt.
        """
        ops: list[Any] = []
        moved: dict[str, tuple[str, int, str, int]] = {}
        out: dict[str, tuple[int, builtins.list[tuple[str, bytes]]]] = {}
        dumps = self.serde.dumps_typed
        for ch, value in lists.items():
            gen, length, digest, head_version = self._heads[(keys.thread, ns, ch)]
            n = len(value)
            if (
                gen is not None
                and length <= n
                and self.assume_immutable
                and self._logs.unchanged((keys.thread, ns, ch, gen), value, length)
            ):
                # The caller's promise: the objects the log's items were cached as are
                # unchanged, so only the new tail needs serializing.
                typed = [dumps(item) for item in value[length:]]
                start, extends = length, True
            else:
                if ch not in serialized:
                    serialized[ch] = [dumps(item) for item in value]
                typed, start, extends = serialized[ch], 0, False
                if gen is not None and length <= n:
                    # The same items first? Compared byte for byte with the cached items,
                    # or (when this process does not have them) by the head's digest.
                    cached = self._logs.typed((keys.thread, ns, ch, gen))
                    if cached is not None and len(cached) >= length:
                        extends = typed[:length] == cached[:length]
                    else:
                        extends = _chain("", typed[:length]) == digest
            out[ch] = (start, typed)
            if extends:
                assert gen is not None
                new = typed[length - start :]
                if new:
                    raws = tuple(_dumps(_pack(item)) for item in new)
                    ops.append(AppendOp(keys.log(ns, ch, gen), raws, uuid.uuid4().hex))
                digest = _chain(digest, new)
            else:
                # A new log: an empty list, then its items in one append (the value size
                # limit applies to each item, so a long conversation still fits).
                gen = uuid.uuid4().hex[:12]
                raws = tuple(_dumps(_pack(item)) for item in typed)
                ops.append(SetOp(keys.log(ns, ch, gen), "[]", ttl))
                ops.append(AppendOp(keys.log(ns, ch, gen), raws, uuid.uuid4().hex))
                digest = _chain("", typed)
            head = {"gen": gen, "n": n, "d": digest}
            ops.append(SetOp(keys.head(ns, ch), _dumps(head), ttl, if_version=head_version))
            moved[ch] = (gen, n, digest, head_version + 1)
        return ops, moved, out

    def _put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> Plan[None]:
        configurable = config["configurable"]
        keys = _Keys(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        rid = id_to_rid(configurable["checkpoint_id"])
        entries: dict[str, tuple[int, str]] = {}
        for i, (channel, value) in enumerate(writes):
            idx = WRITES_IDX_MAP.get(channel, i)
            row = {
                "task": task_id,
                "path": task_path,
                "idx": idx,
                "ch": channel,
                "v": _pack(self.serde.dumps_typed(value)),
            }
            entries[keys.write(ns, rid, task_id, idx)] = (idx, _dumps(row))
        if not entries:
            return
        ttl = yield from self._ttl(keys)
        present: set[str] = set()
        for _ in range(_ATTEMPTS):
            # Regular writes are created only if absent (first writer wins, atomically);
            # special ones (error, interrupt, resume, scheduled) overwrite.
            ops = [
                SetOp(key, raw, ttl, if_version=0 if idx >= 0 else None)
                for key, (idx, raw) in entries.items()
                if key not in present
            ]
            if not ops:
                return
            try:
                yield ("batch", ops)
                return
            except ConflictError:
                regular = [k for k, (idx, _) in entries.items() if idx >= 0]
                present = set((yield from self._read(regular)))
        raise ConflictError("put_writes kept losing races with other writers")

    def _delete_thread(self, thread_id: str) -> Plan[None]:
        keys = _Keys(thread_id)
        self._logs.forget(keys.thread)
        thread_keys = yield ("list", keys.root, None)
        runs = [k[len(keys.root) + 2 :] for k in thread_keys if k.startswith(keys.root + "r/")]
        index = []
        for run in runs:
            index.extend((yield ("list", f"r/{run}/{keys.thread}/", None)))
        yield from self._delete(index + thread_keys)

    def _drop(
        self, keys: _Keys, ns: str, drop: set[str], all_rids: builtins.list[str]
    ) -> Plan[None]:
        """Delete checkpoints ``drop`` (rids) of one thread namespace, their writes,
        run index entries and the channel values no kept checkpoint uses."""
        if not drop:
            return
        docs = yield from self._read([keys.doc(ns, rid) for rid in all_rids])
        kept_refs: set[str] = set()
        dropped_refs: set[str] = set()
        doomed = []
        for rid in all_rids:
            record = docs.get(keys.doc(ns, rid))
            doc = json.loads(record.raw) if record is not None else {}
            refs = set(doc.get("blobs") or ())
            refs |= {f"\x00{ch}\x00{pos[0]}" for ch, pos in (doc.get("logs") or {}).items()}
            if rid in drop:
                dropped_refs |= refs
                doomed.append(keys.doc(ns, rid))
                if doc.get("run") is not None:
                    doomed.append(keys.run_entry(str(doc["run"]), ns, rid))
            else:
                kept_refs |= refs
        for key in (yield ("list", keys.docs(ns), None)):
            parts = _write_parts(key)
            if parts is not None and parts[2] in drop:
                doomed.append(key)
        for ref in dropped_refs - kept_refs:
            if ref.startswith("\x00"):  # a whole log: its head may point at it
                _, channel, gen = ref.split("\x00")
                doomed += [keys.log(ns, channel, gen), keys.head(ns, channel)]
                self._heads.pop((keys.thread, ns, channel), None)
                self._logs.forget(keys.thread, ns, channel)
            else:
                doomed.append(keys.blobs(ns) + ref)
        yield from self._delete(doomed)

    def _trim(self, keys: _Keys, ns: str, keep: int) -> Plan[None]:
        slack = keep // 10
        limit = 4 * (keep + slack + 1)  # checkpoints and their pending writes
        newest = yield ("list", keys.docs(ns), limit)
        if sum(1 for k in newest if _doc_parts(k)) > keep + slack:
            listed = yield ("list", keys.docs(ns), None)
        elif len(newest) == limit:
            listed = yield ("list", keys.docs(ns), None)  # many writes: count them all
        else:
            return
        rids = [p[2] for p in map(_doc_parts, listed) if p is not None]
        if len(rids) <= keep + slack:
            return
        head = yield from self._read([keys.doc(ns, rid) for rid in rids[:keep]])
        if any(json.loads(r.raw).get("delta") for r in head.values()):
            return  # a DeltaChannel rebuilds its value from older checkpoints
        yield from self._drop(keys, ns, set(rids[keep:]), rids)

    def _prune(self, thread_ids: Sequence[str], strategy: str) -> Plan[None]:
        threads = _thread_ids(thread_ids)
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"strategy must be 'keep_latest' or 'delete', not {strategy!r}")
        if strategy == "delete":
            for thread in threads:
                yield from self._delete_thread(thread)
            return
        plans = []
        for thread in threads:
            keys = _Keys(thread)
            by_ns: dict[str, list[str]] = {}
            for key in (yield ("list", keys.docs(), None)):
                parts = _doc_parts(key)
                if parts is not None:
                    by_ns.setdefault(parts[1], []).append(parts[2])
            latest = yield from self._read([keys.doc(n, rids[0]) for n, rids in by_ns.items()])
            if any(json.loads(r.raw).get("delta") for r in latest.values()):
                raise NotImplementedError(
                    f"prune(strategy='keep_latest') cannot prune thread {thread!r}: it uses a "
                    "DeltaChannel, whose value is rebuilt from older checkpoints"
                )
            plans.append((keys, by_ns))
        for keys, by_ns in plans:
            for n, rids in by_ns.items():
                yield from self._drop(keys, n, set(rids[1:]), rids)

    def _delete_for_runs(self, run_ids: Sequence[str]) -> Plan[None]:
        runs = _thread_ids(run_ids)
        targets: dict[tuple[str, str], set[str]] = {}
        markers = []
        for run in runs:
            for key in (yield ("list", f"r/{_label(run)}/", None)):
                _, _, thread, ns, rid = key.split("/")
                targets.setdefault((_unlabel(thread), _unlabel(ns)), set()).add(rid)
                markers.append(_Keys(_unlabel(thread)).run_marker(run))
        for (thread, ns), drop in targets.items():
            keys = _Keys(thread)
            listed = yield ("list", keys.docs(ns), None)
            rids = [p[2] for p in map(_doc_parts, listed) if p is not None]
            yield from self._drop(keys, ns, drop, rids)
        yield from self._delete(markers)

    def _copy_thread(self, source_thread_id: str, target_thread_id: str) -> Plan[None]:
        source, target = _Keys(source_thread_id), _Keys(target_thread_id)
        if source.root == target.root:
            return
        self._logs.forget(target.thread)
        source_keys = [k for k in (yield ("list", source.root, None)) if k != source.lease]
        records = yield from self._read(source_keys)
        if not records:
            return
        ttl = yield from self._ttl(target)
        units = []
        for key, record in records.items():
            if _kind(key) == "h":
                continue  # a log's head is not copied: the copy's next put starts a new log
            units.append(_rewrite(target.root + key[len(source.root) :], record.raw, ttl))
            parts = _doc_parts(key)
            if parts is not None:
                run = json.loads(record.raw).get("run")
                if run is not None:
                    entry = target.run_entry(str(run), parts[1], parts[2])
                    units.append([SetOp(entry, "null", ttl)])
        for ops in _chunks(units):
            yield ("batch", ops)

    # -- lifetime ------------------------------------------------------------------------

    def close(self) -> None:
        """Close a store this saver opened itself (not a ``memory=`` passed in)."""
        self._pair.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self._pair.aclose()
