"""The wire protocol of DESIGN.md §5: routes, JSON shapes, statuses, ETags, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.server.conftest import make_client

JSON = {"content-type": "application/json"}

RECORD_FIELDS = {"namespace", "key", "value", "version", "created_at", "updated_at", "expires_at"}


def error(response: Any, status: int, code: str) -> str:
    """Assert an error answer's status, JSON shape and code; return its sentence."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    return str(body["detail"])


def test_put_get_delete_shapes(client: TestClient) -> None:
    put = client.put("/memory/notes/user-42:style", json={"value": {"tone": "concise"}})
    assert put.status_code == 200
    assert put.json() == {
        "namespace": "notes",
        "key": "user-42:style",
        "stored": True,
        "version": 1,
        "bytes": len('{"tone":"concise"}'),
    }
    assert put.headers["etag"] == '"1"'

    got = client.get("/memory/notes/user-42:style")
    assert got.status_code == 200
    body = got.json()
    assert set(body) == RECORD_FIELDS
    assert body["value"] == {"tone": "concise"}
    assert body["version"] == 1 and body["expires_at"] is None
    assert body["created_at"] == body["updated_at"]
    assert got.headers["etag"] == '"1"'

    deleted = client.delete("/memory/notes/user-42:style")
    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": True, "namespace": "notes", "key": "user-42:style"}
    error(client.get("/memory/notes/user-42:style"), 404, "not_found")
    error(client.delete("/memory/notes/user-42:style"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/memory/ns/a%2Fb", "a/b"),
        ("/memory/ns/a/b", "a/b"),  # the original client sends keys unencoded
        ("/memory/ns/%C3%A9%3F%23", "é?#"),
        ("/memory/ns/a%252Fb", "a%2Fb"),
        ("/memory/ns/%2E%2E", ".."),
        ("/memory/ns/with%20space", "with space"),
    ],
)
def test_keys_are_percent_decoded_once(client: TestClient, path: str, key: str) -> None:
    assert client.put(path, json={"value": key}).json()["key"] == key
    assert client.get("/memory/ns").json()["keys"] == [key]
    assert client.get(path).json()["value"] == key


def test_ttl_is_reported(client: TestClient) -> None:
    client.put("/memory/ns/k", json={"value": 1, "ttl": 60})
    body = client.get("/memory/ns/k").json()
    assert body["expires_at"] == pytest.approx(body["updated_at"] + 60, abs=1)


def test_if_match_and_if_none_match(client: TestClient) -> None:
    assert (
        client.put("/memory/ns/k", json={"value": 1}, headers={"If-None-Match": "*"}).json()[
            "version"
        ]
        == 1
    )
    refused = client.put("/memory/ns/k", json={"value": 2}, headers={"If-None-Match": "*"})
    error(refused, 412, "version_conflict")
    assert refused.json()["current_version"] == 1
    assert refused.headers["etag"] == '"1"'

    stale = client.put("/memory/ns/k", json={"value": 2}, headers={"If-Match": '"7"'})
    assert "expected version 7" in error(stale, 412, "version_conflict")
    ok = client.put("/memory/ns/k", json={"value": 2}, headers={"If-Match": '"1"'})
    assert ok.headers["etag"] == '"2"'
    assert client.get("/memory/ns/k").json()["value"] == 2

    not_modified = client.get("/memory/ns/k", headers={"If-None-Match": '"2"'})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert client.get("/memory/ns/k", headers={"If-None-Match": '"1"'}).status_code == 200

    for headers in ({"If-Match": "*"}, {"If-Match": "abc"}, {"If-None-Match": '"1"'}):
        error(
            client.put("/memory/ns/k", json={"value": 3}, headers=headers), 400, "invalid_request"
        )


def test_append_and_tail(client: TestClient) -> None:
    first = client.post("/memory/ns/chat", json={"append": [{"role": "user"}, "hi"]})
    assert first.json() == {"version": 1, "length": 2}
    assert client.post("/memory/ns/chat", json={"append": [3], "id": "r1"}).json() == {
        "version": 2,
        "length": 3,
    }
    assert client.post("/memory/ns/chat", json={"append": [3], "id": "r1"}).json()["length"] == 3
    assert client.get("/memory/ns/chat?last=2").json()["value"] == ["hi", 3]
    assert client.get("/memory/ns/chat").json()["value"] == [{"role": "user"}, "hi", 3]
    error(client.get("/memory/ns/missing?last=2"), 404, "not_found")

    client.put("/memory/ns/text", json={"value": "not a list"})
    error(client.post("/memory/ns/text", json={"append": [1]}), 409, "not_a_list")
    error(client.get("/memory/ns/text?last=1"), 409, "not_a_list")


