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
loads only httpx and the standard library.
"""

from botwire._client import AsyncMemory, Memory
from botwire._errors import (
    AuthenticationError,
    BotWireError,
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
)
from botwire._open import default_path, open_async_store, open_store
from botwire._sqlite import SQLiteStore
from botwire._store import AsyncStore, Store, ThreadedAsyncStore
from botwire._types import (
    AppendOp,
    AppendResult,
    DeleteOp,
    GetOp,
    Item,
    KeyPage,
    Record,
    RestoreOp,
    SetOp,
    Usage,
    WriteResult,
)

__version__ = "1.0.0.dev0"

__all__ = [
    "AppendOp",
    "AppendResult",
    "AsyncMemory",
    "AsyncStore",
    "AuthenticationError",
    "BotWireError",
    "ConflictError",
    "DeleteOp",
    "GetOp",
    "Item",
    "KeyPage",
    "Memory",
    "MissingDependencyError",
    "NotAListError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "Record",
    "RestoreOp",
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
    "default_path",
    "open_async_store",
    "open_store",
]
