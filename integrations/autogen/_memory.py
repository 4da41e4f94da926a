"""``BotWireMemory``: an AutoGen ``Memory`` whose contents live in BotWire."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any, TypeAlias

from autogen_core import CancellationToken, Component, Image
from autogen_core.memory import (
    Memory,
    MemoryContent,
    MemoryMimeType,
    MemoryQueryResult,
    UpdateContextResult,
)
from autogen_core.model_context import ChatCompletionContext
from autogen_core.models import SystemMessage, UserMessage
from pydantic import BaseModel
from typing_extensions import Self

from botwire import AsyncMemory, AsyncStore, ValidationError
from botwire import Memory as KVMemory
from botwire.tools import rank

__all__ = ["AnyMemory", "BotWireMemory", "BotWireMemoryConfig", "async_memory"]

ENTRY_FORMAT = "botwire.autogen.memory/1"
"""Marks a stored value as a memory entry; other values under the prefix are skipped."""

DEFAULT_PREFIX = "memory/"
DEFAULT_LIMIT = 5


class BotWireMemoryConfig(BaseModel):
    """What ``BotWireMemory.dump_component()`` records (never the API key)."""

    namespace: str
    url: str | None = None
    prefix: str = DEFAULT_PREFIX
    limit: int = DEFAULT_LIMIT
    name: str | None = None
    timeout: float = 10.0


class BotWireMemory(Memory, Component[BotWireMemoryConfig]):
    """Durable AutoGen memory: ``AssistantAgent(memory=[BotWireMemory("user-42")])``.

    Each :class:`~autogen_core.memory.MemoryContent` added is one BotWire key
    (``<prefix><time>-<random>``), so memories survive restarts and are shared by
    every process that opens the same namespace. Before each model call the agent
    calls :meth:`update_context`, which puts the memories most relevant to the
    latest user message (keyword match, then recency) into one system message;
    the previous turn's block is replaced, never repeated.

    Example:
        >>> memory = BotWireMemory("user-42")
        >>> await memory.add(MemoryContent(content="Prefers metric units",
        ...                                mime_type=MemoryMimeType.TEXT))
        >>> agent = AssistantAgent("assistant", model_client=client, memory=[memory])

    Args:
        namespace: the BotWire namespace (1–128 of ``A-Z a-z 0-9 _ - . : @``).
        url: where the data lives (default ``$BOTWIRE_URL``, else the embedded file).
        api_key: server token (default ``$BOTWIRE_API_KEY``); never written by
            :meth:`dump_component`.
        timeout: seconds for one request to a server.
        store: an already-open :class:`~botwire.AsyncStore` to use instead of ``url``.
        prefix: key prefix of this memory's entries inside the namespace.
        limit: how many memories :meth:`query` and :meth:`update_context` return.
        name: label of the injected block (default ``botwire:<namespace>``).

    Attributes:
        memory: the underlying :class:`botwire.AsyncMemory` (for your own keys).

    Raises:
        ValidationError: an argument is invalid (the message says which).
    """

    component_type = "memory"
    component_config_schema = BotWireMemoryConfig
    component_provider_override = "botwire.autogen.BotWireMemory"

    def __init__(
        self,
        namespace: str,
        url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        store: AsyncStore | None = None,
        prefix: str = DEFAULT_PREFIX,
        limit: int = DEFAULT_LIMIT,
        name: str | None = None,
    ) -> None:
        if not isinstance(prefix, str):
            raise ValidationError(f"prefix must be a string, not {type(prefix).__name__}")
        self.limit = _check_limit(limit)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValidationError("name must be a non-empty string (or None for the default)")
        self.memory = AsyncMemory(namespace, url, api_key=api_key, timeout=timeout, store=store)
        self.url = url
        self.timeout = timeout
        self.prefix = prefix
        self.name = name or f"botwire:{self.memory.namespace}"

    @property
    def namespace(self) -> str:
        """The BotWire namespace holding this memory."""
        return self.memory.namespace

    def __repr__(self) -> str:
        return f"BotWireMemory({self.namespace!r}, prefix={self.prefix!r}, limit={self.limit})"

    # -- the autogen_core.memory.Memory interface -----------------------------------

    async def add(
        self, content: MemoryContent, cancellation_token: CancellationToken | None = None
    ) -> None:
        """Store ``content`` durably as a new memory.

        Raises:
            ValidationError: ``content`` is not a ``MemoryContent`` or is too large.
        """
        key = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        await self._put(key, content)

    async def query(
        self,
        query: str | MemoryContent = "",
        cancellation_token: CancellationToken | None = None,
        **kwargs: Any,
    ) -> MemoryQueryResult:
        """Return the memories that best match ``query``, best first.

        A memory matches when it shares a word with the query (common words and a
        plural ``s`` ignored); more shared words rank higher, then newer memories.
        A query with no search words (``""``, "hi") returns the newest memories.

        Args:
            query: text, or a ``MemoryContent`` whose content is used as text.
            limit: keyword-only; how many to return (default: the ``limit`` given
                to the constructor).

        Raises:
            ValidationError: ``limit`` is not a positive integer, or an unknown
                keyword argument was passed.
        """
        limit = _check_limit(kwargs.pop("limit", self.limit))
        if kwargs:
            raise ValidationError(
                f"unknown query argument(s) {sorted(kwargs)}; BotWireMemory.query takes limit="
            )
        if isinstance(query, MemoryContent):
            text = _text(query)
        elif isinstance(query, str):
            text = query
        else:
            raise ValidationError(
                f"query must be a string or MemoryContent, not {type(query).__name__}"
            )
        entries = await self._entries()
        ranked = rank(text, ((_raw_text(e), _added_at(e), e) for e in entries), limit)
        decoded = (_decode_entry(e) for e in ranked)  # only the winners pay for pydantic
        return MemoryQueryResult(results=[d for d in decoded if d is not None])

    async def update_context(self, model_context: ChatCompletionContext) -> UpdateContextResult:
        """Put the memories relevant to the latest user message into ``model_context``.

        The memories go into one system message at the end of the context. A block
        added on an earlier turn is removed first, so however many turns the
        conversation has, each memory is in the model input at most once.
        """
        messages = await model_context.get_messages()
        latest = next((m for m in reversed(messages) if isinstance(m, UserMessage)), None)
        result = await self.query(_user_text(latest) if latest is not None else "")
        await self._drop_block(model_context)
        if result.results:
            await model_context.add_message(SystemMessage(content=self._render(result.results)))
        return UpdateContextResult(memories=result)

    async def clear(self) -> None:
        """Delete every memory of this instance: the keys under ``prefix``.

        Other keys of the namespace are kept (with ``prefix=""`` there are none).
        """
        while True:
            keys = await self.memory.list_keys(self.prefix, limit=500)
            if not keys:
                return
            await self.memory.delete_many(keys)

    async def close(self) -> None:
        """Close the store this memory opened (not one passed as ``store=``)."""
        await self.memory.aclose()

    # -- component config ------------------------------------------------------------

    def _to_config(self) -> BotWireMemoryConfig:
        return BotWireMemoryConfig(
            namespace=self.namespace,
            url=self.url,
            prefix=self.prefix,
            limit=self.limit,
            name=self.name,
            timeout=self.timeout,
        )

    @classmethod
    def _from_config(cls, config: BotWireMemoryConfig) -> Self:
        return cls(
            config.namespace,
            config.url,
            timeout=config.timeout,
            prefix=config.prefix,
            limit=config.limit,
            name=config.name,
        )

    # -- helpers shared with the tools -----------------------------------------------

    async def _put(self, key: str, content: MemoryContent) -> int:
        """Store ``content`` at ``prefix + key`` (replacing it); return the version."""
        if not isinstance(content, MemoryContent):
            raise ValidationError(
                f"add takes an autogen_core.memory.MemoryContent, not {type(content).__name__}"
            )
        return await self.memory.set(self.prefix + key, _encode_entry(content))

    async def _get(self, key: str) -> MemoryContent | None:
        return _decode_entry(await self.memory.get(self.prefix + key))

    async def _entries(self) -> list[dict[str, Any]]:
        """Every stored entry under the prefix, as its raw JSON object."""
        keys = await self.memory.list_keys(self.prefix)
        values = await self.memory.get_many(keys) if keys else {}
        return [v for v in values.values() if _is_entry(v)]

    def _header(self) -> str:
        return f"Relevant memories ({self.name}), best match first:"

    def _render(self, contents: Sequence[MemoryContent]) -> str:
        lines = [f"{i}. {_shown(c)}" for i, c in enumerate(contents, 1)]
        return "\n".join([self._header(), *lines])

    async def _drop_block(self, model_context: ChatCompletionContext) -> None:
        header = self._header()
        state = dict(await model_context.save_state())
        messages = list(state.get("messages", []))
        kept = [m for m in messages if not _is_block(m, header)]
        if len(kept) != len(messages):
            await model_context.load_state({**state, "messages": kept})


AnyMemory: TypeAlias = KVMemory | AsyncMemory | BotWireMemory
"""What the adapter's functions accept as their ``memory`` argument."""


