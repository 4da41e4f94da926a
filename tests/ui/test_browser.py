"""The web UI in a real Chromium against a real ``botwire serve``, data written through Memory.

Screenshots of the main views are saved to ``build/ui-screenshots/``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from botwire import Memory
from tests.servers import ServerProcess
from tests.ui.conftest import ADMIN_TOKEN, SCREENSHOTS

pytest.importorskip("playwright")

from playwright.async_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.slow

HOSTILE_KEY = "<img src=x onerror=alert(1)>"
HOSTILE_VALUE = "<script>alert(2)</script><b onmouseover=alert(3)>bold</b>"
CHAT = [
    {"type": "system", "data": {"content": "You are terse.", "type": "system"}},
    {"type": "human", "data": {"content": "What is my style?", "type": "human"}},
    {"type": "ai", "data": {"content": "Concise.", "type": "ai", "tool_calls": []}},
]


@pytest.fixture(scope="module")
def seeded(open_server: ServerProcess) -> Iterator[ServerProcess]:
    """The open server with data written through Memory."""
    with Memory("browse", url=open_server.url) as memory:
        for start in range(0, 10_000, 2_500):
            memory.set_many({f"item-{i:05}": {"n": i} for i in range(start, start + 2_500)})
    with Memory("values", url=open_server.url) as memory:
        memory.set_many(
            {
                "object": {"tone": "concise", "nested": {"a": [1, 2]}},
                "number": 42.5,
                "true": True,
                "null": None,
                "plain": "plain text",
                "jsonish": '{"looks": "like json"}',
                "list": list(range(120)),
                "chat": CHAT,
                HOSTILE_KEY: HOSTILE_VALUE,
            }
        )
    yield open_server


async def open_page(browser: Any, url: str, **options: Any) -> tuple[Page, list[str]]:
    """A new page; JavaScript errors and dialogs are collected (and fail the tests)."""
    context = await browser.new_context(**options)
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    async def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(url)
    return page, problems


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def rows(page: Page) -> Any:
    return page.locator("#key-rows button.key")


async def test_browse_filter_and_page_through_10000_keys(browser: Any, seeded: Any) -> None:
    page, problems = await open_page(
        browser, f"{seeded.url}/ui", viewport={"width": 1400, "height": 900}
    )
    await expect(page.get_by_role("link", name="browse")).to_contain_text("10,000 keys")
    await shot(page, "namespaces")
    await page.get_by_role("link", name="browse").click()
    await expect(rows(page)).to_have_count(50)
    await expect(rows(page).first).to_have_text("item-00000")
    await expect(page.locator("#usage")).to_contain_text("10,000 keys")
    # version, updated time and TTL of each key are filled in
    await expect(page.locator("#key-rows tr").first.locator("td").nth(1)).to_have_text("1")
    await expect(page.locator("#key-rows tr").first.locator("td").nth(3)).to_have_text("none")
    await page.get_by_role("button", name="Next page").click()
    await expect(rows(page).first).to_have_text("item-00050")
    await page.get_by_role("button", name="Next page").click()
    await expect(rows(page).first).to_have_text("item-00100")
    await page.get_by_role("button", name="Previous page").click()
    await expect(rows(page).first).to_have_text("item-00050")
    # filter as you type, then keyboard only: down into the list, down, Enter opens
    await page.get_by_label("Filter keys").press_sequentially("item-0999")
    await expect(rows(page)).to_have_count(10)
    await expect(rows(page).first).to_have_text("item-09990")
    await expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    await page.get_by_label("Filter keys").press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(page.locator("#value-title")).to_have_text("item-09991")
    await expect(page.locator("#value .json")).to_contain_text('"n"')
    await expect(page.locator("#value .json")).to_contain_text("9991")
    await shot(page, "keys-and-value")
    assert problems == []


async def test_values_of_every_type(browser: Any, seeded: Any) -> None:
    page, problems = await open_page(browser, f"{seeded.url}/ui#ns=values&key=object")
    value = page.locator("#value-body")
    await expect(value.locator(".badge")).to_have_text("object")
    await expect(value).to_contain_text('"concise"')
    for key, badge, text in [
        ("number", "number", "42.5"),
        ("true", "boolean", "true"),
        ("null", "null", "null"),
    ]:
        await page.goto(f"{seeded.url}/ui#ns=values&key={key}")
        await expect(value.locator(".badge")).to_have_text(badge)
        await expect(value.locator(".json")).to_have_text(text)
    # a string is shown as a string; one that looks like JSON says so, and is not parsed
    await page.goto(f"{seeded.url}/ui#ns=values&key=plain")
    await expect(value.locator(".badge")).to_have_text("string")
    await expect(value.locator(".string-text")).to_have_text("plain text")
    await expect(value.locator(".string-note")).to_have_count(0)
    await expect(value.locator(".string-view")).to_have_text("string 10 charactersplain text")
    await page.goto(f"{seeded.url}/ui#ns=values&key=jsonish")
    await expect(value.locator(".badge")).to_have_text("string")
    await expect(value.locator(".string-text")).to_have_text('{"looks": "like json"}')
    await expect(value.locator(".string-note")).to_contain_text("looks like JSON")
    await expect(value.locator(".json")).to_have_count(0)
    await shot(page, "json-looking-string")
    # a list: newest last, the tail first, paging back
    await page.goto(f"{seeded.url}/ui#ns=values&key=list")
    items = value.locator(".list-items > li")
    await expect(items).to_have_count(50)
    await expect(items.last).to_contain_text("119")
    await expect(items.first).to_contain_text("70")
    await page.get_by_role("button", name="Show earlier items").click()
    await expect(items).to_have_count(100)
    await page.get_by_role("button", name="Show earlier items").click()
    await expect(items).to_have_count(120)
    await expect(page.get_by_role("button", name="Show earlier items")).to_be_hidden()
    # a LangChain chat history is a conversation
    await page.goto(f"{seeded.url}/ui#ns=values&key=chat")
    conversation = page.get_by_role("list", name="Conversation")
    await expect(conversation.locator(".msg")).to_have_count(3)
    await expect(conversation.locator(".msg-human")).to_contain_text("What is my style?")
    await expect(conversation.locator(".msg-ai")).to_contain_text("Concise.")
    await expect(value.locator(".badge")).to_have_text("chat history")
    await shot(page, "chat-history")
    assert problems == []


async def test_hostile_keys_and_values_render_as_text(browser: Any, seeded: Any) -> None:
    page, problems = await open_page(browser, f"{seeded.url}/ui#ns=values")
    key = page.get_by_role("button", name=HOSTILE_KEY)
    await expect(key).to_have_text(HOSTILE_KEY)
    await key.click()
    await expect(page.locator("#value-title")).to_have_text(HOSTILE_KEY)
    await expect(page.locator(".string-text")).to_have_text(HOSTILE_VALUE)
    assert await page.locator("img[src='x'], #value script, b[onmouseover]").count() == 0
    await page.locator(".string-text").hover()
    await page.wait_for_timeout(200)
    assert problems == []  # no alert() ever fired


async def test_edit_with_a_conflict_from_another_writer(browser: Any, open_server: Any) -> None:
    with Memory("edit", url=open_server.url) as memory:
        memory.set("profile", {"name": "Ada", "style": "wordy"})
        page, problems = await open_page(browser, f"{open_server.url}/ui#ns=edit&key=profile")
        # The If-Match conflict flow alone: with live updates on, the other writer's
        # change could reach the page before Save (the live tests below cover that).
        pause = page.get_by_label("Pause live updates")
        await pause.check()
        await expect(page.locator("#live-state")).to_have_text("Paused")
        await page.get_by_role("button", name="Edit").click()
        editor = page.get_by_label("Value (JSON; a string needs quotes)")
        await editor.fill('{"name": "Ada", "style": ')
        await expect(page.get_by_role("button", name="Save")).to_be_disabled()
        await expect(page.locator("#editor-error")).to_contain_text("Not valid JSON")
        await editor.fill('{"name": "Ada", "style": "concise"}')
        await expect(page.get_by_role("button", name="Save")).to_be_enabled()
        memory.set("profile", {"name": "Ada", "style": "formal"})  # another writer, meanwhile
        await page.get_by_role("button", name="Save").click()
        conflict = page.locator(".conflict")
        await expect(conflict).to_contain_text("Someone else changed this key")
        await expect(conflict.locator("[data-side=mine]")).to_contain_text('"concise"')
        await expect(conflict.locator("[data-side=theirs]")).to_contain_text('"formal"')
        await expect(conflict).to_contain_text("version 2")
        await shot(page, "conflict")
        await page.get_by_role("button", name="Keep mine").click()
        await expect(page.locator("[data-field=version]")).to_have_text("3")
        assert memory.get("profile") == {"name": "Ada", "style": "concise"}
        # take theirs: the other writer's version stays
        await page.get_by_role("button", name="Edit").click()
        await editor.fill('"mine"')
        memory.set("profile", "theirs")
        await page.get_by_role("button", name="Save").click()
        await page.get_by_role("button", name="Take theirs").click()
        await expect(page.locator(".string-text")).to_have_text("theirs")
        assert memory.get("profile") == "theirs"
        assert problems == []


async def test_delete_ttl_and_append(browser: Any, open_server: Any) -> None:
    with Memory("curate", url=open_server.url) as memory:
        memory.set("wrong-fact", "the moon is cheese")
        memory.append("log", "first")
        page, problems = await open_page(browser, f"{open_server.url}/ui#ns=curate&key=wrong-fact")
        await page.get_by_role("button", name="Delete").click()
        await page.get_by_role("button", name="Cancel").click()
        assert memory.get("wrong-fact") == "the moon is cheese"
        await page.get_by_role("button", name="Delete").click()
        await page.get_by_role("button", name="Confirm delete").click()
        await expect(page.locator("#value")).to_be_hidden()
        await expect(page.get_by_role("button", name="wrong-fact", exact=True)).to_have_count(0)
        assert memory.get("wrong-fact") is None
        await page.get_by_role("button", name="log", exact=True).click()
        await page.get_by_role("button", name="Set TTL").click()
        await page.get_by_label("Seconds until the key expires").fill("3600")
        await page.get_by_role("button", name="Save TTL").click()
        await expect(page.locator(".meta dd").nth(3)).to_have_text(
            re.compile(r"^(59m \d+s|1h 0m)$")
        )
        item = memory.get_item("log")
        assert item is not None and item.expires_at is not None
        await page.get_by_role("button", name="Set TTL").click()
        await page.get_by_role("button", name="Clear TTL").click()
        await expect(page.locator(".meta dd").nth(3)).to_have_text("none")
        await page.get_by_role("button", name="Append").click()
        await page.get_by_label("Item to append (JSON)").fill('{"said": "second"}')
        await page.get_by_role("button", name="Append item").click()
        await expect(page.locator(".list-items > li")).to_have_count(2)
        assert memory.get("log") == ["first", {"said": "second"}]
        assert problems == []


async def make_token(url: str, **scope: Any) -> str:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{url}/admin/tokens",
            json={"namespaces": ["team-*"], **scope},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


@pytest.fixture
async def team_data(token_server: ServerProcess) -> AsyncIterator[ServerProcess]:
    writer = await make_token(token_server.url, read=True, write=True)
    with Memory("team-notes", url=token_server.url, api_key=writer) as memory:
        memory.set("plan", {"ship": "friday"})
    yield token_server


async def test_tokens_login_and_a_read_only_token_sees_no_edit_controls(
    browser: Any, team_data: Any
) -> None:
    reader = await make_token(team_data.url, read=True, write=False)
    writer = await make_token(team_data.url, read=True, write=True)
    page, problems = await open_page(browser, f"{team_data.url}/ui#ns=team-notes&key=plan")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    await page.get_by_label("Token").fill("bw_000000000000_not-a-real-secret-at-all")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#login-error")).to_contain_text("not valid")
    await expect(page.get_by_label("Open namespace")).to_be_hidden()  # nothing but the login
    await shot(page, "login")
    await page.get_by_label("Token").fill(reader)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who")).to_contain_text("read on team-*")
    await expect(page.locator("#value .json")).to_contain_text('"friday"')
    await expect(page.locator("#value-body .read-only")).to_have_text(
        "Read-only: this token may not change keys."
    )
    for name in ("Edit", "Delete", "Set TTL", "Append", "Save"):
        await expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    await shot(page, "read-only")
    # the token travels in a header, never in a URL, and is kept in this tab only
    assert requests and not any(reader in url for url in requests)
    assert reader not in page.url
    assert await page.evaluate("sessionStorage.getItem('botwire.token')") == reader
    assert await page.context.cookies() == []
    # the server refuses a read-only token's write anyway
    async with httpx.AsyncClient() as client:
        refused = await client.put(
            f"{team_data.url}/memory/team-notes/plan",
            json={"value": 1},
            headers={"authorization": f"Bearer {reader}"},
        )
    assert refused.status_code == 403
    # a write token sees the controls
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Token").fill(writer)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="team-notes").click()
    await page.get_by_role("button", name="plan", exact=True).click()
    await expect(page.get_by_role("button", name="Edit")).to_be_visible()
    assert problems == []


async def test_narrow_screen_in_the_dark_theme(browser: Any, seeded: Any) -> None:
    page, problems = await open_page(
        browser,
        f"{seeded.url}/ui#ns=values&key=chat",
        viewport={"width": 390, "height": 844},
        color_scheme="dark",
    )
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 23, 27)"  # the dark theme follows the system
    await expect(page.get_by_role("list", name="Conversation").locator(".msg")).to_have_count(3)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await shot(page, "narrow")
    assert problems == []


async def test_export_a_prefix_and_a_namespace_as_json_lines(
    browser: Any, seeded: Any, tmp_path: Path
) -> None:
    page, problems = await open_page(browser, f"{seeded.url}/ui#ns=values")
    await expect(rows(page)).to_have_count(9)
    await page.get_by_label("Filter keys").fill("ch")
    await expect(rows(page)).to_have_count(1)
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export JSON Lines").click()
    lines = Path(await (await download.value).path()).read_text("utf-8").splitlines()
    [line] = [json.loads(text) for text in lines]
    assert line["key"] == "chat" and line["value"] == CHAT and line["version"] == 1
    assert set(line) == {"key", "value", "version", "created_at", "updated_at", "expires_at"}
    await page.get_by_label("Filter keys").fill("")
    await expect(rows(page)).to_have_count(9)
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export JSON Lines").click()
    exported = tmp_path / "values.jsonl"
    await (await download.value).save_as(exported)
    # `botwire import` reads it back, as it reads `botwire export`
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    botwire = str(Path(sys.executable).parent / "botwire")
    imported = subprocess.run(
        [botwire, "--url", copy, "import", "copy", "-i", str(exported)],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr
    with Memory("copy", url=copy) as memory, Memory("values", url=seeded.url) as original:
        assert memory.get_many(original.keys()) == original.get_many(original.keys())
    assert problems == []


async def test_keyboard_alone_finds_and_fixes_a_memory(browser: Any, open_server: Any) -> None:
    with Memory("keyboard", url=open_server.url) as memory:
        memory.set_many({"user-41:style": "terse", "user-42:style": "wordy", "user-43:x": 1})
        page, problems = await open_page(browser, f"{open_server.url}/ui#ns=keyboard")
        await expect(rows(page)).to_have_count(3)
        await page.get_by_label("Filter keys").focus()
        await page.keyboard.type("user-42")
        await expect(rows(page)).to_have_count(1)
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("Enter")
        await expect(page.locator(".string-text")).to_have_text("wordy")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Edit")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_label("Value (JSON; a string needs quotes)")).to_be_focused()
        await page.keyboard.press("ControlOrMeta+a")
        await page.keyboard.type('"concise"')
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Save")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator(".string-text")).to_have_text("concise")
        assert memory.get("user-42:style") == "concise"
        assert problems == []


async def test_first_view_of_100000_keys_is_under_a_second(browser: Any, tmp_path: Path) -> None:
    """The issue's budget, measured as ``benchmarks/bench_ui.py`` does (best of 3 here)."""
    from benchmarks.bench_ui import first_views, write_keys
    from tests.servers import start_server

    write_keys(tmp_path / "big.db", "big", 100_000)
    with start_server(f"sqlite:///{tmp_path / 'big.db'}", access_log=False) as server:
        timings = await first_views(browser, server.url, "big", 3)
    best = min(complete for _, complete in timings)
    assert best < 1000, f"first view of 100,000 keys took {timings} ms"


