"""Knowledge-graph tools compatible with ``@modelcontextprotocol/server-memory``.

The nine tools keep server-memory's names, arguments and result shapes, so a
host config switches by changing only the command. The graph lives in BotWire
keys of the default namespace instead of one JSONL file:

* ``graph:entity:<name>`` → ``{"name", "entityType", "observations": [...]}``
* ``graph:relation:<JSON [from, relationType, to]>`` → ``{"from", "to", "relationType"}``

An entity's observations change by compare-and-set (``AsyncMemory.update``) and
a relation is created only if absent (``if_version=0``), so several hosts and
processes editing one graph at once never lose each other's edits.
"""

import json
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from botwire import AsyncMemory, ConflictError, GetOp, NotFoundError, Record, ValidationError
from botwire.mcp._access import Namespaces, tool_errors
from botwire.mcp._compat import Server, ToolAnnotations
from botwire.mcp._search import records
from botwire.tokens import Access

__all__ = ["GRAPH_TOOLS", "Graph", "add_graph_tools", "import_jsonl"]

GRAPH_TOOLS = (
    "create_entities",
    "create_relations",
    "add_observations",
    "delete_entities",
    "delete_observations",
    "delete_relations",
    "read_graph",
    "search_nodes",
    "open_nodes",
)
"""server-memory's tool names, kept as they are."""

ENTITY = "graph:entity:"
RELATION = "graph:relation:"


class EntityIn(BaseModel):
    """An entity as server-memory's tools take it."""

    name: str = Field(description="The name of the entity")
    entityType: str = Field(description="The type of the entity")
    observations: list[str] = Field(
        description="An array of observation contents associated with the entity"
    )


class RelationIn(BaseModel):
    """A relation as server-memory's tools take it (``from`` is a Python keyword)."""

    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(
        alias="from", description="The name of the entity where the relation starts"
    )
    to: str = Field(description="The name of the entity where the relation ends")
    relationType: str = Field(description="The type of the relation")

    def as_dict(self) -> dict[str, str]:
        """The relation in server-memory's shape."""
        return {"from": self.source, "to": self.to, "relationType": self.relationType}


class ObservationsIn(BaseModel):
    """Observations to add to one entity."""

    entityName: str = Field(description="The name of the entity to add the observations to")
    contents: list[str] = Field(description="An array of observation contents to add")


class DeletionIn(BaseModel):
    """Observations to delete from one entity."""

    entityName: str = Field(description="The name of the entity containing the observations")
    observations: list[str] = Field(description="An array of observations to delete")


def entity_key(name: str) -> str:
    """The BotWire key of entity ``name``."""
    return ENTITY + name


def relation_key(relation: dict[str, str]) -> str:
    """The BotWire key of a relation: one key per distinct (from, type, to)."""
    parts = [relation["from"], relation["relationType"], relation["to"]]
    return RELATION + json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(f"Entity with name {name} not found")


class _Gone(Exception):
    """The entity was deleted while its observations were being changed."""


