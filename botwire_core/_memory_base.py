"""What ``Memory`` and ``AsyncMemory`` share, free of I/O.

All validation, encoding and result decoding lives in :class:`_BaseMemory`. The
clients themselves are one class written once: ``AsyncMemory`` in
``botwire._memory_async``, and ``Memory`` generated from it
(``botwire._memory_sync``, by ``scripts/unasync.py``), so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from botwire._backoff import backoff
from botwire._codec import decode, encode
from botwire._errors import ValidationError
from botwire._types import (
    AppendOp,
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

__all__ = ["UPDATE_ATTEMPTS", "_BaseMemory"]

UPDATE_ATTEMPTS = 1000
"""How many times ``update`` retries a conflicting write before giving up."""


def _backoff(attempt: int) -> float:
    """Jittered pause between ``update`` attempts: spreads out competing writers."""
    return backoff(attempt, 0.0005, 0.05)


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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.namespace!r}, store={self.store!r})"

    store: Any
