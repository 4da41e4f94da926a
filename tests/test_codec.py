"""The value codec: the reused C encoder gives exactly what json.dumps gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botwire import ValidationError, _codec

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


def _reference(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@given(json_values)
def test_encode_matches_json_dumps(value: Any) -> None:
    assert _codec.encode(value) == _reference(value)
    assert _codec.decode(_codec.encode(value)) == value


@given(json_values)
def test_without_the_c_encoder_the_text_is_the_same(value: Any) -> None:
    saved = _codec._C_ENCODE
    _codec._C_ENCODE = None
    try:
        assert _codec.encode(value) == _reference(value)
    finally:
        _codec._C_ENCODE = saved


def test_the_c_encoder_is_in_use() -> None:
    assert _codec._C_ENCODE is not None  # CPython ships it; losing it would be a slowdown


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": {1: "x"}}, "object keys must be strings"),
        ([1, [2, {"k": float("nan")}]], "NaN"),
        ({"a": object()}, "not JSON-serializable"),
        ({"a": b"bytes"}, "not JSON-serializable"),
    ],
)
def test_what_json_cannot_hold_is_refused(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _codec.encode(value)


def test_a_cycle_is_refused_not_looped() -> None:
    value: list[Any] = []
    value.append(value)
    with pytest.raises(ValidationError, match="nested more than"):
        _codec.encode(value)
