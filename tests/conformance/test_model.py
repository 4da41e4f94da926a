"""A Hypothesis state machine drives a store and a plain dict side by side.

Random set / get / delete / append / update / if_version writes / listing: the
store must never disagree with the model.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from botwire import ConflictError, NotAListError

KEYS = st.sampled_from(["a", "b", "user-42:style", "a/b", "é?#", "list"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)


def test_store_agrees_with_a_dict(new_memory: Any) -> None:
    class Model(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.memory = new_memory()
            self.model: dict[str, Any] = {}
            self.versions: dict[str, int] = {}

        def _wrote(self, key: str, value: Any) -> None:
            self.model[key] = value
            self.versions[key] = self.versions.get(key, 0) + 1

        @rule(key=KEYS, value=VALUES)
        def set(self, key: str, value: Any) -> None:
            assert self.memory.set(key, value) == self.versions.get(key, 0) + 1
            self._wrote(key, value)

        @rule(key=KEYS, value=VALUES, expected=st.integers(0, 4))
        def set_if_version(self, key: str, value: Any, expected: int) -> None:
            if self.versions.get(key, 0) == expected:
                self.memory.set(key, value, if_version=expected)
                self._wrote(key, value)
            else:
                try:
                    self.memory.set(key, value, if_version=expected)
                except ConflictError:
                    pass
                else:
                    raise AssertionError("write with a stale version went through")

        @rule(key=KEYS)
        def get(self, key: str) -> None:
            got = self.memory.get(key, default="<missing>")
            assert got == self.model.get(key, "<missing>")
            if key in self.model:
                assert type(got) is type(self.model[key])

        @rule(key=KEYS)
        def delete(self, key: str) -> None:
            assert self.memory.delete(key) is (key in self.model)
            self.model.pop(key, None)
            self.versions.pop(key, None)

        @rule(key=KEYS, items=st.lists(VALUES, min_size=1, max_size=3))
        def append(self, key: str, items: list[Any]) -> None:
            current = self.model.get(key, [])
            if isinstance(current, list):
                assert self.memory.append(key, *items) == len(current) + len(items)
                self._wrote(key, current + items)
            else:
                try:
                    self.memory.append(key, *items)
                except NotAListError:
                    pass
                else:
                    raise AssertionError("append to a non-list went through")

        @rule(key=KEYS, last=st.integers(0, 5))
        def get_list(self, key: str, last: int) -> None:
            current = self.model.get(key, [])
            if isinstance(current, list):
                assert self.memory.get_list(key, last=last) == (current[-last:] if last else [])

        @rule(key=KEYS)
        def update(self, key: str) -> None:
            new = self.memory.update(key, lambda old: [old], default=None)
            assert new == [self.model.get(key)]
            self._wrote(key, new)

        @invariant()
        def keys_match(self) -> None:
            assert self.memory.list_keys() == sorted(self.model)

    run_state_machine_as_test(
        Model,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
