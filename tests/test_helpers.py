"""One of each helper (DESIGN.md §8): the client and the server share them by identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from botwire import ConflictError, Memory, NotAListError, ValidationError, _errors, _wire
from botwire._open import redact
from botwire._validation import MAX_ID_CHARS, MAX_TTL, check_id, check_ttl, check_version


def test_the_wire_checks_are_the_clients_checks() -> None:
    assert _wire.parse_ttl is check_ttl
    assert _wire.parse_version is check_version
    assert _wire.parse_id is check_id
    assert _wire.MAX_TTL == MAX_TTL and _wire.MAX_ID_CHARS == MAX_ID_CHARS


def test_client_refuses_what_the_server_refuses_with_the_same_sentence(tmp_path: Path) -> None:
    memory = Memory("helpers", f"sqlite:///{tmp_path / 'm.db'}")
    for bad, call in (
        (MAX_TTL + 1, lambda v: memory.set("k", 1, ttl=v)),
        (0, lambda v: memory.set("k", 1, ttl=v)),
    ):
        with pytest.raises(ValidationError) as client:
            call(bad)
        with pytest.raises(ValidationError) as server:
            _wire.parse_ttl(bad)
        assert str(client.value) == str(server.value)
    for bad_id in ("", "x" * (MAX_ID_CHARS + 1)):
        with pytest.raises(ValidationError) as client:
            memory.append("l", 1, id=bad_id)
        with pytest.raises(ValidationError) as server:
            _wire.parse_id(bad_id)
        assert str(client.value) == str(server.value)
    memory.append("l", 1, id="x" * MAX_ID_CHARS)  # the longest id is accepted
    with pytest.raises(ValidationError) as client:
        memory.set("k", 1, if_version=2**63)
    with pytest.raises(ValidationError) as server:
        _wire.parse_version(2**63, "if_version")
    assert str(client.value) == str(server.value)
    memory.close()


def test_one_error_code_table() -> None:
    table = _errors.ERROR_CODES
    assert _errors.ERRORS_BY_CODE == {code: cls for code, (cls, _) in table.items()}
    assert _wire.STATUS_BY_CODE == {code: status for code, (_, status) in table.items()}
    for code, (cls, status) in table.items():
        assert issubclass(cls, _errors.BotWireError)
        assert 400 <= status < 600, code
    assert table["version_conflict"] == (ConflictError, 412)
    assert table["not_a_list"] == (NotAListError, 409)


def test_the_servers_openapi_enum_lists_the_table() -> None:
    pytest.importorskip("fastapi")
    from botwire.server import _shapes

    schema = _shapes.ErrorBody.model_json_schema()
    assert schema["properties"]["code"]["enum"] == list(_errors.ERROR_CODES)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://h/db?user=u&password=s3cret", "postgresql://h/db?user=u&password=***"),
        ("https://user:s3cret@host/x", "https://user:***@host/x"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_one_redactor(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_a_server_that_is_not_botwire_is_named_not_dumped() -> None:
    import httpx

    from botwire import HTTPStore

    page = b"<html><body>" + b"x" * 5000 + b"</body></html>"

    def web_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, content=page, headers={"content-type": "text/html"})

    client = httpx.Client(transport=httpx.MockTransport(web_page))
    store = HTTPStore("http://example.test", client=client)
    with pytest.raises(ValidationError) as info:
        store.get("ns", "k")
    message = str(info.value)
    assert message.startswith(
        "http://example.test does not look like a BotWire server (HTTP 404, text/html)"
    )
    assert "<html>" not in message
    client.close()


def test_base_url_of_0_2_is_accepted_with_a_deprecation_warning(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    with pytest.warns(DeprecationWarning, match=r"Memory\(base_url=\.\.\.\) is the 0\.2\.x"):
        memory = Memory("legacy", base_url=url)
    memory.set("k", 1)
    assert Memory("legacy", url).get("k") == 1
    with pytest.warns(DeprecationWarning), pytest.raises(ValidationError, match="not both"):
        Memory("legacy", "sqlite:///elsewhere.db", base_url=url)
    memory.close()


def test_the_packaged_conformance_suite_catches_a_broken_store(tmp_path: Path) -> None:
    """``botwire.testing`` is not vacuous: a store that breaks a rule fails it."""
    from botwire import SQLiteStore, WriteResult
    from botwire.testing import StoreConformance

    class NoVersions(SQLiteStore):
        def set(self, namespace: str, key: str, raw: str, **options: object) -> WriteResult:
            result = super().set(namespace, key, raw, **options)  # type: ignore[arg-type]
            return WriteResult(1, result.bytes)  # forgets that each write adds one

    suite = StoreConformance()
    store = NoVersions(tmp_path / "broken.db")
    suite.test_set_then_get_returns_the_text_and_version_1(store, "ns-a")  # still passes
    with pytest.raises(AssertionError):
        suite.test_each_write_adds_one_to_the_version(store, "ns-b")
    store.close()
