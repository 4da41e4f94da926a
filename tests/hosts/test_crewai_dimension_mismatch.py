"""CrewAI's embedding-dimension tests, run against ``botwire.crewai.BotWireStorage``.

Source: https://github.com/crewAIInc/crewAI, lib/crewai/tests/memory/test_dimension_mismatch.py
at tag 1.15.17 (commit b3ab193c316cda70c2afedc8b5f56d3bf3beb44d, the newest 1.15
release in the snapshot we vendored from; requirements.lock installs crewai 1.15.28).
Copyright (c) 2025 crewAI, Inc. MIT License; the licence text is in
tests/hosts/THIRD_PARTY_LICENSES.txt.

Changes from the original:

* fixture swapped: ``LanceDBStorage(path=..., vector_dim=4)`` is ``make_storage()``
  (tests/hosts/conftest.py), a ``BotWireStorage`` on the test's namespace of the
  embedded file or of a server (BotWireStorage takes no ``vector_dim``: the first
  stored vector fixes it), and "reopening" the folder is a second ``BotWireStorage``
  on the same namespace; the ``Memory(storage=<folder>)`` tests get
  ``storage=make_storage()``.
* the ``lancedb_path`` fixture and the in-function imports of ``LanceDBStorage``
  are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import MagicMock

import pytest

pytest.importorskip("crewai")  # imported with warnings off: crewai's import warns

from crewai.memory.storage.backend import EmbeddingDimensionMismatchError  # noqa: E402
from crewai.memory.types import MemoryRecord  # noqa: E402

from botwire.crewai import BotWireStorage  # noqa: E402

pytestmark = pytest.mark.usefixtures("crewai_sandbox")

StorageFactory = Callable[[], BotWireStorage]


def _record(dim: int, content: str = "test") -> MemoryRecord:
    return MemoryRecord(content=content, scope="/foo", embedding=[0.1] * dim)


def test_lancedb_save_mismatch_raises(make_storage: StorageFactory) -> None:
    storage = make_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    storage.save([_record(4)])

    with pytest.raises(EmbeddingDimensionMismatchError) as exc_info:
        storage.save([_record(8, "new embedder output")])

    message = str(exc_info.value)
    assert "4-dimensional" in message
    assert "8-dimensional" in message
    assert "crewai reset-memories --memory" in message
    assert "text-embedding-3-small" in message


def test_lancedb_mixed_batch_mismatch_raises(make_storage: StorageFactory) -> None:
    """A single save() batch with inconsistent dimensions must be rejected."""
    storage = make_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    storage.save([_record(4)])

    with pytest.raises(EmbeddingDimensionMismatchError):
        storage.save([_record(4), _record(8, "stray dimension")])


def test_lancedb_mixed_batch_on_fresh_store_raises(make_storage: StorageFactory) -> None:
    storage = make_storage()  # was: LanceDBStorage(path=...)
    with pytest.raises(EmbeddingDimensionMismatchError):
        storage.save([_record(4), _record(8)])


def test_lancedb_search_mismatch_raises(make_storage: StorageFactory) -> None:
    storage = make_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    storage.save([_record(4)])

    with pytest.raises(EmbeddingDimensionMismatchError):
        storage.search([0.1] * 8)


def test_lancedb_update_mismatch_raises(make_storage: StorageFactory) -> None:
    storage = make_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    record = _record(4)
    storage.save([record])

    stale = MemoryRecord(id=record.id, content="updated", scope="/foo", embedding=[0.1] * 8)
    with pytest.raises(EmbeddingDimensionMismatchError):
        storage.update(stale)


def test_lancedb_reopened_store_detects_mismatch(make_storage: StorageFactory) -> None:
    """The upgrade scenario: an old store reopened with a new embedder."""
    old = make_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    old.save([_record(4)])

    reopened = make_storage()  # was: LanceDBStorage(path=...) on the same folder
    with pytest.raises(EmbeddingDimensionMismatchError):
        reopened.save([_record(8)])
    with pytest.raises(EmbeddingDimensionMismatchError):
        reopened.search([0.1] * 8)


def test_memory_reset_all_rebuilds_reopened_store_with_new_dimension(
    make_storage: StorageFactory,
) -> None:
    from crewai.memory.unified_memory import Memory

    old = make_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    old.save([_record(4)])

    mem = Memory(
        storage=make_storage(),  # was: the LanceDB folder of ``old``
        llm=MagicMock(),
        embedder=lambda texts: [[0.1] * 8 for _ in texts],
        root_scope="/crew/test",
    )

    mem.reset_all()
    mem.remember(
        "new embedder output",
        scope="/facts",
        categories=["test"],
        importance=0.5,
    )

    assert mem.recall("new embedder output", scope="/facts", depth="shallow")


def test_lancedb_matching_dim_still_works(make_storage: StorageFactory) -> None:
    storage = make_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    storage.save([_record(4)])
    storage.save([_record(4, "second")])

    assert len(storage.search([0.1] * 4, limit=5)) == 2


def test_error_is_not_a_runtime_error() -> None:
    """Background-save plumbing treats RuntimeError as executor shutdown and
    silently drops the save — the mismatch must not be classified that way."""
    err = EmbeddingDimensionMismatchError(1536, 3072)
    assert not isinstance(err, RuntimeError)
    assert isinstance(err, ValueError)


def test_background_save_propagates_dimension_mismatch(make_storage: StorageFactory) -> None:
    from crewai.memory.unified_memory import Memory

    mem = Memory(
        storage=make_storage(),  # was: str(tmp_path / "db"), a LanceDB folder
        llm=MagicMock(),
        embedder=lambda texts: [[0.1] * 4 for _ in texts],
    )

    def raise_mismatch(*_args: object, **_kwargs: object) -> None:
        raise EmbeddingDimensionMismatchError(1536, 3072)

    mem._encode_batch = raise_mismatch  # type: ignore[method-assign]

    with pytest.raises(EmbeddingDimensionMismatchError):
        mem._background_encode_batch(["content"], None, None, None, None, None, False, None)


def test_background_save_still_swallows_shutdown_runtime_error(
    make_storage: StorageFactory,
) -> None:
    from crewai.memory.unified_memory import Memory

    mem = Memory(
        storage=make_storage(),  # was: str(tmp_path / "db"), a LanceDB folder
        llm=MagicMock(),
        embedder=lambda texts: [[0.1] * 4 for _ in texts],
    )

    def raise_shutdown(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    mem._encode_batch = raise_shutdown  # type: ignore[method-assign]

    assert (
        mem._background_encode_batch(["content"], None, None, None, None, None, False, None) == []
    )
