"""``BotWireChatMessageHistory``: LangChain chat history on a BotWire list.

Each session is one list value; every message is one item holding
``messages_to_dict([message])[0]``. A turn is a single atomic ``append`` of its new
messages, so a turn costs the same at message 1,000 as at message 1 and concurrent
writers to one session never lose a message. ``window=n`` reads only the last ``n``
messages with one tail read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Sequence
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage, messages_from_dict, messages_to_dict

from botwire import (
    AsyncMemory,
    ConflictError,
    Memory,
    NotAListError,
    ValidationError,
    decode,
    validate_key,
)
from botwire.langchain._twins import MemoryPair
from botwire.tools import Call, arun_plan, run_plan

__all__ = ["DEFAULT_SESSIONS_NAMESPACE", "BotWireChatMessageHistory", "session_key"]

DEFAULT_SESSIONS_NAMESPACE = "langchain-sessions"
"""Namespace of chat histories; the original SDK's ``BotWireChatHistory`` used it too."""

_HASHED = "~sha256:"


def session_key(session_id: str) -> str:
    """Return the BotWire key that holds the session ``session_id``.

    A session id that is a valid key is used as is (so sessions written by the
    original SDK are found); any other string, and any id starting with ``~``, maps
    to ``"~sha256:<hex digest>"``, so every string is a usable session id and two
    ids never share a key.

    Raises:
        ValidationError: ``session_id`` is not a string.
    """
    if not isinstance(session_id, str):
        raise ValidationError(
            f"session_id must be a string, not {type(session_id).__name__}; "
            "pass str(...) of your id"
        )
    if not session_id.startswith("~"):
        try:
            return validate_key(session_id)
        except ValidationError:
            pass  # empty, too long, control characters: hash it
    digest = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()
    return _HASHED + digest


def _window(window: int | None) -> int | None:
    if window is None:
        return None
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValidationError(
            f"window must be a positive number of messages or None (all), not {window!r}"
        )
    return window


def _check_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    if isinstance(messages, BaseMessage):
        raise ValidationError("add_messages takes a list of messages; use add_message for one")
    listed = list(messages)
    for message in listed:
        if not isinstance(message, BaseMessage):
            raise ValidationError(
                f"chat history holds langchain_core BaseMessage objects, "
                f"not {type(message).__name__}"
            )
    return listed


def _legacy_list(value: Any) -> list[Any] | None:
    """The original SDK stored a session as JSON *text*; return it as a list."""
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = decode(value)
        except ValueError:
            return None
        if isinstance(parsed, list):
            return parsed
    return None


class BotWireChatMessageHistory(BaseChatMessageHistory):
    """Durable LangChain chat message history: one BotWire list per session.

    Example:
        >>> from botwire import Memory
        >>> from botwire.langchain import BotWireChatMessageHistory
        >>> memory = Memory("langchain-sessions")
        >>> history = BotWireChatMessageHistory("user-42", memory=memory)
        >>> history.add_user_message("Hi, I'm Ada")
        >>> [m.content for m in history.messages]
        ["Hi, I'm Ada"]

    Args:
        session_id: any string; one conversation.
        namespace: namespace of the sessions when ``memory`` is not given.
        memory: a ``botwire.Memory`` or ``botwire.AsyncMemory`` to store into
            (recommended: share one across histories). The other twin is derived
            from it; see :mod:`botwire.langchain` for the rules.
        url: store URL when ``memory`` is not given (default ``$BOTWIRE_URL``, else
            the embedded file), or where the sync twin of a natively async
            ``AsyncMemory`` lives.
        window: read only the newest ``window`` messages (``None``: all of them).

    Raises:
        ValidationError: a bad ``session_id``, ``window``, ``namespace`` or ``memory``.
    """

    def __init__(
        self,
        session_id: str,
        *,
        namespace: str = DEFAULT_SESSIONS_NAMESPACE,
        memory: Memory | AsyncMemory | None = None,
        url: str | None = None,
        window: int | None = None,
    ) -> None:
        self.key = session_key(session_id)
        self.session_id = session_id
        self.window = _window(window)
        self._pair = MemoryPair(memory, namespace, url, type(self).__name__)

    @property
    def namespace(self) -> str:
        """The BotWire namespace the session lives in."""
        return self._pair.namespace

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.session_id!r}, namespace={self.namespace!r}, "
            f"window={self.window!r})"
        )

    # -- sync and async: one plan each, run on Memory or awaited on AsyncMemory --------
    # (async is native on AsyncMemory, never a thread around the sync methods)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's messages, oldest first (the newest ``window`` if set)."""
        return run_plan(self._pair.sync, self._read(self.window))

    def get_messages(self, last: int | None = None) -> list[BaseMessage]:
        """Return the newest ``last`` messages (all if ``None``), oldest first.

        Raises:
            ValidationError: ``last`` is not a positive integer.
        """
        return run_plan(self._pair.sync, self._read(_window(last)))

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` to the session in one atomic write.

        Raises:
            ValidationError: an item is not a ``BaseMessage`` or is too large.
        """
        items = messages_to_dict(_check_messages(messages))
        if items:
            run_plan(self._pair.sync, self._append(items))

    def clear(self) -> None:
        """Delete every message of the session."""
        self._pair.sync.delete(self.key)

    async def aget_messages(self) -> list[BaseMessage]:
        """Async :attr:`messages`."""
        return await arun_plan(self._pair.async_, self._read(self.window))

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Async :meth:`add_messages`: one atomic append."""
        items = messages_to_dict(_check_messages(messages))
        if items:
            await arun_plan(self._pair.async_, self._append(items))

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        await self._pair.async_.delete(self.key)

    def _read(self, last: int | None) -> Generator[Call, Any, list[BaseMessage]]:
        try:
            items = yield ("get_list", (self.key,), {"last": last})
        except NotAListError:
            items = self._read_legacy((yield ("get", (self.key,), {})), last)
        return messages_from_dict(items)

    def _append(self, items: list[dict[str, Any]]) -> Generator[Call, Any, None]:
        while True:
            try:
                yield ("append", (self.key, *items), {})
                return
            except NotAListError:
                yield from self._upgrade_legacy()

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Close a store this history opened itself (not a ``memory=`` passed in)."""
        self._pair.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        await self._pair.aclose()

    # -- the original SDK's format --------------------------------------------------

    def _read_legacy(self, value: Any, last: int | None) -> list[Any]:
        """The last ``last`` (all if ``None``) messages of an original-SDK session."""
        items = _legacy_list(value)
        if items is None:
            raise NotAListError(
                f"the value at {self.key!r} in namespace {self.namespace!r} is not a chat "
                "history; use another session id or namespace"
            )
        return items if last is None else items[-last:]

    def _upgrade_legacy(self) -> Generator[Call, Any, None]:
        """Rewrite an original-SDK session (JSON text) as a list, once."""
        item = yield ("get_item", (self.key,), {})
        if item is None:
            return
        items = self._read_legacy(item.value, None)
        try:
            yield ("set", (self.key, items), {"if_version": item.version})
        except ConflictError:
            pass  # another writer changed it first; the caller retries the append
