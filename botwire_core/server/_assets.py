"""The Swagger UI page and its files, served by the server itself (no CDN).

The JavaScript and CSS come from the ``fastapi-offline`` package (in the
``server`` extra), read from its ``static`` folder once and kept in memory, so
``/docs`` works on a machine without internet access.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from botwire._errors import NotFoundError

__all__ = ["read", "swagger_page"]

_FILES = {
    "/docs/swagger-ui-bundle.js": ("swagger-ui-bundle.js", b"text/javascript; charset=utf-8"),
    "/docs/swagger-ui.css": ("swagger-ui.css", b"text/css; charset=utf-8"),
}


@functools.cache
def _static() -> Path | None:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if folder.is_dir() else None


@functools.cache
def read(path: str) -> tuple[bytes, bytes]:
    """The bytes and content type of one Swagger UI file.

    Raises:
        NotFoundError: the assets package is not installed.
    """
    name, media_type = _FILES[path]
    folder = _static()
    if folder is None:
        raise NotFoundError('the Swagger UI files are not installed: pip install "botwire[server]"')
    return (folder / name).read_bytes(), media_type


@functools.cache
def swagger_page() -> bytes:
    """The ``/docs`` page, loading the files above from this server."""
    from fastapi.openapi.docs import get_swagger_ui_html

    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="BotWire - API",
        swagger_js_url="/docs/swagger-ui-bundle.js",
        swagger_css_url="/docs/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
    return bytes(page.body)
