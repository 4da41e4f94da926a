"""Fixtures for the web UI tests: Debian's Chromium driven by Playwright, real servers.

Playwright (a dev dependency) brings its driver but no browser, and cannot download
one here: the browser is the distribution's ``chromium`` package, which
``scripts/test`` installs when it is missing (``scripts/_chromium.sh``). Without it
the browser tests are skipped, saying so.

The tests use Playwright's async API inside pytest-asyncio tests, one browser per
test: its sync API keeps an event loop running in the main thread, which breaks
every asyncio test that runs after it in the same session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from tests.servers import ServerProcess, start_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "ui-screenshots"


def chromium_path() -> str | None:
    """Debian's Chromium (the wrapper script, or the binary behind it)."""
    for candidate in (shutil.which("chromium"), "/usr/lib/chromium/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium (skipped, with the reason, when none can be had)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("the browser tests need playwright (pip install playwright; scripts/test does)")
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "the browser tests need Debian's chromium package (apt-get install chromium; "
            "scripts/test installs it when run as root with apt-get)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``botwire serve`` on 127.0.0.1 without tokens (the UI is on by default)."""
    folder = tmp_path_factory.mktemp("ui-open")
    server = start_server(f"sqlite:///{folder / 'server.db'}", access_log=False)
    yield server
    server.stop()


ADMIN_TOKEN = "ui-tests-admin-token-0123456789"


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``botwire serve`` with tokens on."""
    folder = tmp_path_factory.mktemp("ui-tokens")
    server = start_server(
        f"sqlite:///{folder / 'server.db'}",
        access_log=False,
        env={"BOTWIRE_ADMIN_TOKEN": ADMIN_TOKEN},
    )
    yield server
    server.stop()
