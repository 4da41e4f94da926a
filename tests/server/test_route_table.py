"""The route table and the OpenAPI document name the same routes; docs are served locally."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from botwire import ValidationError
from botwire._tokens import scope_from_request
from botwire.server import Settings, create_app
from botwire.server._app import Server


def test_every_route_is_in_openapi_and_every_operation_is_a_route(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, Server)
    schema = client.get("/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    table = {(r.method, r.template) for r in app.table.routes if r.in_schema}
    assert documented == table
    assert ("POST", "/admin/tokens") in table and ("DELETE", "/admin/tokens/{token_id}") in table
    served_but_undocumented = {r.template for r in app.table.routes if not r.in_schema}
    ui = {t for t in served_but_undocumented if t == "/ui" or t.startswith("/ui/")}  # web UI files
    assert served_but_undocumented - ui <= {
        "/openapi.json",
        "/docs",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/mcp",  # MCP's streamable HTTP: JSON-RPC, described by MCP itself, not OpenAPI
    }


def test_docs_page_and_its_files_come_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "cdn" not in page.text.lower()
    assert 'src="/docs/swagger-ui-bundle.js"' in page.text
    script = client.get("/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/docs/swagger-ui.css").status_code == 200


def test_parser_field_sets_come_from_the_declared_models() -> None:
    from botwire.server import _shapes

    assert _shapes.PUT_FIELDS == {"value", "ttl"}
    assert _shapes.OP_FIELDS["append"] == {"op", "key", "items", "id"}
    assert "16" in _shapes.IF_MATCH.schema["pattern"]  # what _wire.parse_etag reads
    with pytest.raises(ValidationError, match="unknown field"):  # the token parser agrees
        scope_from_request({**dict.fromkeys(_shapes.TOKEN_FIELDS), "extra": 1})
    example = {"namespaces": ["a"], "read": True, "write": False, "expires": None, "name": None}
    example["writes_per_day"] = None
    assert set(example) == _shapes.TOKEN_FIELDS
    assert scope_from_request(example)["namespaces"] == ["a"]


def test_only_settings_read_the_environment() -> None:
    from pathlib import Path

    import botwire.server

    folder = Path(botwire.server.__file__).parent
    readers = sorted(p.name for p in folder.glob("*.py") if "os.environ" in p.read_text())
    assert readers == [], readers  # Settings (pydantic-settings) is the one reader
    app = create_app(settings=Settings(db="sqlite:///:memory:", body_timeout=2.5))
    assert app.settings.body_timeout == 2.5


def test_head_unknown_routes_and_wrong_methods(client: TestClient) -> None:
    client.put("/memory/ns/k", json={"value": 1})
    head = client.head("/memory/ns/k")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == '"1"'
    unknown = client.get("/nowhere")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found" and unknown.json()["route"] is None
    missing = client.get("/memory/ns/missing").json()
    assert missing["code"] == "not_found" and "route" not in missing  # a missing key
    wrong = client.patch("/memory/ns/k", json={})
    assert wrong.status_code == 405 and wrong.headers["allow"] == "DELETE, GET, HEAD, POST, PUT"
