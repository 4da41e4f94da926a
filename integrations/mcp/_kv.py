"""The key-value tools (``memory_set`` … ``memory_search``) and the resources."""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import quote, unquote

from pydantic import Field

from botwire import Item
from botwire.mcp._access import Namespaces, tool_errors
from botwire.mcp._compat import (
    URI_PARAMS_DECODED,
    Server,
    ToolAnnotations,
    keep_strings,
    resource_options,
)
from botwire.mcp._search import MAX_SEARCH, QUERY_DESCRIPTION, search

__all__ = ["KV_TOOLS", "READ_TOOLS", "add_kv_tools", "add_resources"]

READ_TOOLS = ("memory_get", "memory_list_keys", "memory_get_list", "memory_search")
WRITE_TOOLS = ("memory_set", "memory_delete", "memory_append")
KV_TOOLS = (
    "memory_set",
    "memory_get",
    "memory_delete",
    "memory_list_keys",
    "memory_append",
    "memory_get_list",
    "memory_search",
)
"""The tool names, fixed so prompts and hosts can rely on them."""

MAX_LIST = 1000

Key = Annotated[
    str,
    Field(description="The key, a short stable name such as 'user:42:language' (any text)."),
]
Namespace = Annotated[
    str | None,
    Field(description="Namespace (separate keyspace) to use; omit it for the default one."),
]

_READ = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat().replace("+00:00", "Z")


def _found(namespace: str, item: Item) -> dict[str, Any]:
    return {
        "found": True,
        "namespace": namespace,
        "key": item.key,
        "value": item.value,
        "version": item.version,
        "created_at": _when(item.created_at),
        "updated_at": _when(item.updated_at),
        "expires_at": _when(item.expires_at),
    }


def add_kv_tools(server: Server, spaces: Namespaces, *, read_only: bool) -> None:
    """Register the key-value tools (only the reading ones if ``read_only``)."""

    async def memory_get(key: Key, namespace: Namespace = None) -> dict[str, Any]:
        with tool_errors():
            memory = spaces.memory(namespace)
            item = await memory.get_item(key)
        if item is None:
            return {"found": False, "namespace": memory.namespace, "key": key}
        return _found(memory.namespace, item)

    async def memory_list_keys(
        prefix: Annotated[
            str, Field(description="Only keys that start with this text; empty for all.")
        ] = "",
        namespace: Namespace = None,
        cursor: Annotated[
            str | None,
            Field(description="The next_cursor of the previous call, to read the next page."),
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=MAX_LIST, description=f"Most keys to return (1-{MAX_LIST}).")
        ] = 100,
    ) -> dict[str, Any]:
        with tool_errors():
            memory = spaces.memory(namespace)
            page = await memory.store.list_keys(
                memory.namespace, prefix=prefix, limit=limit, cursor=cursor or None
            )
        return {"namespace": memory.namespace, "keys": page.keys, "next_cursor": page.next_cursor}

    async def memory_get_list(
        key: Key,
        last: Annotated[
            int | None, Field(ge=0, description="Only the last this many items; omit for all.")
        ] = None,
        namespace: Namespace = None,
    ) -> dict[str, Any]:
        with tool_errors():
            memory = spaces.memory(namespace)
            items = await memory.get_list(key, last=last)
        return {"namespace": memory.namespace, "key": key, "items": items}

    async def memory_search(
        query: Annotated[str, Field(description=QUERY_DESCRIPTION)],
        namespace: Namespace = None,
        limit: Annotated[
            int, Field(ge=1, le=MAX_SEARCH, description=f"Most results (1-{MAX_SEARCH}).")
        ] = 10,
    ) -> dict[str, Any]:
        with tool_errors():
            memory = spaces.memory(namespace)
            results = await search(memory, query, limit)
        return {"namespace": memory.namespace, "results": results}

    server.add_tool(
        memory_get,
        title="Read a memory",
        description="Read the value stored under a key, with its version and timestamps "
        '({"found": false} if there is none).',
        annotations=_READ,
    )
    server.add_tool(
        memory_list_keys,
        title="List memory keys",
        description="List stored keys in order, optionally only those starting with a "
        "prefix, one page at a time.",
        annotations=_READ,
    )
    server.add_tool(
        memory_get_list,
        title="Read a memory list",
        description="Read the list stored under a key (made by memory_append), or only its "
        "last items.",
        annotations=_READ,
    )
    server.add_tool(
        memory_search,
        title="Search memories",
        description="Find stored keys whose name or value contains the query's words, "
        "best match first; use it when you do not know the exact key.",
        annotations=_READ,
    )
    if read_only:
        return

    async def memory_set(
        key: Key,
        value: Annotated[
            Any,
            Field(
                description="Any JSON value (text, number, true/false, null, list or "
                "object); it is stored exactly as given."
            ),
        ],
        namespace: Namespace = None,
        ttl: Annotated[
            float | None,
            Field(gt=0, description="Forget the value after this many seconds; omit to keep it."),
        ] = None,
        if_version: Annotated[
            int | None,
            Field(
                ge=0,
                description="Write only if the key's current version is this (0: only if "
                "the key does not exist yet); omit to write unconditionally.",
            ),
        ] = None,
    ) -> dict[str, Any]:
        with tool_errors():
            memory = spaces.memory(namespace, "write")
            version = await memory.set(key, value, ttl=ttl, if_version=if_version)
        return {"namespace": memory.namespace, "key": key, "version": version}

    async def memory_delete(key: Key, namespace: Namespace = None) -> dict[str, Any]:
        with tool_errors():
            memory = spaces.memory(namespace, "write")
            deleted = await memory.delete(key)
        return {"namespace": memory.namespace, "key": key, "deleted": deleted}

    async def memory_append(
        key: Key,
        items: Annotated[
            list[Any],
            Field(min_length=1, description="The JSON values to add at the end of the list."),
        ],
        namespace: Namespace = None,
    ) -> dict[str, Any]:
        with tool_errors():
            memory = spaces.memory(namespace, "write")
            length = await memory.append(key, *items)
        return {"namespace": memory.namespace, "key": key, "length": length}

    server.add_tool(
        memory_set,
        title="Store a memory",
        description="Store a JSON value under a key so it is remembered across conversations, "
        "replacing any previous value.",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False
        ),
    )
    keep_strings(server, "memory_set", "value")
    server.add_tool(
        memory_delete,
        title="Delete a memory",
        description="Delete the value stored under a key (deleted is false if there was none).",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False
        ),
    )
    server.add_tool(
        memory_append,
        title="Append to a memory list",
        description="Add items to the end of the list stored under a key, creating it if "
        "needed; concurrent appends are never lost.",
        annotations=ToolAnnotations(
            readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
        ),
    )