def async_memory(memory: Any) -> AsyncMemory:
    """The :class:`~botwire.AsyncMemory` behind any :data:`AnyMemory`.

    Raises:
        ValidationError: ``memory`` is not one.
    """
    if isinstance(memory, AsyncMemory):
        return memory
    if isinstance(memory, BotWireMemory):
        return memory.memory
    if isinstance(memory, KVMemory):
        return AsyncMemory.from_sync(memory)
    raise ValidationError(
        "memory must be a botwire.Memory, botwire.AsyncMemory or "
        f"botwire.autogen.BotWireMemory, not {type(memory).__name__}"
    )


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError(f"limit must be a positive integer, not {limit!r}")
    return limit


def _is_block(message: Any, header: str) -> bool:
    if isinstance(message, dict):
        kind, content = message.get("type"), message.get("content")
    else:
        kind, content = type(message).__name__, getattr(message, "content", None)
    return kind == "SystemMessage" and isinstance(content, str) and content.startswith(header)


def _user_text(message: UserMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return " ".join(part for part in message.content if isinstance(part, str))


def _is_entry(value: Any) -> bool:
    return isinstance(value, dict) and value.get("format") == ENTRY_FORMAT


def _added_at(entry: dict[str, Any]) -> float:
    added_at = entry.get("added_at")
    return float(added_at) if isinstance(added_at, (int, float)) else 0.0


def _raw_text(entry: dict[str, Any]) -> str:
    """The searchable text of a stored entry, without building a ``MemoryContent``."""
    body, metadata = entry.get("content"), entry.get("metadata")
    if isinstance(body, dict):
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    elif entry.get("encoding") == "text" and isinstance(body, str):
        text = body
    else:
        text = ""
    if metadata:
        text += " " + json.dumps(metadata, ensure_ascii=False, default=str)
    return text


def _text(content: MemoryContent) -> str:
    """The searchable text of a memory: its text or JSON, plus its metadata."""
    body = content.content
    if isinstance(body, str):
        text = body
    elif isinstance(body, dict):
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    else:
        text = ""
    if content.metadata:
        text += " " + json.dumps(content.metadata, ensure_ascii=False, default=str)
    return text


def _shown(content: MemoryContent) -> str:
    """How a memory reads in the model's context."""
    body = content.content
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        return json.dumps(body, ensure_ascii=False, sort_keys=True)
    if isinstance(body, bytes):
        return f"[binary data, {len(body)} bytes]"
    return "[image]"


def _encode_entry(content: MemoryContent) -> dict[str, Any]:
    body = content.content
    value: str | dict[str, Any]
    if isinstance(body, str):
        encoding, value = "text", body
    elif isinstance(body, dict):
        encoding, value = "json", body
    elif isinstance(body, bytes):
        encoding, value = "base64", base64.b64encode(body).decode("ascii")
    elif isinstance(body, Image):
        encoding, value = "image", body.to_base64()
    else:  # pragma: no cover - MemoryContent's own validation prevents this
        raise ValidationError(f"unsupported memory content type {type(body).__name__}")
    mime = content.mime_type
    return {
        "format": ENTRY_FORMAT,
        "content": value,
        "encoding": encoding,
        "mime_type": mime.value if isinstance(mime, MemoryMimeType) else str(mime),
        "metadata": content.metadata,
        "added_at": time.time(),
    }


def _decode_entry(value: Any) -> MemoryContent | None:
    """Turn a stored entry back into a ``MemoryContent``; ``None`` if it is not one."""
    if not _is_entry(value):
        return None
    encoding, raw = value.get("encoding"), value.get("content")
    body: str | bytes | dict[str, Any] | Image
    if encoding == "base64" and isinstance(raw, str):
        body = base64.b64decode(raw)
    elif encoding == "image" and isinstance(raw, str):
        body = Image.from_base64(raw)
    elif encoding in ("text", "json") and isinstance(raw, (str, dict)):
        body = raw
    else:
        return None
    mime = str(value.get("mime_type", MemoryMimeType.TEXT.value))
    try:
        mime_type: MemoryMimeType | str = MemoryMimeType(mime)
    except ValueError:
        mime_type = mime
    metadata = value.get("metadata")
    return MemoryContent(
        content=body, mime_type=mime_type, metadata=metadata if isinstance(metadata, dict) else None
    )
