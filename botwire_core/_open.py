"""The one store opener: pick and open a store from a URL (DESIGN.md §3).

* no URL and no ``BOTWIRE_URL``: the embedded SQLite file :func:`default_path`;
* ``sqlite:///relative.db`` / ``sqlite:////absolute.db`` (SQLAlchemy's convention),
  with the option ``?synchronous=NORMAL|FULL``; any other option is refused;
* ``postgresql://…`` (extra ``postgres``);
* ``http://…`` / ``https://…``: a BotWire server.

The clients (:func:`open_store`, :func:`open_async_store`), the server and its token
book (:func:`open_serving_store`) all open stores here; :func:`redact` is the one
way a URL is shown.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from botwire._errors import MissingDependencyError, ValidationError

if TYPE_CHECKING:
    from botwire._store import AsyncStore, Store

__all__ = [
    "default_path",
    "open_async_store",
    "open_serving_store",
    "open_store",
    "redact",
    "resolve_url",
]

_PASSWORD_PARAM = re.compile(r"(password\s*=\s*)('[^']*'|[^\s&]*)", re.IGNORECASE)
_SQLITE_OPTIONS = ("synchronous",)


def redact(url: str) -> str:
    """Return ``url`` with any password (user info or ``password=`` option) as ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            url = urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    except ValueError:
        url = re.sub(r"//[^@/]*@", "//***@", url)
    return _PASSWORD_PARAM.sub(r"\1***", url)


def default_path() -> Path:
    """Where the embedded store lives when no URL is given.

    ``$BOTWIRE_HOME/memory.db`` if ``BOTWIRE_HOME`` is set, else ``memory.db`` in the
    platform's user data folder: ``$XDG_DATA_HOME/botwire`` (default
    ``~/.local/share/botwire``) on Linux, ``~/Library/Application Support/botwire``
    on macOS, ``%LOCALAPPDATA%\\botwire`` on Windows.
    """
    home = os.environ.get("BOTWIRE_HOME")
    if home:
        return Path(home).expanduser() / "memory.db"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "botwire" / "memory.db"


def resolve_url(url: str | None) -> str:
    """Return ``url``, else ``$BOTWIRE_URL``, else the default SQLite file's URL."""
    if url is None:
        url = os.environ.get("BOTWIRE_URL") or None
    if url is None:
        return "sqlite:///" + str(default_path())
    if not isinstance(url, str):
        raise ValidationError(f"url must be a string, not {type(url).__name__}")
    return url.strip()


def _sqlite_path(url: str) -> tuple[str, dict[str, str]]:
    rest = url[len("sqlite://") :]
    if not rest.startswith("/") or rest == "/":
        raise ValidationError(
            f"SQLite URL {url!r} has no file path; write sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    path, _, query = rest[1:].partition("?")
    if path in ("", ":memory:"):
        raise ValidationError(
            "BotWire needs a SQLite file (in-memory databases are not shared between "
            "threads); write sqlite:///path/to/memory.db"
        )
    return path, dict(parse_qsl(query))


def _options(url: str, params: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(set(params) - set(_SQLITE_OPTIONS))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], _SQLITE_OPTIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValidationError(
            f"unknown option {unknown[0]!r} in the SQLite URL {redact(url)[:120]!r}{hint}; "
            "the only option is synchronous=NORMAL or synchronous=FULL"
        )
    return dict(params)


Mode = Literal["sync", "async", "serve"]


def open_store(
    url: str | None = None, *, api_key: str | None = None, timeout: float = 10.0
) -> Store:
    """Open the synchronous store ``url`` names (see the module docstring)."""
    store: Store = _open(resolve_url(url), "sync", api_key=api_key, timeout=timeout)
    return store


def open_async_store(
    url: str | None = None, *, api_key: str | None = None, timeout: float = 10.0
) -> AsyncStore:
    """Open the asynchronous store ``url`` names (see the module docstring)."""
    store: AsyncStore = _open(resolve_url(url), "async", api_key=api_key, timeout=timeout)
    return store


def open_serving_store(
    url: str | None,
    *,
    timeout: float | None = None,
    background_checkpoint: bool = False,
    lock_timeout: float | None = None,
) -> Store | AsyncStore:
    """Open the store a server keeps its data (or its tokens) in.

    SQLite opens as the synchronous store (the server runs it in threads), PostgreSQL
    as the asyncio one; an HTTP URL is refused. ``None`` or ``""``: the default file
    (``BOTWIRE_URL`` is the clients' variable, not the server's).

    Args:
        timeout: seconds a PostgreSQL request waits for a connection; a server
            passes a short one, to answer 503 while the database is down.
        background_checkpoint: SQLite's WAL checkpoints in a background thread,
            so no request pays for one while every request in flight waits.
        lock_timeout: seconds a SQLite write waits for another process's lock
            before it fails with ``UnavailableError`` (the store's default if None).
    """
    url = url or "sqlite:///" + str(default_path())
    store: Store | AsyncStore = _open(
        url,
        "serve",
        timeout=timeout,
        background_checkpoint=background_checkpoint,
        lock_timeout=lock_timeout,
    )
    return store


def _open(
    url: str,
    mode: Mode,
    *,
    api_key: str | None = None,
    timeout: float | None = None,
    background_checkpoint: bool = False,
    lock_timeout: float | None = None,
) -> Any:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from botwire._sqlite import SQLiteStore

        path, params = _sqlite_path(url)
        options = _options(url, params)
        if background_checkpoint:
            options["background_checkpoint"] = True
        if lock_timeout is not None:
            options["lock_timeout"] = lock_timeout
        store = SQLiteStore(path, **options)
        if mode == "async":
            from botwire._store import ThreadedAsyncStore

            return ThreadedAsyncStore(store)
        return store
    if scheme in ("postgresql", "postgres"):
        _require_postgres()
        name = "PostgresStore" if mode == "sync" else "AsyncPostgresStore"
        kwargs = {"timeout": timeout} if mode == "serve" and timeout is not None else {}
        return _backend("botwire._postgres", name)(url, **kwargs)
    if scheme in ("http", "https") and mode != "serve":
        name = "HTTPStore" if mode == "sync" else "AsyncHTTPStore"
        return _backend("botwire._http", name)(url, api_key=api_key, timeout=timeout)
    if mode == "serve":
        raise ValidationError(
            f"a server keeps its data in sqlite:///path.db or postgresql://…, "
            f"not {redact(url)[:80]!r}"
        )
    raise ValidationError(_unknown_scheme(url))


def _backend(module: str, name: str) -> Any:
    """Import a store class on first use, so ``import botwire`` stays light."""
    import importlib

    return getattr(importlib.import_module(module), name)


def _require_postgres() -> None:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            'PostgreSQL needs psycopg; install it with: pip install "botwire[postgres]"'
        ) from exc


def _unknown_scheme(url: str) -> str:
    return (
        f"unsupported store URL {redact(url)[:80]!r}; use sqlite:///path.db, "
        "postgresql://user@host/db or http(s)://host:port"
    )
