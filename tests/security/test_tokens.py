"""Token logic without I/O: format, hashing, scopes, lifetimes (``botwire._tokens``)."""

from __future__ import annotations

import re

import pytest

from botwire import ValidationError
from botwire._tokens import (
    TOKENS_NAMESPACE,
    TokenRecord,
    TokenScope,
    bearer_token,
    format_duration,
    hash_token,
    is_reserved,
    new_token,
    parse_expiry,
    parse_token,
    same_secret,
    scope_from_request,
    validate_pattern,
)


def test_a_new_token_is_recognisable_random_and_stored_only_as_its_hash() -> None:
    made = new_token(["team-a-*"], read=True, write=False, name="ci")
    assert re.fullmatch(r"bw_[0-9a-f]{12}_[A-Za-z0-9_\-]{43}", made.token)
    assert parse_token(made.token) == made.record.id
    stored = made.record.to_json()
    assert made.token not in stored and made.token.split("_", 2)[2] not in stored
    assert made.record.hash == hash_token(made.token) in stored
    assert made.token not in repr(made)  # printing the object never shows the secret
    other = new_token(["team-a-*"], read=True, write=False)
    assert other.token != made.token and other.record.id != made.record.id


def test_a_record_matches_its_own_token_only() -> None:
    made = new_token("team-a-*", read=True, write=True)
    record = TokenRecord.from_json(made.record.to_json())
    assert record == made.record
    assert record.matches(made.token)
    assert not record.matches(made.token[:-1] + ("A" if made.token[-1] != "A" else "B"))
    assert not record.matches(new_token("team-a-*", read=True, write=True).token)


def test_scopes_match_namespace_globs_case_sensitively_and_never_reserved_ones() -> None:
    scope = TokenScope(("team-a-*", "agent-?"), read=True, write=False)
    assert scope.allows("team-a-1", "read") and scope.allows("team-a-", "read")
    assert scope.allows("agent-7", "read")
    assert not scope.allows("agent-77", "read")
    assert not scope.allows("team-a-1", "write")
    assert not scope.allows("team-b", "read") and not scope.allows("Team-a-1", "read")
    everything = TokenScope(("*",), read=True, write=True)
    assert everything.allows("anything", "write")
    assert not everything.allows(TOKENS_NAMESPACE, "read") and is_reserved(TOKENS_NAMESPACE)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("team/a", "invalid namespace pattern"),
        ("", "invalid namespace pattern"),
        ("[ab]*", "invalid namespace pattern"),
        ("_botwire.*", "reserved"),
        ("x" * 129, "invalid namespace pattern"),
    ],
)
def test_bad_patterns_are_refused_with_what_to_write(bad: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        validate_pattern(bad)


def test_a_scope_needs_patterns_and_a_right() -> None:
    with pytest.raises(ValidationError, match="read, write or both"):
        TokenScope(("a",), read=False, write=False)
    with pytest.raises(ValidationError, match="at least one namespace pattern"):
        new_token([], read=True, write=False)
    with pytest.raises(ValidationError, match="list of patterns"):
        new_token(42, read=True, write=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * 86400),
        ("12h", 43200),
        ("15m", 900),
        ("90s", 90),
        ("2w", 1209600),
        ("3600", 3600),
        (7200, 7200),
        (0.5, 0.5),
        ("never", None),
        (None, None),
    ],
)
def test_lifetimes_read_like_people_write_them(text: str | float | None, seconds: float) -> None:
    assert parse_expiry(text) == seconds


@pytest.mark.parametrize("bad", ["0", "-5", "30 days", "d", "1y", True, "99999d", float("inf")])
def test_bad_lifetimes_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="expires|ten years"):
        parse_expiry(bad)  # type: ignore[arg-type]


def test_durations_format_back_to_what_parses() -> None:
    for seconds in (30 * 86400, 43200, 900, 90, 1209600, 61):
        assert parse_expiry(format_duration(seconds)) == seconds
    assert format_duration(30 * 86400) == "30d"


def test_expiry_is_checked_against_the_clock() -> None:
    made = new_token("a", read=True, write=False, expires="1h", now=1000.0)
    assert made.record.expires_at == 1000.0 + 3600
    assert not made.record.expired(now=1000.0 + 3599)
    assert made.record.expired(now=1000.0 + 3600)
    assert not new_token("a", read=True, write=False).record.expired()


def test_bearer_headers_and_malformed_tokens() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    assert bearer_token(None) is None and bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None and bearer_token("Bearer " + "x" * 400) is None
    for bad in ("", "bw_", "bw_XYZ_secretsecretsecretsecret", "xx_0123456789ab_" + "s" * 43):
        assert parse_token(bad) is None


def test_secrets_compare_in_constant_time_whatever_their_length() -> None:
    assert same_secret("admin-secret-0123456789", "admin-secret-0123456789")
    assert not same_secret("admin", "admin-secret-0123456789")


def test_admin_bodies_are_checked_field_by_field() -> None:
    args = scope_from_request({"namespaces": "team-a-*", "read": True})
    assert args["namespaces"] == ["team-a-*"] and args["write"] is False
    with pytest.raises(ValidationError, match="unknown field"):
        scope_from_request({"namespaces": ["a"], "read": True, "admin": True})
    with pytest.raises(ValidationError, match="true or false"):
        scope_from_request({"namespaces": ["a"], "read": "yes"})
    with pytest.raises(ValidationError, match="non-empty list"):
        scope_from_request({"read": True})


def test_a_corrupt_record_is_not_a_token() -> None:
    with pytest.raises(ValidationError, match="not a token record"):
        TokenRecord.from_json('{"id": 1}')


def test_the_token_commands_import_without_the_server_extra() -> None:
    """``botwire token`` needs only httpx and click: no FastAPI, Starlette or uvicorn."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('starlette', 'fastapi', 'uvicorn', 'prometheus_client'):"
        "\n"
        "            raise ImportError(f'blocked {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from botwire.server.token_cli import token\n"
        "from botwire.server.auth import check_exposure\n"
        "print(token.name, check_exposure('127.0.0.1', False, False))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["token", "None"]
