"""The web UI (``/ui``): static files shipped in the wheel, served by the server itself.

The page is plain HTML, CSS and ES modules (``botwire/server/ui/``), with no build
step and no third-party request: it is a client of the same JSON routes as every
other client, sending the token as ``Authorization: Bearer`` (kept in
``sessionStorage``, never in a URL or a cookie). The files hold no data, so they
are served without a token; every data request the page makes needs one where
tokens are on.

Every answer carries a Content-Security-Policy that allows scripts, styles and
requests from this origin only (no inline script) and no framing.
"""

from __future__ import annotations

import functools
from pathlib import Path

from botwire.server import _shapes
from botwire.server._app import Answer, Call
from botwire.server._routes import Route

__all__ = ["CONTENT_SECURITY_POLICY", "FOLDER", "UI_ROUTES", "files"]

FOLDER = Path(__file__).parent / "ui"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
}

_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    # small files: always revalidate, so an upgraded server never runs an old script
    (b"cache-control", b"no-cache"),
]


def files() -> dict[str, str]:
    """The UI's paths and the file each serves (``/ui`` is ``index.html``)."""
    served = {"/ui": "index.html", "/ui/": "index.html"}
    for path in sorted(FOLDER.iterdir()):
        if path.is_file() and path.suffix in _TYPES and path.name != "index.html":
            served[f"/ui/{path.name}"] = path.name
    return served


@functools.cache
def _read(name: str) -> tuple[bytes, bytes]:
    path = FOLDER / name
    return path.read_bytes(), _TYPES[path.suffix]


async def ui_file(call: Call) -> Answer:
    """A file of the web UI, from the installed package."""
    body, media_type = _read(files()[call.match.route.template])
    return Answer(200, body, _HEADERS, media_type)


UI_ROUTES: list[Route] = [
    Route(
        "GET",
        path,
        "ui" if name == "index.html" else f"ui_{Path(name).stem}_{Path(name).suffix[1:]}",
        ui_file,
        "open",
        _shapes.Shape("Web UI", "ui"),
        in_schema=False,
    )
    for path, name in files().items()
]
"""``/ui`` and its files: open (they hold no data), not in the OpenAPI document."""