async def test_the_admin_token_sees_every_namespace_and_no_data(
    browser: Any, team_data: Any
) -> None:
    page, problems = await open_page(browser, f"{team_data.url}/ui")
    await page.get_by_label("Token").fill(ADMIN_TOKEN)
    await page.get_by_label("Token").press("Enter")
    await expect(page.locator("#who")).to_contain_text("admin token")
    await expect(page.get_by_role("link", name="team-notes")).to_contain_text("1 key")
    await page.get_by_role("link", name="team-notes").click()
    await expect(page.locator("#usage")).to_have_text(
        "This token may not read this namespace's keys."
    )
    await expect(rows(page)).to_have_count(0)
    assert problems == []


# -- live updates (the change feed) ------------------------------------------------------


async def live(page: Page) -> None:
    """Wait until the page follows the namespace's change feed."""
    await expect(page.locator("#live-state")).to_have_text("Live")


async def test_live_updates_from_another_writer_and_the_pause_toggle(
    browser: Any, open_server: Any
) -> None:
    with Memory("live", url=open_server.url) as memory:
        memory.set_many({"fact": "old", "other": 1, "stale": 2})
        page, problems = await open_page(browser, f"{open_server.url}/ui#ns=live&key=fact")
        await expect(rows(page)).to_have_count(3)
        await expect(page.locator(".string-text")).to_have_text("old")
        await live(page)
        # another client writes: each change is on the page within a second
        memory.set("fresh", {"new": True})
        await expect(page.get_by_role("button", name="fresh", exact=True)).to_be_visible(
            timeout=1000
        )
        memory.set("fact", "new")
        await expect(page.locator(".string-text")).to_have_text("new", timeout=1000)
        await expect(page.locator("[data-field=version]")).to_have_text("2")
        fact_row = page.locator("#key-rows tr[data-key=fact]")
        await expect(fact_row.locator("td").nth(1)).to_have_text("2", timeout=1000)
        memory.delete("stale")
        await expect(page.get_by_role("button", name="stale", exact=True)).to_have_count(
            0, timeout=1000
        )
        await expect(page.locator("#usage")).to_contain_text("3 keys", timeout=1000)
        await shot(page, "live")
        # pause (keyboard alone): a write does not appear
        pause = page.get_by_label("Pause live updates")
        await pause.focus()
        await page.keyboard.press("Space")
        await expect(pause).to_be_checked()
        await expect(page.locator("#live-state")).to_have_text("Paused")
        memory.set("while-paused", 1)
        memory.set("fact", "newer")
        await page.wait_for_timeout(800)
        await expect(page.get_by_role("button", name="while-paused")).to_have_count(0)
        await expect(page.locator(".string-text")).to_have_text("new")
        # resume: it catches up from the last change it saw
        await page.keyboard.press("Space")
        await expect(pause).not_to_be_checked()
        await expect(page.get_by_role("button", name="while-paused")).to_be_visible(timeout=1000)
        await expect(page.locator(".string-text")).to_have_text("newer", timeout=1000)
        await live(page)
        # an unsaved edit is kept: a notice says the key changed, Save shows both versions
        await page.get_by_role("button", name="Edit").click()
        editor = page.get_by_label("Value (JSON; a string needs quotes)")
        await editor.fill('"mine"')
        memory.set("fact", "theirs")
        await expect(page.locator("#live-notice")).to_contain_text(
            "changed (version 4) while you were editing", timeout=1000
        )
        await expect(editor).to_have_value('"mine"')
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator(".conflict [data-side=theirs]")).to_contain_text('"theirs"')
        await page.get_by_role("button", name="Keep mine").click()
        await expect(page.locator(".string-text")).to_have_text("mine")
        assert memory.get("fact") == "mine"
        # the open key deleted by someone else
        memory.delete("fact")
        await expect(page.locator("#value-body")).to_contain_text(
            "This key does not exist.", timeout=1000
        )
        assert problems == []


