"""Token authentication of the real server app, in process (fine-grained cases).

The end-to-end checks over real HTTP and the real client are in
``test_auth_http.py``; here each rule is pinned down one request at a time.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from botwire import SQLiteStore
from botwire._tokens import TOKENS_NAMESPACE, hash_token
from tests.security.conftest import build_app


async def make_token(client: httpx.AsyncClient, admin: str, **body: Any) -> str:
    body.setdefault("read", True)
    body.setdefault("write", True)
    answer = await client.post(
        "/admin/tokens", json=body, headers={"authorization": f"Bearer {admin}"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_every_route_but_healthz_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    for method, path in [
        ("GET", "/memory/a/k"),
        ("PUT", "/memory/a/k"),
        ("DELETE", "/memory/a/k"),
        ("POST", "/memory/a/k"),
        ("GET", "/memory/a"),
        ("POST", "/memory/a"),
        ("GET", "/namespaces/a"),
        ("GET", "/metrics"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/nowhere"),
        ("HEAD", "/memory/a/k"),
    ]:
        answer = await client.request(method, path)
        assert answer.status_code == 401, (method, path)
        assert answer.headers["www-authenticate"].startswith("Bearer")
        if method != "HEAD":
            assert answer.json()["code"] == "unauthorized"
            assert "Authorization: Bearer" in answer.json()["detail"]


async def test_garbage_and_unknown_tokens_are_refused_with_401(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    real = await make_token(client, admin_token, namespaces=["a"])
    forged = real[:-4] + "AAAA" if not real.endswith("AAAA") else real[:-4] + "BBBB"
    for credential in ["x", "bw_nothex", forged, hash_token(real), "Basic " + real]:
        header = credential if credential.startswith("Basic") else f"Bearer {credential}"
        answer = await client.get("/memory/a/k", headers={"authorization": header})
        assert answer.status_code == 401, credential
        assert answer.json() == {"detail": answer.json()["detail"], "code": "unauthorized"}


async def test_scope_is_derived_from_method_and_path(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    reader = auth(await make_token(client, admin_token, namespaces=["team-a-*"], write=False))
    writer = auth(await make_token(client, admin_token, namespaces=["team-a-*"], read=False))
    assert (
        await client.put("/memory/team-a-1/k", json={"value": 1}, headers=writer)
    ).status_code == 200
    assert (await client.get("/memory/team-a-1/k", headers=reader)).json()["value"] == 1
    assert (await client.get("/memory/team-a-1", headers=reader)).json()["keys"] == ["k"]
    assert (await client.get("/namespaces/team-a-1", headers=reader)).status_code == 200
    for method, path, body in [
        ("PUT", "/memory/team-a-1/k", {"value": 2}),
        ("DELETE", "/memory/team-a-1/k", None),
        ("POST", "/memory/team-a-1/list", {"append": [1]}),
    ]:
        answer = await client.request(method, path, json=body, headers=reader)
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
        assert "may not write" in answer.json()["detail"]
    for path in ["/memory/team-a-1/k", "/memory/team-a-1", "/namespaces/team-a-1"]:
        answer = await client.get(path, headers=writer)
        assert answer.status_code == 403 and "may not read" in answer.json()["detail"]


async def test_a_batch_of_gets_is_a_read_and_anything_else_a_write(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    reader = auth(await make_token(client, admin_token, namespaces=["n"], write=False))
    writer = auth(await make_token(client, admin_token, namespaces=["n"], read=False))
    gets = {"ops": [{"op": "get", "key": "a"}, {"op": "get", "key": "b"}]}
    sets = {"ops": [{"op": "set", "key": "a", "value": 1}]}
    mixed = {"ops": [{"op": "get", "key": "a"}, {"op": "delete", "key": "b"}]}
    sneaky = {"ops": [{"op": "get", "op": "set", "key": "a", "value": 9}]}  # noqa: F601
    assert (await client.post("/memory/n", json=sets, headers=writer)).status_code == 200
    answer = await client.post("/memory/n", json=gets, headers=reader)
    assert answer.status_code == 200 and answer.json()["results"][0]["value"] == 1
    for body in (sets, mixed, sneaky):
        assert (await client.post("/memory/n", json=body, headers=reader)).status_code == 403
    for body in (gets, mixed):
        assert (await client.post("/memory/n", json=body, headers=writer)).status_code == 403
    # a duplicated "op" key resolves as the server resolves it: the last one wins
    raw = b'{"ops":[{"op":"set","op":"get","key":"a"}]}'
    answer = await client.post("/memory/n", content=raw, headers=reader)
    assert answer.status_code == 200 and answer.json()["results"][0]["op"] == "get"
    assert (await client.get("/memory/n/a", headers=reader)).json()["version"] == 1


async def test_encoding_tricks_cannot_reach_another_namespace(
    client: httpx.AsyncClient, admin_token: str, store: SQLiteStore
) -> None:
    store.set("team-b", "secret", '"b-only"')
    token = auth(await make_token(client, admin_token, namespaces=["team-a-*"]))
    for raw_path, status in [
        ("/memory/team%2Db/secret", 403),  # %2D is '-': still team-b
        ("/memory/team-a-1%2F..%2Fteam-b/secret", 400),  # a slash hidden in the namespace
        ("/memory%2Fteam-b/secret", 404),  # the prefix itself encoded: no such route
        ("/memory/team-a-1/..%2F..%2Fmemory%2Fteam-b%2Fsecret", 404),  # only a strange key
        ("/namespaces/team%2Db", 403),
        ("/memory/%ff%fe/k", 400),  # not UTF-8
    ]:
        answer = await client.get(raw_path, headers=token)
        assert answer.status_code == status, (raw_path, answer.text)
        assert "b-only" not in answer.text
    assert store.get("team-b", "secret").raw == '"b-only"'  # type: ignore[union-attr]


async def test_reserved_namespaces_are_out_of_reach_even_for_a_star_token(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    everything = auth(await make_token(client, admin_token, namespaces=["*"]))
    admin = auth(admin_token)
    for headers in (everything, admin):
        for method, path in [
            ("GET", f"/memory/{TOKENS_NAMESPACE}"),
            ("GET", "/memory/_botwire%2Etokens/x"),
            ("PUT", f"/memory/{TOKENS_NAMESPACE}/x"),
            ("POST", f"/memory/{TOKENS_NAMESPACE}"),
            ("GET", f"/namespaces/{TOKENS_NAMESPACE}"),
            ("GET", "/memory/_botwire.other/k"),
        ]:
            answer = await client.request(method, path, headers=headers, json={"value": 1})
            assert answer.status_code == 403, (method, path)
    answer = await client.post(
        "/admin/tokens", json={"namespaces": ["_botwire.*"], "read": True}, headers=admin
    )
    assert answer.status_code == 400 and "reserved" in answer.json()["detail"]


async def test_the_admin_api_needs_the_admin_token_and_never_shows_secrets(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    token = await make_token(client, admin_token, namespaces=["a"], expires="30d", name="ci")
    for headers, status in [({}, 401), (auth("wrong-admin-token-000"), 401), (auth(token), 403)]:
        for method, path in [
            ("GET", "/admin/tokens"),
            ("POST", "/admin/tokens"),
            ("DELETE", "/admin/tokens/0123456789ab"),
        ]:
            answer = await client.request(method, path, headers=headers)
            assert answer.status_code == status, (headers, method, path)
    listing = await client.get("/admin/tokens", headers=auth(admin_token))
    assert listing.status_code == 200 and listing.headers["cache-control"] == "no-store"
    (entry,) = listing.json()["tokens"]
    assert entry["namespaces"] == ["a"] and entry["name"] == "ci" and not entry["expired"]
    assert "hash" not in entry and "token" not in entry
    assert token not in listing.text and hash_token(token) not in listing.text
    one = await client.get(f"/admin/tokens/{entry['id']}", headers=auth(admin_token))
    assert one.json() == entry
    assert (await client.put("/admin/tokens", headers=auth(admin_token))).status_code == 405
    bad = await client.post("/admin/tokens", json={"namespaces": ["a"]}, headers=auth(admin_token))
    assert bad.status_code == 400 and "read, write or both" in bad.json()["detail"]
    revoked = await client.delete(f"/admin/tokens/{entry['id']}", headers=auth(admin_token))
    assert revoked.json() == {"revoked": True, "id": entry["id"]}
    again = await client.delete(f"/admin/tokens/{entry['id']}", headers=auth(admin_token))
    assert again.status_code == 404
    assert (await client.get("/memory/a/k", headers=auth(token))).status_code == 401


async def test_the_admin_token_reaches_operations_pages_but_no_data(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    assert (await client.get("/metrics", headers=auth(admin_token))).status_code == 200
    assert (await client.get("/openapi.json", headers=auth(admin_token))).status_code == 200
    answer = await client.get("/memory/a/k", headers=auth(admin_token))
    assert answer.status_code == 403 and "only manages tokens" in answer.json()["detail"]


async def test_refusals_are_counted_in_the_servers_metrics(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    await client.get("/memory/a/k")
    text = (await client.get("/metrics", headers=auth(admin_token))).text
    assert 'route="/memory/{namespace}/{key}",status="401"' in text


async def test_with_tokens_off_everything_passes_but_reserved_namespaces(
    store: SQLiteStore,
) -> None:
    transport = httpx.ASGITransport(app=build_app(store, None))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        assert (await c.put("/memory/open/k", json={"value": 1})).status_code == 200
        assert (await c.get(f"/memory/{TOKENS_NAMESPACE}")).status_code == 403
        answer = await c.get("/admin/tokens")
        assert answer.status_code == 404 and "BOTWIRE_ADMIN_TOKEN" in answer.json()["detail"]


def test_a_short_admin_token_is_refused_with_how_to_make_one(store: SQLiteStore) -> None:
    from botwire import ValidationError

    with pytest.raises(ValidationError, match="at least 16 characters.*token_urlsafe"):
        build_app(store, "short")


@pytest.mark.parametrize(
    ("host", "tokens", "insecure", "outcome"),
    [
        ("127.0.0.1", False, False, None),
        ("localhost", False, False, None),
        ("::1", False, False, None),
        ("[::1]", False, False, None),
        ("127.8.9.10", False, False, None),
        ("0.0.0.0", True, False, None),
        ("0.0.0.0", False, True, "WARNING"),
        ("0.0.0.0", False, False, "refusing"),
        ("::", False, False, "refusing"),
        ("192.168.1.5", False, False, "refusing"),
        ("memory.example.com", False, False, "refusing"),
    ],
)
def test_exposure_rule(host: str, tokens: bool, insecure: bool, outcome: str | None) -> None:
    from botwire import ValidationError
    from botwire.server.auth import check_exposure

    if outcome == "refusing":
        with pytest.raises(
            ValidationError, match="refusing to serve.*BOTWIRE_ADMIN_TOKEN.*--insecure-open"
        ):
            check_exposure(host, tokens, insecure)
    elif outcome is None:
        assert check_exposure(host, tokens, insecure) is None
    else:
        assert outcome in (check_exposure(host, tokens, insecure) or "")


async def test_an_expired_token_gets_401_whatever_it_asks_for(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    import asyncio

    token = auth(await make_token(client, admin_token, namespaces=["a"], expires=0.3))
    assert (await client.put("/memory/a/k", json={"value": 1}, headers=token)).status_code == 200
    await asyncio.sleep(0.35)
    for path in ["/memory/a/k", "/memory/%ff/k", "/metrics", f"/memory/{TOKENS_NAMESPACE}"]:
        answer = await client.get(path, headers=token)
        assert answer.status_code == 401 and "expired at" in answer.json()["detail"], path


async def test_a_failing_token_store_answers_503_with_retry_after_not_500(
    store: SQLiteStore, admin_token: str
) -> None:
    from botwire import UnavailableError
    from botwire.server import Settings, create_app

    class DownStore:
        """The token store's database is unreachable (e.g. PostgreSQL restarting)."""

        kind = "postgres"

        def __getattr__(self, name: str) -> Any:
            def fail(*args: Any, **kwargs: Any) -> Any:
                raise UnavailableError("cannot use PostgreSQL: connection refused")

            return fail

    app = create_app(DownStore(), Settings(admin_token=admin_token))  # tokens live in it too
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
        for path, headers in [
            ("/memory/a/k", auth("bw_0123456789ab_" + "s" * 43)),
            ("/admin/tokens", auth(admin_token)),
            ("/admin/tokens", auth("bw_0123456789ab_" + "s" * 43)),
        ]:
            answer = await c.get(path, headers=headers)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["code"] == "unavailable"
