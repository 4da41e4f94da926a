"""BotWire: durable, shared key-value memory for AI agents.

Example:
    >>> from botwire import Memory
    >>> memory = Memory("user-preferences")
    >>> memory.set("user-42:response_style", "concise")
    1
    >>> memory.get("user-42:response_style")
    'concise'

With no ``BOTWIRE_URL`` the data lives in an embedded SQLite file (see
:func:`botwire.default_path`); set ``BOTWIRE_URL=http://host:8080`` to share a
server, or ``postgresql://…`` to use PostgreSQL directly. Importing ``botwire``
loads only httpx and the standard library: the HTTP and PostgreSQL stores
(``botwire.HTTPStore``, ``botwire.PostgresStore`` and their ``Async*`` twins) load
on first use, PostgreSQL's only with the ``postgres`` extra installed.
"""

import typing

from botwire._client import AsyncMemory, Memory
from botwire._codec import decode, encode
from botwire._errors import (
    AuthenticationError,
    BotWireError,
    ChangesExpiredError,
    ConflictError,
    MissingDependencyError,
    NotAListError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    ServerError,
    UnavailableError,
    ValidationError,
    ValueTooLargeError,
    require_extra,
)
from botwire._open import default_path, open_async_store, open_store
from botwire._plans import FEED_VALUE_MAX_BYTES
from botwire._sqlite import SQLiteStore
from botwire._store import AsyncFeed, AsyncStore, Feed, Store, ThreadedAsyncStore
from botwire._types import (
    AppendOp,
    AppendResult,
    Change,
    DeleteOp,
    GetOp,
    Item,
    KeyPage,
    Op,
    Record,
    RestoreOp,
    SetOp,
    Usage,
    WriteResult,
)
from botwire._validation import validate_key, validate_namespace

if typing.TYPE_CHECKING:
    from botwire._http import AsyncHTTPStore, HTTPStore, RetryPolicy
    from botwire._postgres import AsyncPostgresStore as AsyncPostgresStore
    from botwire._postgres import PostgresStore as PostgresStore

__version__ = "1.0.0.dev0"

_REMOVED = {
    "Channel": "the agent-to-agent channels of BotWire 0.1/0.2 are not part of BotWire 1.0",
    "register": "BotWire 1.0 needs no registration: Memory works without an account",
}


def _moved_or_removed(name: str) -> object:
    """Names of BotWire 0.2.x that moved (``BotWireChatHistory``) or went away.

    ``botwire.BotWireChatHistory`` still works, with a ``DeprecationWarning``: it is
    ``botwire.langchain.BotWireChatMessageHistory``, and loads LangChain only when
    asked for. ``Channel`` and ``register`` raise an ``ImportError`` that says so.
    """
    if name == "BotWireChatHistory":
        import warnings

        warnings.warn(
            "botwire.BotWireChatHistory moved: use "
            "botwire.langchain.BotWireChatMessageHistory (the same class)",
            DeprecationWarning,
            stacklevel=2,
        )
        try:
            from botwire.langchain import BotWireChatMessageHistory
        except MissingDependencyError as exc:
            raise MissingDependencyError(
                "botwire.BotWireChatHistory is now botwire.langchain.BotWireChatMessageHistory; "
                f"{exc}"
            ) from exc
        return BotWireChatMessageHistory
    if name in _REMOVED:
        raise ImportError(
            f"botwire.{name} is gone: {_REMOVED[name]}; see docs/migrating.md",
            name=f"botwire.{name}",
        )
    raise AttributeError(f"module 'botwire' has no attribute {name!r}")


# Loaded on first use (module __getattr__, PEP 562), so that `import botwire` stays
# light. The PostgreSQL names are left out of __all__ and dir(): a star import or a
# tool listing the package must not fail where the postgres extra is missing.
_LAZY = {
    "AsyncHTTPStore": "botwire._http",
    "HTTPStore": "botwire._http",
    "RetryPolicy": "botwire._http",
    "AsyncPostgresStore": "botwire._postgres",
    "PostgresStore": "botwire._postgres",
}


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        return _moved_or_removed(name)
    import importlib

    if module == "botwire._postgres":
        from botwire._open import _require_postgres

        _require_postgres()  # MissingDependencyError naming the extra
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    listed = {*globals(), "AsyncHTTPStore", "HTTPStore", "RetryPolicy"}
    return sorted(listed - {"AsyncPostgresStore", "PostgresStore"})


__all__ = [
    "AppendOp",
    "AppendResult",
    "AsyncFeed",
    "AsyncHTTPStore",
    "AsyncMemory",
    "AsyncStore",
    "AuthenticationError",
    "BotWireError",
    "Change",
    "ChangesExpiredError",
    "ConflictError",
    "DeleteOp",
    "FEED_VALUE_MAX_BYTES",
    "Feed",
    "GetOp",
    "HTTPStore",
    "Item",
    "KeyPage",
    "Memory",
    "MissingDependencyError",
    "NotAListError",
    "NotFoundError",
    "Op",
    "PermissionDeniedError",
    "QuotaExceededError",
    "Record",
    "RestoreOp",
    "RetryPolicy",
    "SQLiteStore",
    "ServerError",
    "SetOp",
    "Store",
    "ThreadedAsyncStore",
    "UnavailableError",
    "Usage",
    "ValidationError",
    "ValueTooLargeError",
    "WriteResult",
    "__version__",
    "decode",
    "default_path",
    "encode",
    "open_async_store",
    "open_store",
    "require_extra",
    "validate_key",
    "validate_namespace",
]