def test_listing_pages_with_cursor(client: TestClient) -> None:
    keys = [f"k{i:02d}" for i in range(7)] + ["other"]
    for key in keys:
        client.put(f"/memory/ns/{key}", json={"value": 0})
    everything = client.get("/memory/ns").json()
    assert everything == {"namespace": "ns", "count": 8, "keys": sorted(keys), "next_cursor": None}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"prefix": "k", "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = client.get("/memory/ns", params=params).json()
        assert page["count"] == len(page["keys"]) <= 3
        seen += page["keys"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == keys[:7]
    assert client.get("/memory/ns?limit=0").json()["keys"] == []
    assert client.get("/memory/empty-ns").json()["keys"] == []
    error(client.get("/memory/ns", params={"cursor": "é"}), 400, "invalid_request")
    error(client.get("/memory/ns?limit=-1"), 400, "invalid_request")
    error(client.get("/memory/ns?limit=abc"), 400, "invalid_request")


def test_batch_runs_in_order_in_one_transaction(client: TestClient) -> None:
    ops = [
        {"op": "set", "key": "a", "value": [1]},
        {"op": "append", "key": "a", "items": [2], "id": "x"},
        {"op": "get", "key": "a"},
        {"op": "get", "key": "missing"},
        {"op": "delete", "key": "a"},
        {"op": "delete", "key": "a"},
    ]
    results = client.post("/memory/ns", json={"ops": ops}).json()["results"]
    assert results[0] == {"op": "set", "key": "a", "version": 1, "bytes": 3}
    assert results[1] == {"op": "append", "key": "a", "version": 2, "length": 2}
    assert results[2]["found"] is True and results[2]["value"] == [1, 2]
    assert results[3] == {"op": "get", "key": "missing", "found": False}
    assert results[4] == {"op": "delete", "key": "a", "deleted": True}
    assert results[5] == {"op": "delete", "key": "a", "deleted": False}

    client.put("/memory/ns/guard", json={"value": "v1"})
    failed = client.post(
        "/memory/ns",
        json={
            "ops": [
                {"op": "set", "key": "new", "value": 1},
                {"op": "set", "key": "guard", "value": 2, "if_version": 5},
            ]
        },
    )
    error(failed, 412, "version_conflict")
    error(client.get("/memory/ns/new"), 404, "not_found")
    assert client.post("/memory/ns", json={"ops": []}).json() == {"results": []}
    bad_op = client.post("/memory/ns", json={"ops": [{"op": "get", "key": "ok"}, {"op": "zap"}]})
    assert error(bad_op, 400, "invalid_request").startswith("ops[1]:")
    error(client.post("/memory/ns", json={"ops": [{"op": "get", "key": ""}]}), 400, "invalid_key")


def test_usage_health_metrics(client: TestClient) -> None:
    client.put("/memory/ns/a", json={"value": "xyz"})
    assert client.get("/namespaces/ns").json() == {
        "namespace": "ns",
        "keys": 1,
        "bytes": 5,
        "stored_bytes": 6,  # the key's byte too
        "writes_today": 1,
        "limits": {
            "max_value_bytes": 1048576,
            "max_namespace_bytes": 50_000_000,
            "writes_per_day": None,
        },
    }
    assert client.get("/healthz").json() == {"status": "ok", "store": "sqlite"}
    client.get("/memory/ns/missing")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    text = metrics.text
    assert (
        'botwire_http_requests_total{method="GET",route="/memory/{namespace}/{key}",'
        'status="404"} 1.0' in text
    )
    assert 'botwire_http_request_duration_seconds_bucket{le="0.001"' in text or (
        "botwire_http_request_duration_seconds_bucket" in text
    )
    assert 'botwire_store_operation_duration_seconds_count{op="set"} 1.0' in text


# -- bad input never answers 500 -------------------------------------------------

BAD_BODIES: list[tuple[bytes, str]] = [
    (b"", "invalid_request"),
    (b"{", "invalid_request"),
    (b"not json", "invalid_request"),
    (b"[1, 2]", "invalid_request"),
    (b'"value"', "invalid_request"),
    (b'{"valu": 1}', "invalid_request"),
    (b"{}", "invalid_value"),
    (b'{"value": NaN}', "invalid_value"),
    (b'{"value": 1, "ttl": "10"}', "invalid_value"),
    (b'{"value": 1, "ttl": -1}', "invalid_value"),
    (b'{"value": 1, "ttl": true}', "invalid_value"),
    (b'{"value": "\\ud800"}', "invalid_value"),
    (b'{"value": "\xff"}', "invalid_request"),
    (b'{"value": ' + b"9" * 5000 + b"}", "invalid_value"),
    (b'{"value": ' + b"[" * 150 + b"]" * 150 + b"}", "invalid_value"),
    (b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "invalid_value"),
]


@pytest.mark.parametrize(("body", "code"), BAD_BODIES, ids=lambda b: repr(b)[:30])
def test_bad_put_bodies_get_a_sentence(client: TestClient, body: bytes, code: str) -> None:
    response = client.put("/memory/ns/k", content=body, headers=JSON)
    error(response, 400, code)
    error(client.get("/memory/ns/k"), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        b'{"append": []}',
        b'{"append": "x"}',
        b'{"append": [1], "id": ""}',
        b'{"append": [1], "id": 5}',
        b'{"items": [1]}',
    ],
)
def test_bad_append_bodies(client: TestClient, body: bytes) -> None:
    assert client.post("/memory/ns/l", content=body).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b'{"ops": {}}',
        b'{"ops": [1]}',
        b'{"ops": [{"op": "set", "key": "k"}]}',
        b'{"ops": [{"op": "get", "key": 5}]}',
        b'{"ops": [{"op": "set", "key": "k", "value": 1, "if_version": -1}]}',
        b'{"ops": [{"op": "get", "key": "k", "extra": 1}]}',
    ],
)
def test_bad_batches(client: TestClient, body: bytes) -> None:
    response = client.post("/memory/ns", content=body)
    assert response.status_code == 400
    assert response.json()["code"].startswith("invalid_")


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/memory/ns/%FF", "invalid_key"),
        ("/memory/ns/%C3", "invalid_key"),
        ("/memory/%FF/k", "invalid_namespace"),
        ("/memory/ns/" + "x" * 513, "invalid_key"),
        ("/memory/ns/tab%09", "invalid_key"),
        ("/memory/ns/", "invalid_key"),
        ("/memory/bad%20ns/k", "invalid_namespace"),
        ("/memory/" + "n" * 129 + "/k", "invalid_namespace"),
    ],
)
def test_bad_paths_are_refused(client: TestClient, path: str, code: str) -> None:
    for method in ("GET", "PUT", "DELETE", "POST"):
        response = client.request(method, path, json={"value": 1, "append": [1]})
        error(response, 400, code)


