"""The BotWire reference server (``pip install "botwire[server]"``).

Run it with ``botwire serve`` (see ``docs/server.md``), or build the ASGI app
yourself::

    from botwire.server import Settings, create_app

    app = create_app(settings=Settings(db="sqlite:////srv/botwire.db"))

For several worker processes, point an ASGI server at the factory:
``uvicorn --factory botwire.server:app_from_env --workers 4`` (settings come from
``BOTWIRE_*`` variables).

Importing this package does not import FastAPI; :func:`create_app` does, and
raises :class:`~botwire.MissingDependencyError` naming the ``server`` extra when it
is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botwire._store import AsyncStore, Store
    from botwire.server._app import Authorize, Server
    from botwire.server._settings import Settings

__all__ = ["Settings", "app_from_env", "create_app"]


def _require_server() -> None:
    from botwire._errors import require_extra

    for module in ("fastapi", "uvicorn", "prometheus_client", "pydantic_settings"):
        require_extra(module, "server")


def __getattr__(name: str) -> Any:
    # Settings needs pydantic-settings (the server extra): imported on first use, so
    # `import botwire.server` (the CLI does) works without the extra.
    if name == "Settings":
        _require_server()
        from botwire.server._settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_app(
    store: Store | AsyncStore | None = None,
    settings: Settings | None = None,
    *,
    authorize: Authorize | None = None,
) -> Server:
    """Build the BotWire server as an ASGI app (see :func:`botwire.server._app.create_app`).

    Example:
        >>> from botwire import SQLiteStore
        >>> app = create_app(SQLiteStore("/tmp/server.db"))

    Args:
        store: the store to serve; ``None`` opens ``settings.db`` (default: the
            embedded SQLite file) on first use and closes it at shutdown.
        settings: limits and options (default :class:`Settings` ()).
        authorize: optional access check run before every memory operation.

    Raises:
        MissingDependencyError: FastAPI, uvicorn or prometheus-client is missing.
    """
    _require_server()
    from botwire.server._app import create_app as build

    return build(store, settings, authorize=authorize)


def app_from_env() -> Any:
    """ASGI app factory for ``uvicorn --factory``: settings from ``BOTWIRE_*`` variables.

    Tokens are required when ``BOTWIRE_ADMIN_TOKEN`` is set (uvicorn picks the
    host here, so the loopback rule of ``botwire serve`` is the operator's to keep).
    """
    _require_server()
    from botwire.server._settings import Settings

    return create_app(settings=Settings())
