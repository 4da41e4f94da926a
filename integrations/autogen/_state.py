"""Durable agent and team state: ``save_state`` / ``load_state`` over BotWire.

AutoGen agents and teams turn their whole conversation into a JSON dict with
``await x.save_state()`` and restore it with ``await x.load_state(state)``. These
two functions keep that dict under one BotWire key, with the key's version, so a
conversation stopped in one process resumes in another, and two processes that
continue the same conversation cannot silently overwrite each other.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from botwire import ConflictError, ValidationError, validate_key
from botwire.autogen._memory import AnyMemory, async_memory

__all__ = ["Stateful", "load_state", "save_state"]

STATE_FORMAT = "botwire.autogen.state/1"

# For each agent/team object: the version of each (namespace, key) it last loaded or
# saved. Weak keys: the bookkeeping goes away with the agent.
_seen: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], int]] = weakref.WeakKeyDictionary()


@runtime_checkable
class Stateful(Protocol):
    """Anything with AutoGen's ``save_state``/``load_state`` pair (agents, teams)."""

    async def save_state(self) -> Mapping[str, Any]: ...

    async def load_state(self, state: Mapping[str, Any]) -> None: ...


def _check_target(agent_or_team: object) -> Stateful:
    if not isinstance(agent_or_team, Stateful):
        raise ValidationError(
            "expected an AutoGen agent or team (an object with async save_state() and "
            f"load_state()), not {type(agent_or_team).__name__}"
        )
    return agent_or_team


def _tracked(target: object) -> dict[tuple[str, str], int] | None:
    try:
        return _seen.setdefault(target, {})
    except TypeError:  # not weak-referenceable: callers must pass if_version
        return None


async def save_state(
    memory: AnyMemory,
    key: str,
    agent_or_team: Stateful,
    *,
    if_version: int | None = None,
    overwrite: bool = False,
) -> int:
    """Store ``await agent_or_team.save_state()`` under ``key``; return the new version.

    The write is conditional, so a concurrent saver is detected instead of being
    overwritten: by default it succeeds only if ``key`` is still at the version this
    object last loaded or saved (or, if it never did, only if ``key`` is absent).

    Example:
        >>> await load_state(memory, "chat:42", agent)   # None the first time
        >>> await agent.run(task="Hello")
        >>> await save_state(memory, "chat:42", agent)
        1

    Args:
        memory: a :class:`botwire.AsyncMemory`, :class:`botwire.Memory` or
            :class:`~botwire.autogen.BotWireMemory` (its namespace is used).
        key: the BotWire key that holds the state.
        agent_or_team: an AutoGen agent or team (``AssistantAgent``,
            ``RoundRobinGroupChat``, …).
        if_version: write only if the key is at this version (0: only if absent),
            instead of the version this object last saw.
        overwrite: write whatever the key holds (no conflict check).

    Returns:
        The key's new version.

    Raises:
        ConflictError: someone else saved ``key`` since this object last loaded or
            saved it (``.current_version`` is theirs). ``load_state`` again and
            redo the turn, or save with ``overwrite=True``.
        ValidationError: invalid arguments, or the state is larger than the
            store's value limit (1 MiB by default).
    """
    kv = async_memory(memory)
    key = validate_key(key)
    target = _check_target(agent_or_team)
    if overwrite and if_version is not None:
        raise ValidationError("pass either if_version or overwrite=True, not both")
    seen = _tracked(target)
    slot = (kv.namespace, key)
    expected: int | None
    if overwrite:
        expected = None
    elif if_version is not None:
        expected = if_version
    elif seen is not None:
        expected = seen.get(slot, 0)
    else:
        raise ValidationError(
            f"{type(target).__name__} objects cannot be tracked; pass if_version= "
            "(the version load_state returned, 0 for a new key) or overwrite=True"
        )
    state = dict(await target.save_state())
    value = {
        "format": STATE_FORMAT,
        "type": state.get("type"),
        "class": type(target).__qualname__,
        "saved_at": time.time(),
        "state": state,
    }
    try:
        version = await kv.set(key, value, if_version=expected)
    except ConflictError as exc:
        raise _conflict(kv.namespace, key, expected, exc.current_version) from exc
    if seen is not None:
        seen[slot] = version
    return version


async def load_state(memory: AnyMemory, key: str, agent_or_team: Stateful) -> int | None:
    """Restore ``agent_or_team`` from the state saved under ``key``.

    Args:
        memory: a :class:`botwire.AsyncMemory`, :class:`botwire.Memory` or
            :class:`~botwire.autogen.BotWireMemory`.
        key: the BotWire key that holds the state.
        agent_or_team: the agent or team to restore; it must be built like the one
            that was saved (same class, same participant names).

    Returns:
        The version loaded (remembered for the next :func:`save_state`), or
        ``None`` if ``key`` holds nothing; the object is then left as it was.

    Raises:
        ValidationError: ``key`` holds something that is not a saved state, or a
            state of another kind (say, a team's state loaded into an agent).
    """
    kv = async_memory(memory)
    key = validate_key(key)
    target = _check_target(agent_or_team)
    item = await kv.get_item(key)
    seen = _tracked(target)
    if item is None:
        if seen is not None:
            seen[(kv.namespace, key)] = 0
        return None
    value = item.value
    if not isinstance(value, dict) or value.get("format") != STATE_FORMAT:
        raise ValidationError(
            f"key {key!r} in namespace {kv.namespace!r} does not hold a state written by "
            "botwire.autogen.save_state"
        )
    state = value.get("state")
    if not isinstance(state, dict):
        raise ValidationError(f"the state under {key!r} is damaged (no 'state' object)")
    saved_type = state.get("type")
    if saved_type is not None:
        own_type = (await target.save_state()).get("type")
        if own_type is not None and own_type != saved_type:
            raise ValidationError(
                f"key {key!r} holds a saved {saved_type} (from a {value.get('class')}); "
                f"this {type(target).__name__} needs a {own_type}"
            )
    await target.load_state(state)
    if seen is not None:
        seen[(kv.namespace, key)] = item.version
    return item.version


def _conflict(namespace: str, key: str, expected: int | None, current: int | None) -> ConflictError:
    now = f"now version {current}" if current is not None else "it changed"
    if expected == 0:
        message = (
            f"state {key!r} in namespace {namespace!r} already exists ({now}) and this "
            "object did not load it; call load_state first to continue it, or save with "
            "overwrite=True to replace it"
        )
    else:
        message = (
            f"state {key!r} in namespace {namespace!r} was saved by someone else since "
            f"this object loaded or saved version {expected} ({now}); load_state again "
            "and redo the work, or save with overwrite=True to replace theirs"
        )
    return ConflictError(message, key=key, current_version=current)