def test_huge_body_refused_before_reading(store: Any) -> None:
    with make_client(store, max_value_bytes=1000) as small:
        declared = small.put(
            "/memory/ns/k", content=b"x" * 10, headers={**JSON, "content-length": "999999999"}
        )
        assert "over" in error(declared, 413, "value_too_large")

        def chunks() -> Any:  # no Content-Length: the body is counted as it streams
            for _ in range(100):
                yield b"x" * 1000

        assert small.put("/memory/ns/k", content=chunks(), headers=JSON).status_code == 413
        too_big = small.put("/memory/ns/k", json={"value": "x" * 1000})
        assert "limit is 1000 bytes" in error(too_big, 413, "value_too_large")
        assert small.put("/memory/ns/k", json={"value": "x" * 998}).status_code == 200


def test_unknown_routes_and_methods(client: TestClient) -> None:
    error(client.get("/nowhere"), 404, "not_found")
    error(client.patch("/memory/ns/k", json={}), 405, "invalid_request")
    error(client.delete("/memory/ns"), 405, "invalid_request")


def test_openapi_documents_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/memory/{namespace}/{key}"]) == {"get", "put", "delete", "post"}
    assert set(paths["/memory/{namespace}"]) == {"get", "post"}
    assert {"/namespaces/{namespace}", "/healthz", "/metrics"} <= set(paths)
    put = paths["/memory/{namespace}/{key}"]["put"]
    assert {p["name"] for p in put["parameters"]} == {
        "namespace",
        "key",
        "if-match",
        "if-none-match",
        "idempotency-key",
    }
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("PutBody")
    assert {"200", "400", "412", "413", "429"} <= set(put["responses"])
    components = schema["components"]["schemas"]
    assert {"ErrorBody", "ValueAnswer", "BatchBody", "UsageAnswer"} <= set(components)
    codes = components["ErrorBody"]["properties"]["code"]["enum"]
    assert "quota_exceeded" in codes and "version_conflict" in codes
    assert client.get("/docs").status_code == 200
    assert json.dumps(schema)  # serialisable as served
