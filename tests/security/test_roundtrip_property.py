"""Property: any key and any value, at every store, round-trips exactly or raises ValidationError.

Hypothesis throws arbitrary Unicode (control characters, lone surrogates, astral
planes), huge integers, NaN/Infinity, negative zero and nested containers at the
embedded SQLite store, at a real server over HTTP, and at PostgreSQL directly and
through a server when ``BOTWIRE_TEST_POSTGRES_URL`` is set. "Exactly" means type
for type: ``1`` stays ``1`` (not ``1.0`` or ``True``), ``-0.0`` stays ``-0.0``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botwire import Memory, ValidationError
from tests.conftest import postgres_url

ANY_CHAR = st.characters(exclude_categories=())  # surrogates and controls included
TEXT = st.text(ANY_CHAR, max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=25,
)
KEYS = st.text(ANY_CHAR, min_size=0, max_size=80) | st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x10FFFF), min_size=100, max_size=600
)
EXAMPLES = {"sqlite": 200, "http+sqlite": 80, "postgres": 80, "http+postgres": 60}


def same(a: Any, b: Any) -> bool:
    """Equal type for type (``1 != 1.0 != True`` here), NaN-safe, sign of zero kept."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.fixture(params=list(EXAMPLES))
def door(
    request: pytest.FixtureRequest, tmp_path: Path, _servers: dict[str, str]
) -> Iterator[tuple[str, Memory]]:
    name: str = request.param
    if name == "sqlite":
        url = f"sqlite:///{tmp_path / 'prop.db'}"
    elif name == "postgres":
        url = postgres_url()
    else:
        url = _servers[name.split("+", 1)[1]]
    with Memory(f"prop-{uuid.uuid4().hex[:12]}", url) as memory:
        yield name, memory


def test_any_key_and_value_round_trip_exactly_or_raise_validation_error(
    door: tuple[str, Memory],
) -> None:
    name, memory = door
    seen = {"stored": 0, "refused": 0}

    @settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        database=None,
        derandomize=True,  # the "enough stored" floor below must not depend on luck
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(key=KEYS, value=VALUES)
    def check(key: str, value: Any) -> None:
        try:
            memory.set(key, value)
        except ValidationError:
            seen["refused"] += 1
            return
        seen["stored"] += 1
        back = memory.get_item(key)
        assert back is not None and back.key == key
        assert same(back.value, value), (key, value, back.value)
        assert memory.append(f"list:{key}"[:200], value) >= 1
        assert same(memory.get_list(f"list:{key}"[:200], last=1)[0], value)

    check()
    # Both outcomes happened: the strategy reaches valid and invalid input alike.
    assert seen["stored"] >= 5 and seen["refused"] >= 5, seen
