"""The exception tree shared by every client and store (DESIGN.md §7).

Each class carries a machine ``code`` that matches the server's error body, so the
HTTP store can map a server answer back to the very class an embedded store raises.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BotWireError",
    "ChangesExpiredError",
    "ConflictError",
    "MissingDependencyError",
    "NotAListError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "ServerError",
    "UnavailableError",
    "ValidationError",
    "ValueTooLargeError",
    "require_extra",
]


class BotWireError(Exception):
    """Base class of every error BotWire raises."""

    code: str = "error"


class ValidationError(BotWireError, ValueError):
    """A namespace, key, value or argument is invalid; the message says what to fix."""

    code = "invalid_value"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class ValueTooLargeError(ValidationError):
    """A value (or a namespace) is over its size limit."""

    code = "value_too_large"


class NotFoundError(BotWireError, KeyError):
    """A key that an operation needs does not exist (used by the wire protocol)."""

    code = "not_found"

    def __str__(self) -> str:  # KeyError quotes its message; keep the sentence readable
        return str(self.args[0]) if self.args else "not found"


class ConflictError(BotWireError):
    """The key's version was not the one the write was conditioned on."""

    code = "version_conflict"

    def __init__(
        self, message: str, *, key: str | None = None, current_version: int | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.current_version = current_version

    @classmethod
    def expected(cls, key: str, expected: int, found: int) -> ConflictError:
        """The error of a write that expected version ``expected`` (0: no value)."""
        return cls(
            f"version conflict on {key!r}: expected version {expected}, "
            f"found {found if found else 'no value'}; read it again and retry",
            key=key,
            current_version=found,
        )


class NotAListError(BotWireError, TypeError):
    """``append`` or ``get_list`` was used on a value that is not a list."""

    code = "not_a_list"

    @classmethod
    def at(cls, key: str, op: str) -> NotAListError:
        """The error of ``op`` (``"append"`` or ``"get_list"``) on the value at ``key``."""
        if op == "append":
            return cls(
                f"the value at {key!r} is not a list; append needs a list "
                "(or a missing key, which it creates)"
            )
        return cls(f"the value at {key!r} is not a list; get_list and append need a list")


class QuotaExceededError(BotWireError):
    """A server limit was reached; try again after ``retry_after`` seconds."""

    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationError(BotWireError):
    """The server needs a valid API key (``api_key=`` or ``BOTWIRE_API_KEY``)."""

    code = "unauthorized"


class PermissionDeniedError(BotWireError):
    """The API key is valid but not allowed to do this."""

    code = "forbidden"


class ServerError(BotWireError):
    """The server failed (a 5xx answer that retries did not cure)."""

    code = "server_error"


class UnavailableError(BotWireError):
    """The store could not be reached, even after retries."""

    code = "unavailable"


class ChangesExpiredError(BotWireError):
    """A change feed was asked to resume from a ``since`` older than its retention.

    The changes after it were dropped, so some would be missed: read the keys you
    follow again, then resume from ``memory.last_seq()``.
    """

    code = "changes_expired"


class MissingDependencyError(BotWireError, ImportError):
    """An optional part of BotWire was imported without its extra installed."""

    code = "missing_dependency"


def require_extra(module: str, extra: str) -> None:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``extra``.

    Every adapter calls this once, at the top of its package, so a missing framework
    fails loudly with the command that fixes it.

    Example:
        >>> from botwire import require_extra
        >>> require_extra("json", "never-needed")  # importable: nothing happens

    Args:
        module: the module the adapter needs, e.g. ``"langchain_core"``.
        extra: the ``botwire`` extra that installs it, e.g. ``"langchain"``.

    Raises:
        MissingDependencyError: ``module`` cannot be imported; the message says
            ``pip install "botwire[<extra>]"``.
    """
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f'{module!r} is not installed; install it with: pip install "botwire[{extra}]"'
        ) from exc


ERROR_CODES: dict[str, tuple[type[BotWireError], int]] = {
    "invalid_namespace": (ValidationError, 400),
    "invalid_key": (ValidationError, 400),
    "invalid_value": (ValidationError, 400),
    "invalid_request": (ValidationError, 400),
    "value_too_large": (ValueTooLargeError, 413),
    "answer_too_large": (ValidationError, 413),
    "not_found": (NotFoundError, 404),
    "version_conflict": (ConflictError, 412),
    "not_a_list": (NotAListError, 409),
    "quota_exceeded": (QuotaExceededError, 429),
    "unauthorized": (AuthenticationError, 401),
    "forbidden": (PermissionDeniedError, 403),
    "server_error": (ServerError, 500),
    "unavailable": (UnavailableError, 503),
    "changes_expired": (ChangesExpiredError, 410),
}
"""The one table of the wire protocol's error codes: each code's client class and the
HTTP status the server answers it with. The maps below and the server's OpenAPI enum
derive from it."""

ERRORS_BY_CODE: dict[str, type[BotWireError]] = {
    code: cls for code, (cls, _status) in ERROR_CODES.items()
}
"""Machine codes of the wire protocol's error bodies, mapped to client classes."""

STATUS_BY_CODE: dict[str, int] = {code: status for code, (_cls, status) in ERROR_CODES.items()}
"""HTTP status of every error code the server answers with."""
