"""Scoped tokens end to end: a real server process, real HTTP, the real client.

The server is ``create_app(store, Settings(admin_token=...))`` under uvicorn
(``tests/security/launch.py``), logging every logger at DEBUG to a file, and the
clients are ``botwire.Memory(namespace, url, api_key=token)``. Tokens are made
with the ``botwire token`` commands. The figure (checks made, leaks found) is
printed; run with ``-s`` to see it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from botwire import (
    AuthenticationError,
    GetOp,
    Memory,
    PermissionDeniedError,
    SetOp,
)
from botwire._tokens import hash_token
from botwire.server.token_cli import token as token_cli
from tests.security.procs import Proc, launch_secure

ADMIN = "adm-e2e-" + "k3Yq9vXw2LmN8pRt5sZa"
ISSUED: list[str] = []  # every token this module made: none may appear in a log


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sec') / 'server.db'}"


@pytest.fixture(scope="module")
def servers(db_url: str) -> Iterator[list[Proc]]:
    """Two server processes sharing one database (so they share tokens)."""
    procs = [launch_secure(db_url, ADMIN), launch_secure(db_url, ADMIN)]
    yield procs
    for proc in procs:
        proc.stop()


def cli(url: str, *args: str) -> str:
    result = CliRunner().invoke(
        token_cli, ["--url", url, "--admin-token", ADMIN, *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output.strip()


def create(url: str, *args: str) -> str:
    token = cli(url, "create", *args, "--quiet")
    ISSUED.append(token)
    return token


def token_id(token: str) -> str:
    return token.split("_")[1]


# Every operation the client has, each aimed at namespace ``ns``.
OPERATIONS: dict[str, Callable[[Memory], Any]] = {
    "get": lambda m: m.get("secret"),
    "get_item": lambda m: m.get_item("secret"),
    "contains": lambda m: "secret" in m,
    "get_list": lambda m: m.get_list("log", last=1),
    "list_keys": lambda m: m.list_keys(),
    "keys_prefix": lambda m: m.list_keys(prefix="s", limit=5),
    "set_if_version": lambda m: m.set("secret", "overwritten", if_version=1),
    "set": lambda m: m.set("secret", "overwritten"),
    "set_ttl": lambda m: m.set("temp", 1, ttl=60),
    "delete": lambda m: m.delete("secret"),
    "append": lambda m: m.append("log", "injected"),
    "get_many": lambda m: m.get_many(["secret", "log"]),
    "set_many": lambda m: m.set_many({"x": 1, "y": 2}),
    "delete_many": lambda m: m.delete_many(["secret", "log"]),
    "batch": lambda m: m.batch([GetOp("secret"), SetOp("x", "1")]),
    "update": lambda m: m.update("counter", lambda v: v + 1, default=0),
    "usage": lambda m: m.store.usage(m.namespace),
}


def snapshot(url: str, token: str, namespace: str) -> dict[str, Any]:
    with Memory(namespace, url, api_key=token) as m:
        return {k: (m.get_item(k).value, m.get_item(k).version) for k in m.list_keys()}  # type: ignore[union-attr]


def seed(url: str, token: str, namespace: str) -> None:
    with Memory(namespace, url, api_key=token) as m:
        m.set("secret", "b-only")
        m.append("log", "b1", "b2")


def test_a_team_a_token_can_do_nothing_to_team_b_on_any_route(servers: list[Proc]) -> None:
    url = servers[0].url
    owner = create(url, "-n", "team-b", "-n", "team-b-*", "--read", "--write")
    seed(url, owner, "team-b")
    before = snapshot(url, owner, "team-b")

    revoked = create(url, "-n", "team-b", "--read", "--write")
    cli(url, "revoke", token_id(revoked))
    expired = create(url, "-n", "team-b", "--read", "--write", "--expires", "1")
    credentials: dict[str, tuple[str | None, type[Exception]]] = {
        "no token": (None, AuthenticationError),
        "garbage": ("not-a-token", AuthenticationError),
        "forged": ("bw_0123456789ab_" + "A" * 43, AuthenticationError),
        "tampered": (
            owner[:-3] + ("xyz" if not owner.endswith("xyz") else "abc"),
            AuthenticationError,
        ),
        "revoked team-b": (revoked, AuthenticationError),
        "expired team-b": (expired, AuthenticationError),
        "admin token": (ADMIN, PermissionDeniedError),
        "team-a-* rw": (create(url, "-n", "team-a-*", "--read", "--write"), PermissionDeniedError),
        "team-a-* r": (create(url, "-n", "team-a-*", "--read"), PermissionDeniedError),
        "team-a-* w": (create(url, "-n", "team-a-*", "--write"), PermissionDeniedError),
        "team-b-? rw": (create(url, "-n", "team-b-?", "--read", "--write"), PermissionDeniedError),
    }
    time.sleep(1.1)  # let the one-second token expire
    checked = leaks = 0
    for server in servers:  # both processes enforce the same tokens
        for name, (credential, refusal) in credentials.items():
            with Memory("team-b", server.url, api_key=credential) as m:
                for op_name, op in OPERATIONS.items():
                    checked += 1
                    try:
                        op(m)
                    except refusal:
                        continue
                    except Exception as exc:  # a different refusal is still a bug
                        pytest.fail(f"{name} / {op_name}: {type(exc).__name__}: {exc}")
                    leaks += 1
                    print(f"LEAK: {name} could {op_name} on team-b")
    assert snapshot(url, owner, "team-b") == before
    print(
        f"\nsecurity figure: {len(OPERATIONS)} operations x {len(credentials)} credentials "
        f"x {len(servers)} server processes = {checked} checks, leaks: {leaks}"
    )
    assert checked == len(OPERATIONS) * len(credentials) * len(servers)
    assert leaks == 0

    # The same harness does detect access: the owner's token can do everything.
    seed(url, owner, "team-b-ctl")
    with Memory("team-b-ctl", url, api_key=owner) as m:
        for op in OPERATIONS.values():
            op(m)  # raises if refused
    assert {"x", "y", "counter", "temp"} <= set(snapshot(url, owner, "team-b-ctl"))


def test_scoped_tokens_work_through_the_client(servers: list[Proc]) -> None:
    url = servers[0].url
    rw = create(url, "-n", "team-a-*", "--read", "--write")
    reader = create(url, "-n", "team-a-*", "--read")
    writer = create(url, "-n", "team-a-*", "--write")
    with Memory("team-a-1", url, api_key=rw) as m:
        m.set("k", {"v": 1})
        assert m.append("log", 1, 2) == 2
    with Memory("team-a-1", url, api_key=reader) as m:
        assert m.get("k") == {"v": 1} and m.get_many(["k", "log"]) == {"k": {"v": 1}, "log": [1, 2]}
        assert m.list_keys() == ["k", "log"] and m.get_list("log", last=1) == [2]
        with pytest.raises(PermissionDeniedError, match="may not write"):
            m.set("k", 2)
        with pytest.raises(PermissionDeniedError):
            m.set_many({"k": 2})
    with Memory("team-a-2", url, api_key=writer) as m:
        m.set("k", 1)
        m.set_many({"a": 1, "b": 2})
        assert m.append("log", "x") == 1
        with pytest.raises(PermissionDeniedError, match="may not read"):
            m.get("k")
        with pytest.raises(PermissionDeniedError):
            m.get_many(["a"])


def test_the_client_reads_its_token_from_botwire_api_key(
    servers: list[Proc], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = servers[0].url
    monkeypatch.setenv("BOTWIRE_API_KEY", create(url, "-n", "env-*", "--read", "--write"))
    with Memory("env-1", url) as m:
        m.set("k", "v")
        assert m.get("k") == "v"
    monkeypatch.delenv("BOTWIRE_API_KEY")
    with Memory("env-1", url) as m, pytest.raises(AuthenticationError, match="needs a token"):
        m.get("k")


def test_revoking_on_one_process_refuses_the_token_on_every_process_at_once(
    servers: list[Proc],
) -> None:
    one, two = servers[0].url, servers[1].url
    token = create(one, "-n", "shared", "--read", "--write")
    with Memory("shared", one, api_key=token) as m1, Memory("shared", two, api_key=token) as m2:
        m1.set("k", 1)
        assert m2.get("k") == 1  # made on one process, accepted by the other
        assert cli(two, "revoke", token_id(token)) == json.dumps(
            {"revoked": True, "id": token_id(token)}
        )
        for m in (m1, m2):  # the very next request, on either process
            with pytest.raises(AuthenticationError, match="not valid"):
                m.get("k")


def test_an_expired_token_is_refused_at_once(servers: list[Proc]) -> None:
    url = servers[0].url
    token = create(url, "-n", "short", "--read", "--write", "--expires", "2s")
    with Memory("short", url, api_key=token) as m:
        m.set("k", 1)
        deadline = json.loads(cli(url, "list"))
        (entry,) = [t for t in deadline if t["id"] == token_id(token)]
        time.sleep(max(0.0, entry["expires_at"] - time.time()) + 0.05)
        with pytest.raises(AuthenticationError, match="expired"):
            m.get("k")
    listed = [t for t in json.loads(cli(url, "list")) if t["id"] == token_id(token)]
    assert listed[0]["expired"] is True


def test_the_token_commands_explain_mistakes(servers: list[Proc]) -> None:
    url = servers[0].url
    runner = CliRunner()
    cases = [
        (["--url", url, "create", "-n", "a", "--read"], "admin token"),
        (["--url", url, "--admin-token", ADMIN, "create", "-n", "a"], "--read, --write or both"),
        (["--url", url, "--admin-token", ADMIN, "create", "-n", "a/b", "--read"], "pattern"),
        (
            [
                "--url",
                url,
                "--admin-token",
                ADMIN,
                "create",
                "-n",
                "a",
                "--read",
                "--expires",
                "soon",
            ],
            "duration",
        ),
        (["--url", url, "--admin-token", "wrong-but-long-enough", "list"], "admin token is wrong"),
        (["--url", url, "--admin-token", ADMIN, "revoke", "0123456789ab"], "no token"),
        (["--url", "sqlite:///x.db", "--admin-token", ADMIN, "list"], "http(s)://"),
        (["--admin-token", ADMIN, "list"], "--url or BOTWIRE_URL"),
    ]
    for args, says in cases:
        result = runner.invoke(token_cli, args, env={"BOTWIRE_URL": "", "BOTWIRE_ADMIN_TOKEN": ""})
        assert result.exit_code != 0, args
        assert says in result.output, (args, result.output)


def test_no_token_hash_or_admin_secret_ever_reaches_a_log(servers: list[Proc]) -> None:
    """Runs last: every token made above was used, refused, listed or revoked."""
    assert len(ISSUED) >= 10
    logs = "".join(server.logs for server in servers)
    assert "botwire.access" in logs and '"status":401' in logs and '"status":403' in logs
    assert "token created" in logs and "token revoked" in logs  # audit lines, by id
    secrets = [ADMIN]
    for token in ISSUED:
        secrets += [token, token.split("_", 2)[2], hash_token(token)]
    leaked = [s[:12] + "…" for s in secrets if s in logs]
    assert leaked == [], f"secrets in the server log: {leaked}"
    assert "authorization" not in logs.lower()
    assert Path(servers[0].folder).exists()
