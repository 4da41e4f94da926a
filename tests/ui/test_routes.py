"""HTTP-level tests of the web UI's routes: ``/ui`` and its files, and ``GET /namespaces``."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from starlette.testclient import TestClient  # noqa: E402

from botwire import SQLiteStore  # noqa: E402
from botwire.server import Settings, create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "server.db")
    yield opened
    opened.close()


def client_for(store: SQLiteStore, **settings: Any) -> TestClient:
    return TestClient(create_app(store, Settings(**settings)), raise_server_exceptions=False)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def ui_files() -> dict[str, str]:
    from botwire.server._ui import files

    return files()


# -- /ui and its files ---------------------------------------------------------------


def test_the_page_and_every_file_it_loads_come_from_this_server(store: SQLiteStore) -> None:
    with client_for(store) as client:
        page = client.get("/ui")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        loaded = re.findall(r'(?:src|href)="(/[^"]*)"', page.text)
        assert "/ui/app.js" in loaded and "/ui/style.css" in loaded
        for path in ui_files():
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "'unsafe-inline'" not in answer.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            assert answer.headers["x-content-type-options"] == "nosniff"
            # no CDN, no third-party request: nothing names another origin
            assert not re.search(r"https?://", answer.text), path
        for path in loaded:
            assert client.get(path).status_code == 200, path
        imported = {
            f"/ui/{m}"
            for p in ui_files()
            for m in re.findall(r'from "\./([\w.]+)"', client.get(p).text)
        }
        assert imported and imported <= set(ui_files())


def test_no_asset_parses_data_as_html() -> None:
    from botwire.server._ui import FOLDER

    for script in FOLDER.glob("*.js"):
        text = script.read_text("utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{script.name} uses {sink}"
        assert "localStorage" not in text and "document.cookie" not in text, script.name


def test_page_weight_is_small() -> None:
    from botwire.server._ui import FOLDER

    total = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    assert total < 64 * 1024, f"the UI weighs {total} bytes"


def test_the_ui_needs_no_token_but_its_data_does(store: SQLiteStore) -> None:
    admin = "adm-" + secrets.token_urlsafe(24)
    with client_for(store, admin_token=admin) as client:
        assert client.get("/ui").status_code == 200
        assert client.get("/ui/api.js").status_code == 200
        assert client.get("/namespaces").status_code == 401


@pytest.mark.parametrize(
    ("settings", "served"),
    [
        ({}, True),  # loopback, open
        ({"ui": False}, False),
        ({"host": "0.0.0.0", "insecure_open": True}, False),  # open on a network: off
        ({"host": "0.0.0.0", "insecure_open": True, "ui": True}, True),
        ({"host": "0.0.0.0", "admin_token": "x" * 20}, True),  # behind tokens
    ],
)
def test_ui_setting(store: SQLiteStore, settings: dict[str, Any], served: bool) -> None:
    assert Settings(**settings).ui_enabled is served
    with client_for(store, **settings) as client:
        assert (client.get("/ui").status_code == 200) is served
        assert (client.get("/ui/app.js").status_code == 200) is served


def test_ui_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTWIRE_UI", "false")
    assert Settings.from_env().ui_enabled is False
    assert Settings.from_env(ui=True).ui_enabled is True


def test_serve_has_the_ui_flag() -> None:
    from click.testing import CliRunner

    from botwire.server.cli import serve

    shown = CliRunner().invoke(serve, ["--help"]).output
    assert "--ui / --no-ui" in shown and "BOTWIRE_UI" in shown


# -- GET /namespaces ---------------------------------------------------------------------


def fill(store: SQLiteStore, spec: dict[str, int]) -> None:
    for namespace, count in spec.items():
        for i in range(count):
            store.set(namespace, f"k{i}", '"v"')


def test_an_open_server_lists_every_namespace_with_usage(store: SQLiteStore) -> None:
    fill(store, {"notes": 3, "chats": 1, "user-42": 2})
    with client_for(store, writes_per_day=1000) as client:
        client.put("/memory/notes/extra", json={"value": [1, 2]})
        body = client.get("/namespaces").json()
    names = [n["namespace"] for n in body["namespaces"]]
    assert names == ["chats", "notes", "user-42"] and body["count"] == 3
    notes = body["namespaces"][1]
    assert notes["keys"] == 4 and notes["bytes"] > 0 and notes["writes_today"] == 1
    assert body["limits"]["writes_per_day"] == 1000 and body["next_cursor"] is None
    assert body["access"] == {
        "token": None,
        "read": True,
        "write": True,
        "patterns": ["*"],
        "expires_at": None,
    }


def test_namespaces_page_with_a_cursor_and_filter_by_prefix(store: SQLiteStore) -> None:
    fill(store, {f"ns-{i:02}": 1 for i in range(7)} | {"other": 1})
    with client_for(store) as client:
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "3", "prefix": "ns-"} | ({"cursor": cursor} if cursor else {})
            body = client.get("/namespaces", params=params).json()
            seen += [n["namespace"] for n in body["namespaces"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"ns-{i:02}" for i in range(7)]
        assert client.get("/namespaces", params={"cursor": "!!"}).status_code == 400
        assert client.get("/namespaces", params={"limit": "1001"}).status_code == 400
        assert client.get("/namespaces", params={"limit": "0"}).json()["namespaces"] == []


def test_tokens_see_the_namespaces_their_patterns_cover(store: SQLiteStore) -> None:
    fill(store, {"team-a-1": 1, "team-a-2": 2, "team-b": 1})
    admin = "adm-" + secrets.token_urlsafe(24)
    with client_for(store, admin_token=admin) as client:
        scope = {"namespaces": ["team-a-*"], "read": True, "write": False}
        made = client.post("/admin/tokens", json=scope, headers=bearer(admin)).json()
        scoped = client.get("/namespaces", headers=bearer(made["token"])).json()
        assert [n["namespace"] for n in scoped["namespaces"]] == ["team-a-1", "team-a-2"]
        assert scoped["access"] == {
            "token": made["id"],
            "read": True,
            "write": False,
            "patterns": ["team-a-*"],
            "expires_at": None,
        }
        # the admin token sees every namespace (never the server's own) and no data
        every = client.get("/namespaces", headers=bearer(admin)).json()
        assert [n["namespace"] for n in every["namespaces"]] == ["team-a-1", "team-a-2", "team-b"]
        assert every["access"]["token"] == "admin" and not every["access"]["read"]
        assert client.get("/memory/team-b", headers=bearer(admin)).status_code == 403
        assert client.get("/namespaces", headers=bearer("bw_000000000000_nope")).status_code == 401


def test_an_authorize_hook_decides_what_is_listed(store: SQLiteStore) -> None:
    from botwire import PermissionDeniedError

    fill(store, {"mine": 1, "theirs": 1})

    async def only_mine(request: Any, namespace: str, access: str) -> None:
        if namespace != "mine":
            raise PermissionDeniedError("not yours")

    app = create_app(store, Settings(), authorize=only_mine)
    with TestClient(app) as client:
        assert [n["namespace"] for n in client.get("/namespaces").json()["namespaces"]] == ["mine"]


@pytest.mark.postgres
def test_namespaces_on_postgresql() -> None:
    from tests.conftest import postgres_url

    url = postgres_url()
    pytest.importorskip("psycopg")
    prefix = f"ui-{uuid.uuid4().hex[:12]}-"
    with TestClient(create_app(settings=Settings(db=url))) as client:
        for name, count in (("a", 2), ("b", 1)):
            for i in range(count):
                assert client.put(f"/memory/{prefix}{name}/k{i}", json={"value": i}).is_success
        body = client.get("/namespaces", params={"prefix": prefix, "limit": "1"}).json()
        assert [(n["namespace"], n["keys"]) for n in body["namespaces"]] == [(f"{prefix}a", 2)]
        rest = client.get(
            "/namespaces", params={"prefix": prefix, "cursor": body["next_cursor"]}
        ).json()
        assert [n["namespace"] for n in rest["namespaces"]] == [f"{prefix}b"]
        for name in ("a", "b"):
            client.post(f"/memory/{prefix}{name}", json={"ops": [
                {"op": "delete", "key": f"k{i}"} for i in range(2)
            ]})  # fmt: skip


def test_the_namespaces_route_is_in_openapi(store: SQLiteStore) -> None:
    with client_for(store) as client:
        schema = client.get("/openapi.json").json()
    op = schema["paths"]["/namespaces"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"prefix", "limit", "cursor"}
    assert "NamespacesAnswer" in schema["components"]["schemas"]
    assert not any(path.startswith("/ui") for path in schema["paths"])


# -- the wheel -----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_ui_files_are_in_the_built_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("botwire-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in set(ui_files().values()):
        assert f"botwire/server/ui/{name}" in names, name


# -- docs/ui.md ----------------------------------------------------------------------------


def test_docs_name_the_controls_the_page_has_and_its_weight() -> None:
    from botwire.server._ui import FOLDER

    doc = (ROOT / "docs" / "ui.md").read_text("utf-8")
    assets = "".join(p.read_text("utf-8") for p in FOLDER.iterdir())
    for name in re.findall(r'"([A-Z][a-z]+(?: [a-z]+)*)"', doc):
        if name in ("Token", "Filter keys") or name.split()[0] in (
            "Edit", "Save", "Delete", "Append", "Set", "Keep", "Take", "Show", "Next",
            "Previous", "Open", "Sign", "Reload",
        ):  # fmt: skip
            assert f'"{name}"' in assets or f">{name}<" in assets, name
    total = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    stated = int(re.search(r"about (\d+) KB", doc).group(1))  # type: ignore[union-attr]
    assert abs(total / 1000 - stated) <= 3, f"docs/ui.md says {stated} KB; it is {total} bytes"
    assert (ROOT / "docs" / "images" / "ui.png").is_file()