async def test_live_updates_with_a_read_only_token(browser: Any, team_data: Any) -> None:
    reader = await make_token(team_data.url, read=True, write=False)
    writer = await make_token(team_data.url, read=True, write=True)
    page, problems = await open_page(browser, f"{team_data.url}/ui#ns=team-notes&key=plan")
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    await page.get_by_label("Token").fill(reader)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#value .json")).to_contain_text('"friday"')
    await live(page)
    with Memory("team-notes", url=team_data.url, api_key=writer) as memory:
        memory.set("plan", {"ship": "monday"})
        await expect(page.locator("#value .json")).to_contain_text('"monday"', timeout=1000)
        memory.set("fresh", 1)
        await expect(page.get_by_role("button", name="fresh", exact=True)).to_be_visible(
            timeout=1000
        )
        memory.delete("fresh")
    # the feed is read with the token as a bearer header, never in a URL
    feed = [r for r in requests if r.url.endswith("/memory/team-notes/changes")]
    assert feed, [r.url for r in requests]
    assert not any(reader in r.url for r in requests)
    for request in feed:
        assert (await request.all_headers())["authorization"] == f"Bearer {reader}"
    assert problems == []


async def test_without_a_change_feed_the_page_stays_as_it_was(browser: Any, seeded: Any) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await page.route(
        re.compile(r".*/changes$"),
        lambda route: route.fulfill(
            status=404, content_type="application/json", body='{"code":"not_found"}'
        ),
    )
    await page.goto(f"{seeded.url}/ui#ns=values&key=plain")
    await expect(page.locator(".string-text")).to_have_text("plain text")
    await expect(page.locator("#live-state")).to_have_text("No live updates here: press Reload")
    await expect(page.get_by_role("button", name="Reload")).to_be_visible()
    assert problems == []


