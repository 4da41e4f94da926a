"""``BotWireCrewMemory``: a ``crewai.Memory`` without LLM, embedder or LanceDB folder.

CrewAI's own ``Memory`` calls an LLM to analyse every save and an embedding model
for every recall. This subclass keeps the same interface (so ``Crew(memory=...)``
and ``Agent(memory=...)`` accept it) but saves at once and recalls by keyword
overlap, recency and importance, with the records in a :class:`BotWireStorage`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any, Literal

from crewai.memory.types import MemoryMatch, MemoryRecord
from crewai.memory.unified_memory import Memory as CrewMemory
from crewai.memory.utils import join_scope_paths
from pydantic import Field

from botwire import ValidationError
from botwire.crewai._storage import DEFAULT_NAMESPACE, BotWireStorage
from botwire.tools import terms

__all__ = ["BotWireCrewMemory"]

_TASK_OUTPUT = re.compile(
    r"Task: (?P<task>.*?)\nAgent: .*?\nExpected result: .*?\nResult: (?P<result>.*)", re.S
)
"""The text a crew passes to ``extract_memories`` after each task."""
_TASK_WORDS = frozenset({"agent", "task", "result", "expected"})
"""Words every saved task result contains: they say nothing about which is relevant."""


def keywords(text: str) -> frozenset[str]:
    """The search words of ``text`` (:func:`botwire.tools.terms`), task words dropped."""
    return terms(text) - _TASK_WORDS


def _age_days(record: MemoryRecord, now: datetime) -> float:
    created = record.created_at
    if created.tzinfo is not None:
        created = created.astimezone(timezone.utc).replace(tzinfo=None)
    return max((now - created).total_seconds() / 86400.0, 0.0)


class BotWireCrewMemory(CrewMemory):
    """Durable crew memory in BotWire with no LLM, no embedder and no network.

    Pass it as ``Crew(memory=...)`` (or ``Agent(memory=...)``): before each task
    the crew recalls the memories that share words with the task, and after each
    task it saves the task and its result. Everything is kept in a BotWire
    namespace, so the next ``kickoff()``, in this process or another one, sees it.

    Example:
        >>> from crewai import Crew
        >>> from botwire.crewai import BotWireCrewMemory
        >>> memory = BotWireCrewMemory("research-crew")
        >>> memory.remember("The client prefers reports in French", importance=0.9)
        >>> [m.record.content for m in memory.recall("report language for the client")]
        ['The client prefers reports in French']
        >>> crew = Crew(agents=[...], tasks=[...], memory=memory)

    Recall scores each record as ``semantic_weight * keyword overlap +
    recency_weight * recency + importance_weight * importance`` (the weights and
    ``recency_half_life_days`` of ``crewai.Memory``); keyword overlap is the cosine
    of the two word sets. Only records sharing at least one word with the query
    are returned (all records, newest first, when the query has no words).

    Args:
        namespace: the BotWire namespace holding the records.
        url: where the data lives (default ``$BOTWIRE_URL`` or the SQLite file).
        api_key: token for a server that requires one.
        save_task_results: save "task + result" after each crew task (the crew
            calls :meth:`extract_memories`); ``False`` saves only what agents or
            your code ``remember``.
        scan_limit: most records (newest first) one recall looks at.
        **fields: any other ``crewai.Memory`` field (``root_scope``, ``read_only``,
            ``recency_weight``…), or ``storage=`` an existing
            :class:`BotWireStorage`.

    Raises:
        ValidationError: an argument is invalid (the message says which).
    """

    namespace: str = Field(default=DEFAULT_NAMESPACE, description="BotWire namespace.")
    save_task_results: bool = Field(
        default=True, description="Save each crew task and its result after it ends."
    )
    scan_limit: int = Field(
        default=10_000, gt=0, description="Most records (newest first) one recall reads."
    )

    def __init__(
        self,
        namespace: str | None = None,
        *,
        url: str | None = None,
        api_key: str | None = None,
        **fields: Any,
    ) -> None:
        if namespace is not None:
            fields["namespace"] = namespace
        storage = fields.get("storage")
        if storage is None:
            fields["storage"] = BotWireStorage(
                fields.get("namespace", DEFAULT_NAMESPACE), url, api_key=api_key
            )
        elif not isinstance(storage, BotWireStorage):
            raise ValidationError(
                "BotWireCrewMemory keeps its records in BotWire: leave storage= out or "
                f"pass a BotWireStorage, not {type(storage).__name__}"
            )
        else:
            fields["namespace"] = storage.namespace
        super().__init__(**fields)

    @property
    def storage_backend(self) -> BotWireStorage:
        """The :class:`BotWireStorage` holding this memory's records."""
        storage = self._storage
        assert isinstance(storage, BotWireStorage)
        return storage

    # -- writing ------------------------------------------------------------------

    def _importance(self, importance: float | None) -> float:
        if importance is None:
            return self.default_importance
        if isinstance(importance, bool) or not isinstance(importance, (int, float)):
            raise ValidationError(f"importance must be a number from 0 to 1, not {importance!r}")
        if not 0.0 <= importance <= 1.0:
            raise ValidationError(f"importance must be from 0 to 1, not {importance!r}")
        return float(importance)

    def _record(
        self,
        content: str,
        scope: str | None,
        categories: list[str] | None,
        metadata: dict[str, Any] | None,
        importance: float | None,
        source: str | None,
        private: bool,
        root_scope: str | None,
    ) -> MemoryRecord:
        if not isinstance(content, str) or not content.strip():
            raise ValidationError("a memory needs non-empty text content")
        root = root_scope if root_scope is not None else self.root_scope
        return MemoryRecord(
            content=content.strip(),
            scope=join_scope_paths(root, scope),
            categories=list(categories or []),
            metadata=dict(metadata or {}),
            importance=self._importance(importance),
            source=source,
            private=private,
        )

    def remember(
        self,
        content: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        agent_role: str | None = None,
        root_scope: str | None = None,
    ) -> MemoryRecord | None:
        """Save ``content`` now and return its record (``None`` if read-only).

        Args:
            content: the text to remember.
            scope: scope path, under ``root_scope`` (default: ``root_scope`` or ``/``).
            categories: tags that recall can filter on.
            metadata: any JSON-able details, shown next to the memory on recall.
            importance: 0 to 1 (default ``default_importance``); ranks recall.
            source: who the memory is from; with ``private=True`` only recall
                with the same ``source`` sees it.
            private: hide it from recalls of other sources.
            agent_role: accepted for compatibility; unused.
            root_scope: overrides the memory's ``root_scope`` for this call.

        Raises:
            ValidationError: empty content or importance outside 0..1.
        """
        if self.read_only:
            return None
        record = self._record(
            content, scope, categories, metadata, importance, source, private, root_scope
        )
        self._storage.save([record])
        return record

    def remember_many(
        self,
        contents: list[str],
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        agent_role: str | None = None,
        root_scope: str | None = None,
    ) -> list[MemoryRecord]:
        """Save every item of ``contents`` now (see :meth:`remember`); return the records.

        Unlike ``crewai.Memory`` nothing runs in the background, so a crew's
        results are durable as soon as the task ends.
        """
        if isinstance(contents, str):
            raise ValidationError("remember_many takes a list of texts; use remember() for one")
        if not contents or self.read_only:
            return []
        records = [
            self._record(c, scope, categories, metadata, importance, source, private, root_scope)
            for c in contents
        ]
        self._storage.save(records)
        return records

    def extract_memories(self, content: str) -> list[str]:
        """Return what to save after a crew task: one memory, or ``[]``.

        ``crewai.Memory`` asks an LLM to split a task's output into facts; this
        memory saves the task and its final answer as one memory instead
        (``"Task: …\nResult: …"``), or nothing when ``save_task_results`` is off.
        Text not in CrewAI's task-output form is saved as it is.
        """
        if not self.save_task_results or not isinstance(content, str) or not content.strip():
            return []
        parsed = _TASK_OUTPUT.match(content.strip())
        if parsed is None:
            return [content.strip()]
        result = parsed["result"].rpartition("Final Answer:")[2].strip()
        return [f"Task: {parsed['task'].strip()}\nResult: {result}"]

    def update(
        self,
        record_id: str,
        content: str | None = None,
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
    ) -> MemoryRecord:
        """Change fields of the record ``record_id``; return the updated record.

        Raises:
            ValueError: no record has this id.
            ValidationError: empty content or importance outside 0..1.
        """
        existing = self._storage.get_record(record_id)
        if existing is None:
            raise ValueError(f"Record not found: {record_id}")
        if self.read_only:
            return existing
        changes: dict[str, Any] = {"last_accessed": datetime.now(timezone.utc).replace(tzinfo=None)}
        if content is not None:
            if not isinstance(content, str) or not content.strip():
                raise ValidationError("a memory needs non-empty text content")
            changes["content"] = content.strip()
            changes["embedding"] = None
        if importance is not None:
            changes["importance"] = self._importance(importance)
        for name, value in (("scope", scope), ("categories", categories), ("metadata", metadata)):
            if value is not None:
                changes[name] = value
        updated = existing.model_copy(update=changes)
        self._storage.update(updated)
        return updated

    # -- recall -------------------------------------------------------------------

    def recall(
        self,
        query: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        limit: int = 10,
        depth: Literal["shallow", "deep"] = "deep",
        source: str | None = None,
        include_private: bool = False,
    ) -> list[MemoryMatch]:
        """Return up to ``limit`` memories relevant to ``query``, best first.

        Args:
            query: the question or task text; its words are matched.
            scope: search only this scope (under ``root_scope``) and below.
            categories: only memories with at least one of these categories.
            limit: most results.
            depth: accepted for compatibility; both depths do the same.
            source: the caller's source, which can see its own private memories.
            include_private: see every private memory.

        Raises:
            ValidationError: ``query`` is not a string or ``limit`` is not positive.
        """
        if not isinstance(query, str):
            raise ValidationError(f"query must be a string, not {type(query).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ValidationError(f"limit must be a positive integer, not {limit!r}")
        if scope is None:
            effective_scope = self.root_scope
        else:
            effective_scope = join_scope_paths(self.root_scope, scope)
        records = self._storage.list_records(scope_prefix=effective_scope, limit=self.scan_limit)
        wanted = keywords(query)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        matches = []
        for record in records:
            if categories and not any(c in record.categories for c in categories):
                continue
            if (
                record.private
                and not include_private
                and (source is None or record.source != source)
            ):
                continue
            matches.extend(self._score(record, wanted, now))
        matches.sort(key=lambda m: m.score, reverse=True)
        return matches[:limit]

    def _score(
        self, record: MemoryRecord, wanted: frozenset[str], now: datetime
    ) -> list[MemoryMatch]:
        reasons = []
        relevance = 0.0
        if wanted:
            have = keywords(" ".join([record.content, *record.categories]))
            shared = wanted & have
            if not shared:
                return []
            relevance = len(shared) / math.sqrt(len(wanted) * len(have))
            reasons.append("keyword")
        decay = 0.5 ** (_age_days(record, now) / self.recency_half_life_days)
        if decay > 0.5:
            reasons.append("recency")
        if record.importance > 0.5:
            reasons.append("importance")
        score = (
            self.semantic_weight * relevance
            + self.recency_weight * decay
            + self.importance_weight * record.importance
        )
        return [MemoryMatch(record=record, score=score, match_reasons=reasons)]
