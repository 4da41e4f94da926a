"""Pick a store from a URL (DESIGN.md §3).

* no URL and no ``BOTWIRE_URL``: the embedded SQLite file :func:`default_path`;
* ``sqlite:///relative.db`` / ``sqlite:////absolute.db`` (SQLAlchemy's convention);
* ``postgresql://…`` (extra ``postgres``);
* ``http://…`` / ``https://…``: a BotWire server.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from botwire._errors import MissingDependencyError, ValidationError

if TYPE_CHECKING:
    from botwire._store import AsyncStore, Store

__all__ = ["default_path", "open_async_store", "open_store", "resolve_url"]


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


def _options(params: dict[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "synchronous" in params:
        options["synchronous"] = params["synchronous"]
    return options


def open_store(
    url: str | None = None, *, api_key: str | None = None, timeout: float = 10.0
) -> Store:
    """Open the synchronous store ``url`` names (see the module docstring)."""
    url = resolve_url(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from botwire._sqlite import SQLiteStore

        path, params = _sqlite_path(url)
        return SQLiteStore(path, **_options(params))
    store: Store
    if scheme in ("postgresql", "postgres"):
        _require_postgres()
        store = _backend("botwire._postgres", "PostgresStore")(url)
        return store
    if scheme in ("http", "https"):
        store = _backend("botwire._http", "HTTPStore")(url, api_key=api_key, timeout=timeout)
        return store
    raise ValidationError(_unknown_scheme(url))


def open_async_store(
    url: str | None = None, *, api_key: str | None = None, timeout: float = 10.0
) -> AsyncStore:
    """Open the asynchronous store ``url`` names (see the module docstring)."""
    url = resolve_url(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        from botwire._sqlite import SQLiteStore
        from botwire._store import ThreadedAsyncStore

        path, params = _sqlite_path(url)
        return ThreadedAsyncStore(SQLiteStore(path, **_options(params)))
    store: AsyncStore
    if scheme in ("postgresql", "postgres"):
        _require_postgres()
        store = _backend("botwire._postgres", "AsyncPostgresStore")(url)
        return store
    if scheme in ("http", "https"):
        store = _backend("botwire._http", "AsyncHTTPStore")(url, api_key=api_key, timeout=timeout)
        return store
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
    shown = url.split("@")[-1] if "@" in url else url  # never echo a password
    return (
        f"unsupported store URL {shown[:80]!r}; use sqlite:///path.db, "
        "postgresql://user@host/db or http(s)://host:port"
    )
