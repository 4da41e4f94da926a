"""CrewAI's storage-backend tests, run against ``botwire.crewai.BotWireStorage``.

Source: https://github.com/crewAIInc/crewAI, lib/crewai/tests/memory/test_qdrant_edge_storage.py
at tag 1.15.17 (commit b3ab193c316cda70c2afedc8b5f56d3bf3beb44d, the newest 1.15
release in the snapshot we vendored from; requirements.lock installs crewai 1.15.28).
These are CrewAI's tests of a ``StorageBackend`` written against the protocol (the
LanceDB ones are in test_crewai_unified_memory.py).
Copyright (c) 2025 crewAI, Inc. MIT License; the licence text is in
tests/hosts/THIRD_PARTY_LICENSES.txt.

Changes from the original:

* fixture swapped: the ``storage`` fixture and ``_make_storage(path)`` (a
  ``QdrantEdgeStorage`` in a folder) are a ``BotWireStorage`` (``make_storage`` in
  tests/hosts/conftest.py) on the test's namespace
  of the embedded file or of a server; opening the same folder again is a second
  ``BotWireStorage`` on the same namespace. The module's ``skipif(qdrant_edge is not
  installed)`` is dropped.
* ``test_memory_string_storage_qdrant_edge`` selects the storage by name through
  ``botwire.crewai.register()`` and ``storage="botwire"`` (was: ``"qdrant-edge"``).
* skipped, testing Qdrant Edge's local/central shard files:
  ``test_flush_to_central``, ``test_dual_shard_search``,
  ``test_orphaned_shard_cleanup``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from unittest.mock import MagicMock

import pytest

pytest.importorskip("crewai")  # imported with warnings off: crewai's import warns

from crewai.memory.types import MemoryRecord  # noqa: E402

from botwire.crewai import BotWireStorage  # noqa: E402

pytestmark = pytest.mark.usefixtures("crewai_sandbox")

StorageFactory = Callable[[], BotWireStorage]
QDRANT_SHARD_TESTS = [
    "test_flush_to_central",
    "test_dual_shard_search",
    "test_orphaned_shard_cleanup",
]


@pytest.fixture
def storage(make_storage: StorageFactory) -> BotWireStorage:
    """A BotWireStorage (was: ``QdrantEdgeStorage(path=..., vector_dim=4)``)."""
    return make_storage()


def _rec(
    content: str = "test",
    scope: str = "/",
    categories: list[str] | None = None,
    importance: float = 0.5,
    embedding: list[float] | None = None,
    metadata: dict | None = None,
    created_at: datetime | None = None,
) -> MemoryRecord:
    return MemoryRecord(
        content=content,
        scope=scope,
        categories=categories or [],
        importance=importance,
        embedding=embedding or [0.1, 0.2, 0.3, 0.4],
        metadata=metadata or {},
        **({"created_at": created_at} if created_at else {}),
    )


def test_save_search(storage: BotWireStorage) -> None:
    r = _rec(content="test content", scope="/foo", categories=["cat1"], importance=0.8)
    storage.save([r])
    results = storage.search([0.1, 0.2, 0.3, 0.4], scope_prefix="/foo", limit=5)
    assert len(results) == 1
    rec, score = results[0]
    assert rec.content == "test content"
    assert rec.scope == "/foo"
    assert score >= 0.0


def test_delete_count(storage: BotWireStorage) -> None:
    r = _rec(scope="/")
    storage.save([r])
    assert storage.count() == 1
    n = storage.delete(scope_prefix="/")
    assert n >= 1
    assert storage.count() == 0


def test_update_get_record(storage: BotWireStorage) -> None:
    r = _rec(content="original", scope="/a")
    storage.save([r])
    r.content = "updated"
    storage.update(r)
    found = storage.get_record(r.id)
    assert found is not None
    assert found.content == "updated"


def test_get_record_not_found(storage: BotWireStorage) -> None:
    assert storage.get_record("nonexistent-id") is None


def test_list_scopes_get_scope_info(storage: BotWireStorage) -> None:
    storage.save(
        [
            _rec(content="a", scope="/"),
            _rec(content="b", scope="/team"),
        ]
    )
    scopes = storage.list_scopes("/")
    assert "/team" in scopes
    info = storage.get_scope_info("/")
    assert info.record_count >= 1
    assert info.path == "/"


def test_scope_prefix_filter(storage: BotWireStorage) -> None:
    storage.save(
        [
            _rec(content="sales note", scope="/crew/sales"),
            _rec(content="eng note", scope="/crew/eng"),
            _rec(content="other note", scope="/other"),
        ]
    )
    results = storage.search([0.1, 0.2, 0.3, 0.4], scope_prefix="/crew", limit=10)
    assert len(results) == 2
    scopes = {r.scope for r, _ in results}
    assert "/crew/sales" in scopes
    assert "/crew/eng" in scopes


def test_category_filter(storage: BotWireStorage) -> None:
    storage.save(
        [
            _rec(content="cat1 item", categories=["cat1"]),
            _rec(content="cat2 item", categories=["cat2"]),
        ]
    )
    results = storage.search([0.1, 0.2, 0.3, 0.4], categories=["cat1"], limit=10)
    assert len(results) == 1
    assert results[0][0].categories == ["cat1"]


def test_metadata_filter(storage: BotWireStorage) -> None:
    storage.save(
        [
            _rec(content="with key", metadata={"env": "prod"}),
            _rec(content="without key", metadata={"env": "dev"}),
        ]
    )
    results = storage.search([0.1, 0.2, 0.3, 0.4], metadata_filter={"env": "prod"}, limit=10)
    assert len(results) == 1
    assert results[0][0].metadata["env"] == "prod"


def test_list_records_pagination(storage: BotWireStorage) -> None:
    records = [
        _rec(
            content=f"item {i}",
            created_at=datetime(2025, 1, 1) + timedelta(days=i),
        )
        for i in range(5)
    ]
    storage.save(records)
    page1 = storage.list_records(limit=2, offset=0)
    page2 = storage.list_records(limit=2, offset=2)
    assert len(page1) == 2
    assert len(page2) == 2
    # Newest first.
    assert page1[0].created_at >= page1[1].created_at


def test_list_categories(storage: BotWireStorage) -> None:
    storage.save(
        [
            _rec(categories=["a", "b"]),
            _rec(categories=["b", "c"]),
        ]
    )
    cats = storage.list_categories()
    assert cats.get("b", 0) == 2
    assert cats.get("a", 0) >= 1
    assert cats.get("c", 0) >= 1


def test_touch_records(storage: BotWireStorage) -> None:
    r = _rec()
    storage.save([r])
    before = storage.get_record(r.id)
    assert before is not None
    old_accessed = before.last_accessed
    storage.touch_records([r.id])
    after = storage.get_record(r.id)
    assert after is not None
    assert after.last_accessed >= old_accessed


def test_reset_full(storage: BotWireStorage) -> None:
    storage.save([_rec(scope="/a"), _rec(scope="/b")])
    assert storage.count() == 2
    storage.reset()
    assert storage.count() == 0


def test_reset_scoped(storage: BotWireStorage) -> None:
    storage.save([_rec(scope="/a"), _rec(scope="/b")])
    storage.reset(scope_prefix="/a")
    assert storage.count() == 1


def test_close_lifecycle(make_storage: StorageFactory) -> None:
    s = make_storage()  # was: a storage in the folder tmp_path / "edge"
    s.save([_rec(content="persisted")])
    s.close()
    # Reopen a new storage — should find the record in central.
    s2 = make_storage()  # was: the same folder again
    results = s2.search([0.1, 0.2, 0.3, 0.4], limit=5)
    assert len(results) == 1
    assert results[0][0].content == "persisted"
    s2.close()


def test_memory_with_qdrant_edge(make_storage: StorageFactory) -> None:
    from crewai.memory.unified_memory import Memory

    mock_embedder = MagicMock()
    mock_embedder.side_effect = lambda texts: [[0.1, 0.2, 0.3, 0.4] for _ in texts]

    storage = make_storage()  # was: a storage in the folder tmp_path / "edge"
    m = Memory(
        storage=storage,
        llm=MagicMock(),
        embedder=mock_embedder,
    )
    r = m.remember(
        "We decided to use Qdrant Edge.",
        scope="/project",
        categories=["decision"],
        importance=0.7,
    )
    assert r.content == "We decided to use Qdrant Edge."

    matches = m.recall("Qdrant", scope="/project", limit=5, depth="shallow")
    assert len(matches) >= 1
    m.close()


def test_memory_string_storage_qdrant_edge(host_url: str, host_namespace: str) -> None:
    """Test that storage='botwire' string instantiation works (was: 'qdrant-edge')."""
    import botwire.crewai

    botwire.crewai.register(host_namespace, host_url)  # was: CREWAI_STORAGE_DIR
    try:
        from crewai.memory.unified_memory import Memory

        mock_embedder = MagicMock()
        mock_embedder.side_effect = lambda texts: [[0.1, 0.2, 0.3, 0.4] for _ in texts]

        m = Memory(
            storage="botwire",
            llm=MagicMock(),
            embedder=mock_embedder,
        )

        assert isinstance(m._storage, BotWireStorage)
        assert m._storage.namespace == host_namespace
        m.close()
        m._storage.memory.close()
    finally:
        botwire.crewai.unregister()


@pytest.mark.parametrize("name", QDRANT_SHARD_TESTS)
def test_qdrant_shards(name: str) -> None:
    pytest.skip(f"{name}: tests Qdrant Edge's shard files, which BotWireStorage does not have")
