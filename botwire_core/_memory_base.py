"""What ``Memory`` and ``AsyncMemory`` share, free of I/O.

All validation, encoding and result decoding lives in :class:`_BaseMemory`. The
clients themselves are one class written once: ``AsyncMemory`` in
``botwire._memory_async``, and ``Memory`` generated from it
(``botwire._memory_sync``, by ``scripts/unasync.py``), so they cannot drift apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from botwire._backoff import backoff
from botwire._codec import decode, encode
from botwire._errors import ValidationError
from botwire._types import (
    AppendOp,
    ChangeRecord,
    Op,
    OpResult,
    Record,
    SetOp,
)
from botwire._validation import (
    check_id,
    check_limit,
    check_prefix,
    check_ttl,
    check_version,
    validate_key,
    validate_namespace,
)

__all__ = ["UPDATE_ATTEMPTS", "WATCH_SLICE", "_BaseMemory"]

_MISSING: Any = object()
_READ: Any = object()

UPDATE_ATTEMPTS = 1000
"""How many times ``update`` retries a conflicting write before giving up."""


def _backoff(attempt: int) -> float:
    """Jittered pause between ``update`` attempts: spreads out competing writers."""
    return backoff(attempt, 0.0005, 0.05)


WATCH_SLICE = 25.0
"""Longest single wait for a change (one long-poll request over HTTP): a watch with
no timeout waits slice after slice."""


def _backoff_reconnect(faults: int) -> float:
    """Pause before a watch reconnects after its store gave up: up to 5 s apart."""
    return backoff(faults, 0.2, 5.0)


class _BaseMemory:
    """I/O-free logic shared by :class:`Memory` and :class:`AsyncMemory`."""

    namespace: str
    max_value_bytes: int | None

    def _init(self, namespace: str, max_value_bytes: int | None) -> None:
        self.namespace = validate_namespace(namespace)
        self.max_value_bytes = max_value_bytes

    @classmethod
    def _legacy_url(cls, url: str | None, base_url: str | None) -> str | None:
        """Accept 0.2.x's ``base_url=`` for ``url=``, with a ``DeprecationWarning``."""
        if base_url is None:
            return url
        import warnings

        warnings.warn(
            f"{cls.__name__}(base_url=...) is the 0.2.x spelling; pass url=... instead "
            "(base_url will be removed in a later release)",
            DeprecationWarning,
            stacklevel=3,
        )
        if url is not None and url != base_url:
            raise ValidationError("pass url= or base_url= (its old name), not both")
        return base_url

    def _encode(self, value: Any) -> str:
        return encode(value, max_bytes=self.max_value_bytes)

    # The checks the server's request parser runs too (botwire._validation).
    _ttl = staticmethod(check_ttl)
    _if_version = staticmethod(check_version)
    _limit = staticmethod(check_limit)
    _prefix = staticmethod(check_prefix)

    def _set_op(
        self, key: str, value: Any, ttl: float | None = None, if_version: int | None = None
    ) -> SetOp:
        return SetOp(
            validate_key(key), self._encode(value), self._ttl(ttl), self._if_version(if_version)
        )

    def _append_op(self, key: str, items: Sequence[Any], id: str | None) -> AppendOp:
        if not items:
            raise ValidationError("append needs at least one item")
        checked_id = check_id(id)
        return AppendOp(validate_key(key), tuple(self._encode(i) for i in items), checked_id)

    def _keys(self, keys: Iterable[str]) -> list[str]:
        if isinstance(keys, (str, bytes)):
            raise ValidationError("pass a list of keys, not a single string")
        return [validate_key(k) for k in keys]

    def _set_many_ops(self, mapping: Mapping[str, Any], ttl: float | None) -> list[Op]:
        if not isinstance(mapping, Mapping):
            raise ValidationError(
                f"set_many takes a mapping of key to value, not {type(mapping).__name__}"
            )
        ttl = self._ttl(ttl)
        return [SetOp(validate_key(k), self._encode(v), ttl) for k, v in mapping.items()]

    @staticmethod
    def _value(record: Record | None, default: Any) -> Any:
        return default if record is None else decode(record.raw)

    @staticmethod
    def _many(results: list[OpResult]) -> dict[str, Any]:
        return {r.key: decode(r.raw) for r in results if isinstance(r, Record)}

    @staticmethod
    def _check_fn(fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise ValidationError("update needs a function that maps the old value to the new")

    # -- the change feed: the rules, shared by both twins ------------------------------

    def _feed(self, cls: type[Any]) -> Any:
        store = getattr(self, "store", None)
        if not isinstance(store, cls):
            raise ValidationError(f"{store!r} has no change feed (watch, wait_for)")
        return store

    @staticmethod
    def _since(since: int | None) -> int | None:
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            raise ValidationError(f"since must be a seq (a whole number) or None, not {since!r}")
        if since is not None and since < 0:
            raise ValidationError(f"since must be >= 0, not {since}")
        return since

    @staticmethod
    def _timeout(timeout: float | None, name: str = "timeout") -> float | None:
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0
        ):
            raise ValidationError(f"{name} must be seconds >= 0 or None, not {timeout!r}")
        return None if timeout is None else float(timeout)

    @staticmethod
    def _slice(deadline: float | None) -> float:
        """How long the next read of the feed may wait (0: the deadline passed)."""
        if deadline is None:
            return WATCH_SLICE
        return max(0.0, min(WATCH_SLICE, deadline - time.monotonic()))

    @staticmethod
    def _deadline(timeout: float | None) -> float | None:
        return None if timeout is None else time.monotonic() + timeout

    @staticmethod
    def _wanted(key: str, change: ChangeRecord, until: Callable[[Any], Any] | None) -> Any:
        """``wait_for``'s verdict on one change: the value, ``_MISSING`` (not yet) or
        ``_READ`` (the change does not carry the whole value: read the key)."""
        if change.key != key or change.kind in ("delete", "expire"):
            return _MISSING
        if change.kind == "append" or change.raw is None:
            return _READ
        value = decode(change.raw)
        return value if until is None or until(value) else _MISSING

    @staticmethod
    def _found(record: Record | None, until: Callable[[Any], Any] | None) -> Any:
        """``wait_for``'s verdict on the key's current record."""
        if record is None:
            return _MISSING
        value = decode(record.raw)
        return value if until is None or until(value) else _MISSING

    @staticmethod
    def _reconnect(faults: int, deadline: float | None) -> int:
        """Count a lost connection of a watch; re-raise once its timeout has passed."""
        if deadline is not None and time.monotonic() >= deadline:
            raise
        return faults + 1

    @staticmethod
    def _timed_out(key: str, timeout: float | None) -> TimeoutError:
        return TimeoutError(f"{key!r} did not get a wanted value within {timeout} s")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.namespace!r}, store={self.store!r})"

    store: Any