class Graph:
    """A knowledge graph stored in one namespace of an ``AsyncMemory``."""

    def __init__(self, memory: AsyncMemory) -> None:
        self.memory = memory

    async def _records(self, prefix: str) -> list[Record]:
        found = await records(self.memory, prefix=prefix)
        found.sort(key=lambda r: (r.created_at, r.key))  # oldest first, like server-memory's file
        return found

    async def entities(self) -> list[dict[str, Any]]:
        """Every entity, oldest first."""
        return [json.loads(r.raw) for r in await self._records(ENTITY)]

    async def relations(self) -> list[dict[str, str]]:
        """Every relation, oldest first."""
        return [json.loads(r.raw) for r in await self._records(RELATION)]

    async def read(self) -> dict[str, Any]:
        """``{"entities": [...], "relations": [...]}``."""
        return {"entities": await self.entities(), "relations": await self.relations()}

    async def create_entities(self, entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create the entities whose name is new; return those created."""
        created: list[dict[str, Any]] = []
        seen: set[str] = set()
        for entity in entities:
            if entity["name"] in seen:
                continue
            seen.add(entity["name"])
            try:
                await self.memory.set(entity_key(entity["name"]), entity, if_version=0)
            except ConflictError:
                continue
            created.append(entity)
        return created

    async def _missing(self, names: Iterable[str]) -> list[str]:
        wanted = list(dict.fromkeys(names))
        found = await self.memory.get_many([entity_key(n) for n in wanted])
        return [n for n in wanted if entity_key(n) not in found]

    async def create_relations(self, relations: Iterable[dict[str, str]]) -> list[dict[str, str]]:
        """Create the relations that are new; both ends must exist."""
        relations = list(relations)
        missing = await self._missing(n for r in relations for n in (r["from"], r["to"]))
        if missing:
            raise _not_found(missing[0])
        created: list[dict[str, str]] = []
        seen: set[str] = set()
        for relation in relations:
            key = relation_key(relation)
            if key in seen:
                continue
            seen.add(key)
            try:
                await self.memory.set(key, relation, if_version=0)
            except ConflictError:
                continue
            created.append(relation)
        return created

    async def add_observations(self, additions: Iterable[tuple[str, list[str]]]) -> list[Any]:
        """Add observations that are new to each entity; every entity must exist."""
        additions = list(additions)
        missing = await self._missing(name for name, _ in additions)
        if missing:
            raise _not_found(missing[0])
        results = []
        for name, contents in additions:
            added: list[str] = []

            def add(
                entity: Any, name: str = name, contents: list[str] = contents, added: Any = added
            ) -> Any:
                if entity is None:  # deleted since the check above
                    raise _not_found(name)
                have = set(entity["observations"])
                added[:] = [c for c in dict.fromkeys(contents) if c not in have]
                return {**entity, "observations": entity["observations"] + added}

            await self.memory.update(entity_key(name), add)
            results.append({"entityName": name, "addedObservations": added})
        return results

    async def delete_entities(self, names: list[str]) -> tuple[list[str], list[str]]:
        """Delete entities and every relation touching them: (deleted, not found)."""
        existed = [n for n in names if await self.memory.delete(entity_key(n))]
        gone = set(names)
        touching = [relation_key(r) for r in await self.relations() if {r["from"], r["to"]} & gone]
        if touching:
            await self.memory.delete_many(touching)
        return existed, [n for n in names if n not in existed]

    async def delete_observations(
        self, deletions: Iterable[tuple[str, list[str]]]
    ) -> tuple[int, list[str]]:
        """Remove observations: (how many were removed, entities not found)."""
        removed = 0
        missing: list[str] = []
        for name, observations in deletions:
            counted = [0]

            def drop(
                entity: Any, observations: list[str] = observations, counted: Any = counted
            ) -> Any:
                if entity is None:
                    raise _Gone
                kept = [o for o in entity["observations"] if o not in observations]
                counted[0] = len(entity["observations"]) - len(kept)
                return {**entity, "observations": kept}

            try:
                await self.memory.update(entity_key(name), drop)
            except _Gone:
                missing.append(name)
                continue
            removed += counted[0]
        return removed, missing

    async def delete_relations(self, relations: Iterable[dict[str, str]]) -> int:
        """Delete relations; return how many existed."""
        keys = list(dict.fromkeys(relation_key(r) for r in relations))
        return await self.memory.delete_many(keys) if keys else 0

    async def search(self, query: str) -> dict[str, Any]:
        """Entities whose name, type or an observation contains ``query`` (any case)."""
        needle = query.lower()
        entities = [
            e
            for e in await self.entities()
            if needle in e["name"].lower()
            or needle in e["entityType"].lower()
            or any(needle in o.lower() for o in e["observations"])
        ]
        return await self._with_relations(entities)

    async def open(self, names: list[str]) -> dict[str, Any]:
        """The named entities and the relations touching them."""
        ops = [GetOp(entity_key(n)) for n in dict.fromkeys(names)]
        found = [r for r in await self.memory.batch(ops) if isinstance(r, Record)] if ops else []
        found.sort(key=lambda r: (r.created_at, r.key))  # graph order, as read_graph
        return await self._with_relations([json.loads(r.raw) for r in found])

    async def _with_relations(self, entities: list[dict[str, Any]]) -> dict[str, Any]:
        names = {e["name"] for e in entities}
        relations = [r for r in await self.relations() if r["from"] in names or r["to"] in names]
        return {"entities": entities, "relations": relations}


def _entity(data: Any) -> dict[str, Any]:
    return {
        "name": data["name"],
        "entityType": data["entityType"],
        "observations": list(data["observations"]),
    }


async def import_jsonl(memory: AsyncMemory, lines: Iterable[str]) -> dict[str, int]:
    """Import a server-memory ``memory.jsonl`` file into the graph in ``memory``.

    Entities that already exist get the file's new observations; relations that
    exist are skipped, so importing the same file twice changes nothing. The
    whole file is checked before anything is written.

    Returns:
        ``{"entities": created, "observations": added, "relations": created}``.

    Raises:
        ValidationError: a line is not a server-memory entity or relation.
    """
    entities: list[dict[str, Any]] = []
    relations: list[dict[str, str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if data["type"] == "entity":
                entity = _entity(data)
                if not all(isinstance(o, str) for o in entity["observations"]):
                    raise TypeError("observations must be strings")
                entities.append(entity)
            elif data["type"] == "relation":
                relation = RelationIn.model_validate(data).as_dict()
                relations.append(relation)
            else:
                raise ValueError(f"unknown type {data['type']!r}")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(
                f"line {number} is not a server-memory record ({exc}); each line must be "
                'a JSON object with "type": "entity" (name, entityType, observations) '
                'or "relation" (from, to, relationType)'
            ) from None
    graph = Graph(memory)
    created = await graph.create_entities(entities)
    fresh = {id(e) for e in created}  # by identity: a name repeated in the file merges too
    added = 0
    for entity in entities:
        if id(entity) not in fresh:
            [result] = await graph.add_observations([(entity["name"], entity["observations"])])
            added += len(result["addedObservations"])
    made = await graph.create_relations(relations)
    return {"entities": len(created), "observations": added, "relations": len(made)}


_WRITE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False
)
_DELETE = ToolAnnotations(
    readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False
)
_READ = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)


def add_graph_tools(server: Server, spaces: Namespaces, *, read_only: bool) -> None:
    """Register server-memory's tools over the graph in the default namespace."""

    def graph(access: Access = "read") -> Graph:
        return Graph(spaces.memory(None, access))

    async def read_graph() -> dict[str, Any]:
        with tool_errors():
            return await graph().read()

    async def search_nodes(
        query: Annotated[
            str,
            Field(
                max_length=2048,
                description="The search query to match against entity names, types, and "
                "observation content",
            ),
        ],
    ) -> dict[str, Any]:
        with tool_errors():
            return await graph().search(query)

    async def open_nodes(
        names: Annotated[list[str], Field(description="An array of entity names to retrieve")],
    ) -> dict[str, Any]:
        with tool_errors():
            return await graph().open(names)

    @server.resource(
        "memory://knowledge-graph",
        name="knowledge-graph",
        title="Knowledge Graph",
        description="The full knowledge graph with all entities and relations",
        mime_type="application/json",
    )
    async def knowledge_graph() -> str:
        with tool_errors():
            return json.dumps(await graph().read(), ensure_ascii=False, indent=2)

    server.add_tool(
        read_graph,
        title="Read Graph",
        description="Read the entire knowledge graph",
        annotations=_READ,
    )
    server.add_tool(
        search_nodes,
        title="Search Nodes",
        description="Search for nodes in the knowledge graph based on a query",
        annotations=_READ,
    )
    server.add_tool(
        open_nodes,
        title="Open Nodes",
        description="Open specific nodes in the knowledge graph by their names",
        annotations=_READ,
    )
    if read_only:
        return

    async def create_entities(entities: list[EntityIn]) -> dict[str, Any]:
        with tool_errors():
            created = await graph("write").create_entities(e.model_dump() for e in entities)
        return {"entities": created}

    async def create_relations(relations: list[RelationIn]) -> dict[str, Any]:
        with tool_errors():
            created = await graph("write").create_relations(r.as_dict() for r in relations)
        return {"relations": created}

    async def add_observations(observations: list[ObservationsIn]) -> dict[str, Any]:
        with tool_errors():
            results = await graph("write").add_observations(
                (o.entityName, o.contents) for o in observations
            )
        return {"results": results}

    async def delete_entities(
        entityNames: Annotated[list[str], Field(description="An array of entity names to delete")],
    ) -> dict[str, Any]:
        with tool_errors():
            deleted, missing = await graph("write").delete_entities(entityNames)
        message = (
            "Entities deleted successfully"
            if not missing
            else f"Deleted {len(deleted)} of {len(entityNames)} entities. "
            f"Not found: {', '.join(missing)}"
        )
        return {"success": True, "message": message}

    async def delete_observations(deletions: list[DeletionIn]) -> dict[str, Any]:
        with tool_errors():
            removed, missing = await graph("write").delete_observations(
                (d.entityName, d.observations) for d in deletions
            )
        requested = sum(len(d.observations) for d in deletions)
        message = "Observations deleted successfully"
        if removed != requested:
            message = f"Deleted {removed} of {requested} observations."
            if missing:
                message += f" Entities not found: {', '.join(missing)}"
        return {"success": True, "message": message}

    async def delete_relations(
        relations: Annotated[
            list[RelationIn], Field(description="An array of relations to delete")
        ],
    ) -> dict[str, Any]:
        with tool_errors():
            deleted = await graph("write").delete_relations(r.as_dict() for r in relations)
        message = (
            "Relations deleted successfully"
            if deleted == len(relations)
            else f"Deleted {deleted} of {len(relations)} relations. The rest matched nothing."
        )
        return {"success": True, "message": message}

    server.add_tool(
        create_entities,
        title="Create Entities",
        description="Create multiple new entities in the knowledge graph",
        annotations=_WRITE,
    )
    server.add_tool(
        create_relations,
        title="Create Relations",
        description="Create multiple new relations between entities in the knowledge graph. "
        "Relations should be in active voice",
        annotations=_WRITE,
    )
    server.add_tool(
        add_observations,
        title="Add Observations",
        description="Add new observations to existing entities in the knowledge graph",
        annotations=_WRITE,
    )
    server.add_tool(
        delete_entities,
        title="Delete Entities",
        description="Delete multiple entities and their associated relations from the "
        "knowledge graph",
        annotations=_DELETE,
    )
    server.add_tool(
        delete_observations,
        title="Delete Observations",
        description="Delete specific observations from entities in the knowledge graph",
        annotations=_DELETE,
    )
    server.add_tool(
        delete_relations,
        title="Delete Relations",
        description="Delete multiple relations from the knowledge graph",
        annotations=_DELETE,
    )
