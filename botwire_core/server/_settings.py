"""Server settings: one object, filled from arguments and ``BOTWIRE_*`` variables.

One mechanism fills it: pydantic-settings. Arguments given to :class:`Settings`
(``botwire serve`` passes the flags that were typed) win over ``BOTWIRE_<FIELD>``
variables, which win over the defaults. Nothing else in the server reads the
environment.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic import ValidationError as PydanticError
from pydantic_settings import BaseSettings, SettingsConfigDict

from botwire._codec import DEFAULT_MAX_VALUE_BYTES
from botwire._errors import ValidationError

__all__ = ["ENV_PREFIX", "Settings"]

ENV_PREFIX = "BOTWIRE_"

DEFAULT_NAMESPACE_BYTES = 50 * 1000 * 1000
MIN_ADMIN_TOKEN_CHARS = 16
DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024
MCP_TOOL_SETS = ("kv", "graph")
"""``botwire.mcp.TOOL_SETS``, restated so settings load without the mcp package (a test
keeps the two equal)."""


class Settings(BaseSettings):
    """How a BotWire server runs.

    Every field can be set from the environment as ``BOTWIRE_<FIELD>`` (e.g.
    ``BOTWIRE_WRITES_PER_DAY=1000``); arguments win over the environment.

    Example:
        >>> Settings(db="sqlite:////srv/botwire.db", writes_per_day=1000).writes_per_day
        1000

    Args:
        host: address to listen on.
        port: TCP port to listen on.
        db: the store URL (``sqlite:///…`` or ``postgresql://…``); ``None``: the
            embedded SQLite file the client uses by default.
        writes_per_day: writes allowed per namespace per UTC day (``None``: no limit).
        max_value_bytes: largest encoded value (413 above it).
        max_namespace_bytes: largest namespace (429 above it; ``None``: no limit).
        access_log: log one JSON line per request to the ``botwire.access`` logger.
        admin_token: the secret that manages tokens; set, every request needs a
            token (``BOTWIRE_ADMIN_TOKEN``; at least 16 characters).
        insecure_open: serve a non-loopback address without tokens.
        allowed_hosts: without tokens, the ``Host`` names (comma-separated) served
            besides loopback names and addresses; ``*`` or ``None``: any. ``botwire
            serve`` defaults to ``""``: loopback names only.
        forwarded_allow_ips: addresses (comma-separated, ``*``: any) whose
            ``X-Forwarded-For``/``-Proto`` headers are trusted (a proxy in front);
            ``None``: trusted from nobody.
        max_answer_bytes: largest batch answer built (413 ``answer_too_large``
            above it: page or split the batch); never less than one largest value.
        body_timeout: seconds a request body may take to arrive, whole (400 after).
        idle_timeout: seconds a connection may stay open without a request (a new
            connection that sends nothing, or one kept alive between requests).
        header_timeout: seconds a request's line and headers may take to arrive, from
            their first byte (then the connection is closed).
        max_header_bytes: largest request line plus headers (431 or closed above it).
        lock_timeout: seconds a SQLite write waits for another process's lock
            before it answers 503.
        log_level: the server's log level.
        ui: serve the web UI at ``/ui`` (``None``: on when the server listens on a
            loopback address or has tokens, so an open server on a network does not
            hand out a page to browse it).
        mcp: serve MCP's streamable HTTP at ``/mcp`` (``None``: when the ``mcp``
            package is installed, ``pip install "botwire[mcp]"``).
        mcp_tools: the tool sets ``/mcp`` serves, comma-separated: ``kv`` (the
            ``memory_*`` tools), ``graph`` (server-memory's knowledge-graph tools,
            kept in the ``mcp`` namespace), or ``kv,graph``.
        max_watches: change-feed watches (long-polls and event streams) open at once;
            past it a watch is refused with 429 and ``Retry-After``.
        inline_store: kept for compatibility; store calls never run on the event loop.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", validate_default=False
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    db: str | None = None
    writes_per_day: int | None = Field(default=None, ge=1)
    max_value_bytes: int = Field(default=DEFAULT_MAX_VALUE_BYTES, ge=16)
    max_namespace_bytes: int | None = Field(default=DEFAULT_NAMESPACE_BYTES, ge=1)
    access_log: bool = True
    admin_token: str | None = Field(default=None, repr=False)
    insecure_open: bool = False
    allowed_hosts: str | None = None
    forwarded_allow_ips: str | None = None
    max_answer_bytes: int = Field(default=DEFAULT_MAX_ANSWER_BYTES, ge=1024)
    body_timeout: float = Field(default=30.0, gt=0)
    idle_timeout: int = Field(default=5, ge=1)
    header_timeout: float = Field(default=10.0, gt=0)
    max_header_bytes: int = Field(default=64 * 1024, ge=4096)
    lock_timeout: float = Field(default=60.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_watches: int = Field(default=1000, ge=1)
    inline_store: bool | None = None
    ui: bool | None = None
    mcp: bool | None = None
    mcp_tools: str = "kv"

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except PydanticError as exc:
            raise ValidationError(_sentence(exc)) from None

    @field_validator("writes_per_day", "max_namespace_bytes", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().lower().replace("_", "")
            if text in ("", "none", "unlimited"):
                return None
            return text
        return value

    @field_validator("mcp_tools")
    @classmethod
    def _mcp_tools(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in MCP_TOOL_SETS]
        if not names or unknown:
            raise ValueError(
                f"mcp_tools (BOTWIRE_MCP_TOOLS) must name one or more of "
                f"{', '.join(MCP_TOOL_SETS)}, comma-separated; got {value!r}"
            )
        return ",".join(dict.fromkeys(names))

    @field_validator("db", "admin_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("admin_token")
    @classmethod
    def _admin_token(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(
                f"the admin token (BOTWIRE_ADMIN_TOKEN) must be at least "
                f"{MIN_ADMIN_TOKEN_CHARS} characters; make one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return None if value is None else value.strip()

    @property
    def max_body_bytes(self) -> int:
        """Largest request body read: room for a value escaped as ``\\uXXXX`` text."""
        return 4 * self.max_value_bytes + 64 * 1024

    @property
    def answer_cap(self) -> int:
        """Largest batch answer: ``max_answer_bytes``, with room for one largest value."""
        return max(self.max_answer_bytes, self.max_value_bytes + 64 * 1024)

    @property
    def ui_enabled(self) -> bool:
        """Whether ``/ui`` is served (see ``ui``)."""
        if self.ui is not None:
            return self.ui
        from botwire.server.auth import is_loopback

        return self.admin_token is not None or is_loopback(self.host)

    @property
    def mcp_enabled(self) -> bool:
        """Whether ``/mcp`` is served (see ``mcp``).

        Raises:
            MissingDependencyError: ``mcp`` is on but the package is not installed.
        """
        if self.mcp is False:
            return False
        import importlib.util

        if importlib.util.find_spec("mcp") is not None:
            return True
        if self.mcp:
            from botwire._errors import require_extra

            require_extra("mcp", "mcp")
        return False

    def limits(self) -> dict[str, int | None]:
        """The limits as ``GET /namespaces/{ns}`` reports them."""
        return {
            "max_value_bytes": self.max_value_bytes,
            "max_namespace_bytes": self.max_namespace_bytes,
            "writes_per_day": self.writes_per_day,
        }

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Settings from ``BOTWIRE_*`` variables, with ``overrides`` that are not ``None``.

        Raises:
            ValidationError: a value is not of its field's type.
        """
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated like the constructor)."""
        return type(self)(**{**self.model_dump(), **changes})


def _sentence(exc: PydanticError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        given = error.get("input")
        shown = "" if field == "admin_token" or isinstance(given, dict) else f", not {given!r}"
        parts.append(f"{field} (env {ENV_PREFIX}{field.upper()}): {message}{shown}")
    return "; ".join(parts)