async def test_live_updates_survive_a_dropped_stream_and_an_expired_position(
    browser: Any, open_server: Any
) -> None:
    with Memory("resume", url=open_server.url) as memory:
        memory.set("a", 1)
        context = await browser.new_context()
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        streams: list[dict[str, str]] = []

        async def feed(route: Any) -> None:
            headers = await route.request.all_headers()
            if "text/event-stream" not in headers.get("accept", ""):
                await route.continue_()
                return
            streams.append(headers)
            if len(streams) == 1:  # the network drops the first stream
                await route.abort("connectionreset")
            elif len(streams) == 2:  # the feed forgot this position: read again, go on
                memory.set("written-meanwhile", 1)
                await route.fulfill(
                    status=410,
                    content_type="application/json",
                    body='{"code":"changes_expired","detail":"gone"}',
                )
            else:
                await route.continue_()

        await page.route(re.compile(r".*/changes$"), feed)
        await page.goto(f"{open_server.url}/ui#ns=resume")
        await live(page)
        assert len(streams) == 3
        # every attempt resumed from a position, as a header
        assert all(s["last-event-id"].isdigit() for s in streams)
        assert streams[0]["last-event-id"] == streams[1]["last-event-id"]
        # after the 410 the keys were read again: the key written meanwhile is there
        await expect(page.get_by_role("button", name="written-meanwhile")).to_be_visible()
        memory.set("after", 1)
        await expect(page.get_by_role("button", name="after", exact=True)).to_be_visible(
            timeout=1000
        )
        assert problems == []
