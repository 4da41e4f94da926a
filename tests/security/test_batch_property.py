"""Property: no batch, however built, makes the server answer 5xx or pass its answer cap.

Hypothesis builds batches of mixed operations (get, set, delete, append, restore)
with hostile fields: huge and negative numbers, floats where integers belong,
infinities written as ``1e999``, lone surrogates and NUL in keys and ids, values
near the size limit, the same key many times. Each batch goes, as raw JSON text,
to the real app (in process) on SQLite and on PostgreSQL; every answer must be a
2xx or a 4xx with an error code from the table, and no answer may be larger than
the server's answer cap.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botwire._errors import ERROR_CODES
from tests.conftest import postgres_url

MAX_VALUE = 4096
ANSWER_CAP = 64 * 1024 + MAX_VALUE  # Settings.answer_cap with the settings below

ANY_CHAR = st.characters(exclude_categories=())  # surrogates and controls included
KEYS = st.sampled_from(["a", "b", "c/d", "é"]) | st.text(ANY_CHAR, max_size=12)
NUMBERS = st.sampled_from(
    ["0", "-1", "1", "1.5", "1e999", "-1e999", str(2**53), str(2**63), "9" * 400, "true", '"1"']
) | st.integers(min_value=-(2**70), max_value=2**70).map(str)
VALUES = st.sampled_from(
    ['"x"', "1", "null", "[1,2]", '{"a":1}', '"' + "v" * (MAX_VALUE - 2) + '"', "1e999"]
)


def _text(value: str) -> str:
    return '"' + "".join(f"\\u{ord(c):04x}" for c in value) + '"'


@st.composite
def operations(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["get", "set", "delete", "append", "restore", "nope"]))
    fields = {"op": _text(kind), "key": _text(draw(KEYS))}
    if kind in ("set", "restore"):
        fields["value"] = draw(VALUES)
    if kind == "set" and draw(st.booleans()):
        fields["if_version"] = draw(NUMBERS)
    if kind == "set" and draw(st.booleans()):
        fields["ttl"] = draw(NUMBERS)
    if kind in ("set", "append") and draw(st.booleans()):
        fields["id"] = _text(draw(st.text(ANY_CHAR, min_size=0, max_size=140)))
    if kind == "append":
        fields["items"] = "[" + ",".join(draw(st.lists(VALUES, max_size=3))) + "]"
    if kind == "restore":
        for name in ("version", "created_at", "updated_at", "expires_at"):
            if draw(st.booleans()) or name != "expires_at":
                fields[name] = draw(NUMBERS)
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"


BATCHES = st.lists(operations(), max_size=30).map(lambda ops: '{"ops":[' + ",".join(ops) + "]}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def app_client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    from botwire._open import open_async_store
    from botwire._sqlite import SQLiteStore
    from botwire.server import Settings, create_app

    store: Any
    if request.param == "sqlite":
        store = SQLiteStore(str(tmp_path / "p.db"))
    else:
        store = open_async_store(postgres_url())
    app = create_app(store, Settings(max_value_bytes=MAX_VALUE, max_answer_bytes=1024))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client
    await app.aclose()
    if request.param == "sqlite":
        store.close()
    else:
        await store.aclose()


async def test_random_batches_never_answer_5xx(app_client: httpx.AsyncClient) -> None:
    namespace = "prop-" + uuid.uuid4().hex[:10]
    seen: list[int] = []

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(batch=BATCHES)
    def run(batch: str) -> None:
        seen.append(len(batch))
        batches.append(batch)

    batches: list[str] = []
    run()
    for batch in batches:
        answer = await app_client.post(
            f"/memory/{namespace}",
            content=batch.encode(),
            headers={"content-type": "application/json"},
        )
        assert answer.status_code < 500, (batch[:300], answer.text[:300])
        assert len(answer.content) <= ANSWER_CAP, batch[:300]
        if answer.status_code >= 400:
            assert json.loads(answer.content)["code"] in ERROR_CODES, answer.text[:300]
    assert seen
