"""Server settings: one dataclass, filled from flags or ``BOTWIRE_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from botwire._codec import DEFAULT_MAX_VALUE_BYTES
from botwire._errors import ValidationError

__all__ = ["ENV_PREFIX", "Settings"]

ENV_PREFIX = "BOTWIRE_"

DEFAULT_NAMESPACE_BYTES = 50 * 1000 * 1000


@dataclass(frozen=True)
class Settings:
    """How a BotWire server runs.

    Every field can be set from the environment as ``BOTWIRE_<FIELD>`` (e.g.
    ``BOTWIRE_WRITES_PER_DAY=1000``); see :meth:`from_env`.

    Example:
        >>> Settings(db="sqlite:////srv/botwire.db", writes_per_day=1000)
        Settings(host='127.0.0.1', port=8080, db='sqlite:////srv/botwire.db', ...)

    Args:
        host: address to listen on.
        port: TCP port to listen on.
        db: the store URL (``sqlite:///…`` or ``postgresql://…``); ``None``: the
            embedded SQLite file the client uses by default.
        writes_per_day: writes allowed per namespace per UTC day (``None``: no limit).
        max_value_bytes: largest encoded value (413 above it).
        max_namespace_bytes: largest namespace (429 above it; ``None``: no limit).
        access_log: log one JSON line per request to the ``botwire.access`` logger.
        inline_store: run a synchronous store's calls on the event loop instead of
            in worker threads (``None``: inline for SQLite, whose calls take
            microseconds, threads for anything else).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None
    writes_per_day: int | None = None
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    max_namespace_bytes: int | None = DEFAULT_NAMESPACE_BYTES
    access_log: bool = True
    inline_store: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValidationError(f"port must be 0-65535, not {self.port!r}")
        for name in ("writes_per_day", "max_namespace_bytes"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValidationError(f"{name} must be a positive integer or None, not {value!r}")
        if not isinstance(self.max_value_bytes, int) or self.max_value_bytes < 16:
            raise ValidationError(
                f"max_value_bytes must be an integer >= 16, not {self.max_value_bytes!r}"
            )

    @property
    def max_body_bytes(self) -> int:
        """Largest request body read: room for a value escaped as ``\\uXXXX`` text."""
        return 4 * self.max_value_bytes + 64 * 1024

    def limits(self) -> dict[str, int | None]:
        """The limits as ``GET /namespaces/{ns}`` reports them."""
        return {
            "max_value_bytes": self.max_value_bytes,
            "max_namespace_bytes": self.max_namespace_bytes,
            "writes_per_day": self.writes_per_day,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``BOTWIRE_*`` variables, then apply ``overrides``.

        Integers accept ``none``/``unlimited`` (or an empty value) for "no limit";
        booleans accept ``1/0``, ``true/false``, ``yes/no``, ``on/off``.

        Raises:
            ValidationError: a variable holds something that is not its type.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if name in environ:
                values[f.name] = _parse(name, environ[name], str(f.type))
        settings = cls(**values)  # type: ignore[arg-type]
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **clean) if clean else settings  # type: ignore[arg-type]


def _parse(name: str, text: str, annotation: str) -> object:
    text = text.strip()
    if "bool" in annotation:
        if text == "" and "None" in annotation:
            return None
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValidationError(f"{name} must be true or false, not {text!r}")
    if "int" in annotation:
        if "None" in annotation and text.lower() in ("", "none", "unlimited"):
            return None
        try:
            return int(text.replace("_", ""))
        except ValueError:
            raise ValidationError(f"{name} must be an integer, not {text!r}") from None
    return text or None