def key_uri(namespace: str, key: str) -> str:
    """The resource URI of one key: ``botwire://{namespace}/{percent-encoded key}``."""
    return f"botwire://{namespace}/{quote(key, safe='')}"


def add_resources(server: Server, spaces: Namespaces) -> None:
    """Register ``botwire://{namespace}/{key}`` and a key listing per namespace."""

    @server.resource(
        "botwire://{namespace}/{key}",
        name="memory-value",
        title="A stored value",
        description="The JSON value stored under a key (keys are percent-encoded in the URI).",
        mime_type="application/json",
        **resource_options("namespace", "key"),
    )
    async def read_value(namespace: str, key: str) -> str:
        if not URI_PARAMS_DECODED:
            namespace, key = unquote(namespace), unquote(key)
        with tool_errors():
            item = await spaces.memory(namespace).get_item(key)
        if item is None:
            raise ValueError(f"no key {key!r} in namespace {namespace!r}")
        return json.dumps(item.value, ensure_ascii=False)

    async def listing(namespace: str) -> str:
        with tool_errors():
            memory = spaces.memory(namespace)
            keys = await memory.list_keys(limit=MAX_LIST)
        uris = [{"key": k, "uri": key_uri(memory.namespace, k)} for k in keys]
        return json.dumps({"namespace": memory.namespace, "keys": uris}, ensure_ascii=False)

    @server.resource(
        "botwire://{namespace}",
        name="memory-keys",
        title="Stored keys",
        description=f"The first {MAX_LIST} keys of a namespace, each with its resource URI.",
        mime_type="application/json",
        **resource_options("namespace"),
    )
    async def list_namespace(namespace: str) -> str:
        return await listing(unquote(namespace) if not URI_PARAMS_DECODED else namespace)

    def lister(name: str) -> Callable[[], Awaitable[str]]:
        async def list_keys() -> str:
            return await listing(name)

        return list_keys

    for name in spaces.literal:  # listed by resources/list, unlike templates
        server.resource(
            f"botwire://{name}",
            name=f"keys-{name}",
            title=f"Keys in {name}",
            description=f"The first {MAX_LIST} keys of namespace {name!r}.",
            mime_type="application/json",
        )(lister(name))
