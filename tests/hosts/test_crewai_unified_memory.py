"""CrewAI's unified-memory tests that use a storage, run on ``botwire.crewai.BotWireStorage``.

Source: https://github.com/crewAIInc/crewAI, lib/crewai/tests/memory/test_unified_memory.py
at tag 1.15.17 (commit b3ab193c316cda70c2afedc8b5f56d3bf3beb44d, the newest 1.15
release in the snapshot we vendored from; requirements.lock installs crewai 1.15.28).
Copyright (c) 2025 crewAI, Inc. MIT License; the licence text is in
tests/hosts/THIRD_PARTY_LICENSES.txt.

Changes from the original:

* fixture swapped: ``LanceDBStorage(path=..., vector_dim=4)`` and every
  ``Memory(storage=str(tmp_path / "db"))`` (a LanceDB folder) use
  ``botwire_storage()``, a ``BotWireStorage`` on a fresh namespace of the embedded
  file or of a server (the test's ``host_url``); the ``lancedb_path`` fixture and the
  in-function imports of ``LanceDBStorage`` are left out. The unused
  ``memory_with_storage`` fixture (it deleted ``OPENAI_API_KEY`` from the
  environment) is left out too, and so are imports the kept tests do not use.
* left out because they use no storage (records, scores, LLM-analysis fallbacks,
  executors and flows without a memory): test_memory_record_defaults,
  test_memory_match, test_memory_record_embedding_excluded_from_serialization,
  test_memory_match_embedding_excluded_from_serialization, test_scope_info,
  test_memory_config, test_flow_has_default_memory (builds CrewAI's default LanceDB
  storage), test_flow_recall_remember_raise_when_memory_explicitly_none,
  test_executor_save_to_memory_calls_extract_then_remember_per_item,
  test_executor_save_to_memory_skips_delegation_output,
  test_memory_scope_extract_memories_delegates,
  test_memory_slice_extract_memories_delegates,
  test_flow_extract_memories_raises_when_memory_explicitly_none,
  test_flow_extract_memories_delegates_when_memory_present,
  test_composite_score_brand_new_memory, test_composite_score_old_memory_decayed,
  test_composite_score_match_reasons_populated, test_composite_score_custom_config,
  test_analyze_for_save_llm_failure_returns_defaults,
  test_extract_memories_llm_failure_returns_raw,
  test_analyze_query_llm_failure_returns_defaults.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from unittest.mock import MagicMock

import pytest

pytest.importorskip("crewai")  # imported with warnings off: crewai's import warns

from crewai.memory.types import MemoryRecord  # noqa: E402

from botwire.crewai import BotWireStorage  # noqa: E402

pytestmark = pytest.mark.usefixtures("crewai_sandbox")

_OPENED: list[BotWireStorage] = []
_URL: list[str] = []


@pytest.fixture(autouse=True)
def _botwire_url(host_url: str) -> Iterator[None]:
    """Where ``botwire_storage()`` opens its storages in this test."""
    _URL[:] = [host_url]
    yield
    while _OPENED:
        _OPENED.pop().memory.close()


def botwire_storage() -> BotWireStorage:
    """A BotWireStorage on a fresh namespace (was: a fresh LanceDB folder)."""
    _OPENED.append(BotWireStorage(f"crewai-{uuid.uuid4().hex[:12]}", _URL[0]))
    return _OPENED[-1]


def test_memory_analysis_llm_is_isolated_from_streaming_agent_llm(
    tmp_path: Path,
) -> None:
    """Memory analysis should not share a mutable streaming LLM with the agent UI."""
    from crewai.llms.base_llm import BaseLLM
    from crewai.memory.unified_memory import Memory
    from crewai.utilities.types import LLMMessage

    class FakeStreamingLLM(BaseLLM):
        def call(
            self,
            messages: str | list[LLMMessage],
            tools: list[dict] | None = None,
            callbacks: list | None = None,
            available_functions: dict | None = None,
            from_task: object | None = None,
            from_agent: object | None = None,
            response_model: type | None = None,
        ) -> str:
            return ""

    agent_llm = FakeStreamingLLM(model="fake-model", stream=True)
    mem = Memory(
        storage=botwire_storage(),
        llm=agent_llm,
        embedder=lambda texts: [[0.1] for _ in texts],
    )

    assert mem._llm is not agent_llm
    assert mem._llm.stream is False

    agent_llm.stream = True
    assert mem._llm.stream is False


def test_lancedb_save_search() -> None:
    storage = botwire_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    r = MemoryRecord(
        content="test content",
        scope="/foo",
        categories=["cat1"],
        importance=0.8,
        embedding=[0.1, 0.2, 0.3, 0.4],
    )
    storage.save([r])
    results = storage.search(
        [0.1, 0.2, 0.3, 0.4],
        scope_prefix="/foo",
        limit=5,
    )
    assert len(results) == 1
    rec, score = results[0]
    assert rec.content == "test content"
    assert rec.scope == "/foo"
    assert score >= 0.0


def test_lancedb_delete_count() -> None:
    storage = botwire_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    r = MemoryRecord(content="x", scope="/", embedding=[0.0] * 4)
    storage.save([r])
    assert storage.count() == 1
    n = storage.delete(scope_prefix="/")
    assert n >= 1
    assert storage.count() == 0


def test_lancedb_list_scopes_get_scope_info() -> None:
    storage = botwire_storage()  # was: LanceDBStorage(path=..., vector_dim=4)
    storage.save(
        [
            MemoryRecord(content="a", scope="/", embedding=[0.0] * 4),
            MemoryRecord(content="b", scope="/team", embedding=[0.0] * 4),
        ]
    )
    scopes = storage.list_scopes("/")
    assert "/team" in scopes  # list_scopes returns children, not root itself
    info = storage.get_scope_info("/")
    assert info.record_count >= 1
    assert info.path == "/"


@pytest.fixture
def mock_embedder() -> MagicMock:
    """Embedder mock that returns one embedding per input text (batch-aware)."""
    m = MagicMock()
    m.side_effect = lambda texts: [[0.1] * 1536 for _ in texts]
    return m


def test_memory_remember_recall_shallow(tmp_path: Path, mock_embedder: MagicMock) -> None:
    from crewai.memory.unified_memory import Memory

    m = Memory(
        storage=botwire_storage(),
        llm=MagicMock(),
        embedder=mock_embedder,
    )
    # Explicit scope/categories/importance so no LLM analysis
    r = m.remember(
        "We decided to use Python.",
        scope="/project",
        categories=["decision"],
        importance=0.7,
    )
    assert r.content == "We decided to use Python."
    assert r.scope == "/project"

    matches = m.recall("Python decision", scope="/project", limit=5, depth="shallow")
    assert len(matches) >= 1
    assert "Python" in matches[0].record.content or "python" in matches[0].record.content.lower()


def test_memory_forget(tmp_path: Path, mock_embedder: MagicMock) -> None:
    from crewai.memory.unified_memory import Memory

    m = Memory(storage=botwire_storage(), llm=MagicMock(), embedder=mock_embedder)
    m.remember("To forget", scope="/x", categories=[], importance=0.5, metadata={})
    assert m._storage.count("/x") >= 1
    n = m.forget(scope="/x")
    assert n >= 1
    assert m._storage.count("/x") == 0


def test_memory_scope_slice(tmp_path: Path, mock_embedder: MagicMock) -> None:
    from crewai.memory.unified_memory import Memory

    mem = Memory(storage=botwire_storage(), llm=MagicMock(), embedder=mock_embedder)
    sc = mem.scope("/agent/1")
    assert sc._root in ("/agent/1", "/agent/1/")
    sl = mem.slice(["/a", "/b"], read_only=True)
    assert sl.read_only is True
    assert "/a" in sl.scopes and "/b" in sl.scopes


def test_memory_list_scopes_info_tree(tmp_path: Path, mock_embedder: MagicMock) -> None:
    from crewai.memory.unified_memory import Memory

    m = Memory(storage=botwire_storage(), llm=MagicMock(), embedder=mock_embedder)
    m.remember("Root", scope="/", categories=[], importance=0.5, metadata={})
    m.remember("Team note", scope="/team", categories=[], importance=0.5, metadata={})
    scopes = m.list_scopes("/")
    assert "/team" in scopes  # list_scopes returns children, not root itself
    info = m.info("/")
    assert info.record_count >= 1
    tree = m.tree("/", max_depth=2)
    assert "/" in tree or "0 records" in tree or "1 records" in tree


def test_memory_scope_remember_recall(tmp_path: Path, mock_embedder: MagicMock) -> None:
    from crewai.memory.memory_scope import MemoryScope
    from crewai.memory.unified_memory import Memory

    mem = Memory(storage=botwire_storage(), llm=MagicMock(), embedder=mock_embedder)
    scope = MemoryScope(memory=mem, root_path="/crew/1")
    scope.remember("Scoped note", scope="/", categories=[], importance=0.5, metadata={})
    results = scope.recall("note", limit=5, depth="shallow")
    assert len(results) >= 1


def test_memory_slice_recall(tmp_path: Path, mock_embedder: MagicMock) -> None:
    from crewai.memory.memory_scope import MemorySlice
    from crewai.memory.unified_memory import Memory

    mem = Memory(storage=botwire_storage(), llm=MagicMock(), embedder=mock_embedder)
    mem.remember("In scope A", scope="/a", categories=[], importance=0.5, metadata={})
    sl = MemorySlice(memory=mem, scopes=["/a"], read_only=True)
    matches = sl.recall("scope", limit=5, depth="shallow")
    assert isinstance(matches, list)


def test_memory_slice_remember_is_noop_when_read_only(
    tmp_path: Path, mock_embedder: MagicMock
) -> None:
    from crewai.memory.memory_scope import MemorySlice
    from crewai.memory.unified_memory import Memory

    mem = Memory(storage=botwire_storage(), llm=MagicMock(), embedder=mock_embedder)
    sl = MemorySlice(memory=mem, scopes=["/a"], read_only=True)
    result = sl.remember("x", scope="/a")
    assert result is None
    assert mem.list_records() == []


def test_flow_recall_remember_with_memory(tmp_path: Path, mock_embedder: MagicMock) -> None:
    from crewai.flow.flow import Flow
    from crewai.memory.unified_memory import Memory

    mem = Memory(storage=botwire_storage(), llm=MagicMock(), embedder=mock_embedder)

    class FlowWithMemory(Flow):
        memory = mem

    f = FlowWithMemory()
    f.remember("Flow remembered this", scope="/flow", categories=[], importance=0.6, metadata={})
    results = f.recall("remembered", limit=5, depth="shallow")
    assert len(results) >= 1


def test_memory_extract_memories_returns_list_from_llm(tmp_path: Path) -> None:
    """Memory.extract_memories() delegates to LLM and returns list of strings."""
    from crewai.memory.analyze import ExtractedMemories
    from crewai.memory.unified_memory import Memory

    mock_llm = MagicMock()
    mock_llm.supports_function_calling.return_value = True
    mock_llm.call.return_value = ExtractedMemories(
        memories=["We use Python for the backend.", "API rate limit is 100/min."]
    )

    mem = Memory(
        storage=botwire_storage(),
        llm=mock_llm,
        embedder=MagicMock(return_value=[[0.1] * 1536]),
    )
    result = mem.extract_memories(
        "Task: Build API. Result: We used Python and set rate limit 100/min."
    )
    assert result == ["We use Python for the backend.", "API rate limit is 100/min."]
    mock_llm.call.assert_called_once()
    call_kw = mock_llm.call.call_args[1]
    assert call_kw.get("response_model") == ExtractedMemories


def test_memory_extract_memories_empty_content_returns_empty_list(tmp_path: Path) -> None:
    """Memory.extract_memories() with empty/whitespace content returns [] without calling LLM."""
    from crewai.memory.unified_memory import Memory

    mock_llm = MagicMock()
    mem = Memory(storage=botwire_storage(), llm=mock_llm, embedder=MagicMock())
    assert mem.extract_memories("") == []
    assert mem.extract_memories("   \n  ") == []
    mock_llm.call.assert_not_called()


def test_composite_score_reranks_results(tmp_path: Path, mock_embedder: MagicMock) -> None:
    """Same semantic score: high-importance recent memory ranks first."""
    from crewai.memory.unified_memory import Memory

    # Use same dim as default LanceDB (3072) so storage does not overwrite embedding
    emb = [0.1] * 3072
    mem = Memory(
        storage=botwire_storage(),
        llm=MagicMock(),
        embedder=MagicMock(return_value=[emb]),
    )
    # to test composite scoring in isolation without consolidation merging them.
    record_high = MemoryRecord(
        content="Important decision",
        scope="/",
        categories=[],
        importance=1.0,
        embedding=emb,
    )
    mem._storage.save([record_high])
    old = datetime.utcnow() - timedelta(days=90)
    record_low = MemoryRecord(
        content="Old trivial note",
        scope="/",
        importance=0.1,
        created_at=old,
        embedding=emb,
    )
    mem._storage.save([record_low])

    matches = mem.recall("decision", scope="/", limit=5, depth="shallow")
    assert len(matches) >= 2
    # Top result should be the high-importance recent one (stored via remember)
    assert (
        "Important" in matches[0].record.content or "important" in matches[0].record.content.lower()
    )


def test_remember_survives_llm_failure(tmp_path: Path, mock_embedder: MagicMock) -> None:
    """When the LLM raises during parallel_analyze, remember() still saves with defaults."""
    from crewai.memory.unified_memory import Memory

    llm = MagicMock()
    llm.call.side_effect = RuntimeError("LLM unavailable")
    mem = Memory(
        storage=botwire_storage(),
        llm=llm,
        embedder=mock_embedder,
    )
    record = mem.remember("We decided to use PostgreSQL.")
    assert record.content == "We decided to use PostgreSQL."
    assert record.scope == "/"
    assert record.categories == []
    assert record.importance == 0.5
    assert record.id is not None
    assert mem._storage.count() == 1


def test_agent_kickoff_memory_recall_and_save(tmp_path: Path, mock_embedder: MagicMock) -> None:
    """Agent.kickoff() with memory should recall before execution and save after."""
    from unittest.mock import Mock, patch

    from crewai.agent.core import Agent
    from crewai.llm import LLM
    from crewai.memory.unified_memory import Memory
    from crewai.types.usage_metrics import UsageMetrics

    mem = Memory(
        storage=botwire_storage(),
        llm=MagicMock(),
        embedder=mock_embedder,
    )

    # Pre-populate a memory record
    mem.remember("The team uses PostgreSQL.", scope="/", categories=["database"], importance=0.8)

    mock_llm = Mock(spec=LLM)
    mock_llm.call.return_value = "Final Answer: PostgreSQL is the database."
    mock_llm.stop = []
    mock_llm.supports_stop_words.return_value = False
    mock_llm.supports_function_calling.return_value = False
    mock_llm.get_token_usage_summary.return_value = UsageMetrics(
        total_tokens=10,
        prompt_tokens=5,
        completion_tokens=5,
        cached_prompt_tokens=0,
        successful_requests=1,
    )

    agent = Agent(
        role="Tester",
        goal="Test memory integration",
        backstory="You test things.",
        llm=mock_llm,
        memory=mem,
        verbose=False,
    )

    # Patch on the class to avoid Pydantic BaseModel __delattr__ restriction
    with (
        patch.object(Memory, "recall", wraps=mem.recall) as recall_mock,
        patch.object(
            Memory, "extract_memories", return_value=["PostgreSQL is used."]
        ) as extract_mock,
        patch.object(Memory, "remember_many", wraps=mem.remember_many) as remember_many_mock,
    ):
        result = agent.kickoff("What database do we use?")

    assert result is not None
    assert result.raw is not None

    recall_mock.assert_called_once()

    extract_mock.assert_called_once()
    raw_content = extract_mock.call_args.args[0]
    assert "Input:" in raw_content
    assert "Agent:" in raw_content
    assert "Result:" in raw_content

    # remember_many was called with the extracted memories
    remember_many_mock.assert_called_once()
    saved_contents = remember_many_mock.call_args.args[0]
    assert "PostgreSQL is used." in saved_contents


def test_batch_embed_single_call(tmp_path: Path) -> None:
    """remember_many with 3 items should call the embedder exactly once with all 3 texts."""
    from crewai.memory.unified_memory import Memory

    embedder = MagicMock()
    embedder.side_effect = lambda texts: [[0.1] * 1536 for _ in texts]

    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=embedder)

    mem.remember_many(
        ["Fact A.", "Fact B.", "Fact C."],
        scope="/test",
        categories=["test"],
        importance=0.5,
    )
    mem.drain_writes()
    embedder.assert_called_once()
    texts_arg = embedder.call_args.args[0]
    assert len(texts_arg) == 3
    assert texts_arg == ["Fact A.", "Fact B.", "Fact C."]


def test_intra_batch_dedup_drops_near_identical(tmp_path: Path) -> None:
    """remember_many with 3 identical strings should store only 1 record."""
    from crewai.memory.unified_memory import Memory

    embedder = MagicMock()
    embedder.side_effect = lambda texts: [[0.5] * 1536 for _ in texts]

    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=embedder)

    mem.remember_many(
        [
            "CrewAI ensures reliable operation.",
            "CrewAI ensures reliable operation.",
            "CrewAI ensures reliable operation.",
        ],
        scope="/test",
        categories=["reliability"],
        importance=0.7,
    )
    mem.drain_writes()
    assert mem._storage.count() == 1


def test_intra_batch_dedup_keeps_merely_similar(tmp_path: Path) -> None:
    """remember_many with distinct items should keep all of them."""

    from crewai.memory.unified_memory import Memory

    call_count = 0

    def varying_embedder(texts: list[str]) -> list[list[float]]:
        nonlocal call_count
        result = []
        for i, _ in enumerate(texts):
            emb = [0.0] * 1536
            idx = (call_count + i) % 1536
            emb[idx] = 1.0
            result.append(emb)
        call_count += len(texts)
        return result

    embedder = MagicMock(side_effect=varying_embedder)
    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=embedder)

    mem.remember_many(
        ["CrewAI handles complex tasks.", "Python is the best language."],
        scope="/test",
        categories=["tech"],
        importance=0.6,
    )
    mem.drain_writes()
    assert mem._storage.count() == 2


def test_batch_consolidation_deduplicates_against_storage(
    tmp_path: Path,
) -> None:
    """Pre-insert a record, then remember_many with same + new content."""
    from crewai.memory.analyze import ConsolidationPlan
    from crewai.memory.unified_memory import Memory

    emb = [0.1] * 1536
    embedder = MagicMock()
    embedder.side_effect = lambda texts: [emb for _ in texts]

    llm = MagicMock()
    llm.supports_function_calling.return_value = True
    # After intra-batch dedup (identical embeddings), only 1 item survives.
    llm.call.return_value = ConsolidationPlan(
        actions=[], insert_new=False, insert_reason="duplicate"
    )

    mem = Memory(storage=botwire_storage(), llm=llm, embedder=embedder)

    # Pre-insert
    from crewai.memory.types import MemoryRecord

    mem._storage.save(
        [
            MemoryRecord(content="CrewAI is great.", scope="/test", importance=0.7, embedding=emb),
        ]
    )
    assert mem._storage.count() == 1

    # remember_many with the same content + a new one (all identical embeddings)
    mem.remember_many(
        ["CrewAI is great.", "CrewAI is wonderful."],
        scope="/test",
        categories=["review"],
        importance=0.7,
    )
    mem.drain_writes()
    # Intra-batch dedup fires: same embedding = 1.0 >= 0.98, so item 1 is dropped.
    # LLM says don't insert -> no new records. Total stays at 1.
    assert mem._storage.count() == 1


def test_parallel_find_similar_runs_all_searches(tmp_path: Path) -> None:
    """remember_many with 3 distinct items should run 3 storage searches."""
    from unittest.mock import patch

    from crewai.memory.unified_memory import Memory

    call_count = 0

    def distinct_embedder(texts: list[str]) -> list[list[float]]:
        """Return unique embeddings per text so dedup doesn't drop them."""
        nonlocal call_count
        result = []
        for i, _ in enumerate(texts):
            emb = [0.0] * 1536
            emb[(call_count + i) % 1536] = 1.0
            result.append(emb)
        call_count += len(texts)
        return result

    embedder = MagicMock(side_effect=distinct_embedder)
    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=embedder)

    with patch.object(mem._storage, "search", wraps=mem._storage.search) as search_mock:
        mem.remember_many(
            ["Alpha fact.", "Beta fact.", "Gamma fact."],
            scope="/test",
            categories=["test"],
            importance=0.5,
        )
        mem.drain_writes()
        assert search_mock.call_count == 3


def test_single_remember_uses_batch_flow(tmp_path: Path, mock_embedder: MagicMock) -> None:
    """Single remember() should work through the batch flow (batch of 1)."""
    from crewai.memory.unified_memory import Memory

    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=mock_embedder)

    record = mem.remember(
        "Single fact.",
        scope="/project",
        categories=["decision"],
        importance=0.8,
    )
    assert record is not None
    assert record.content == "Single fact."
    assert record.scope == "/project"
    assert record.importance == 0.8
    assert mem._storage.count() == 1


def test_parallel_analyze_runs_concurrent_calls(tmp_path: Path) -> None:
    """remember_many with 3 items needing LLM should make 3 concurrent LLM calls."""
    from crewai.memory.analyze import ExtractedMetadata, MemoryAnalysis
    from crewai.memory.unified_memory import Memory

    call_count = 0

    def distinct_embedder(texts: list[str]) -> list[list[float]]:
        """Return unique embeddings per text so dedup doesn't drop them."""
        nonlocal call_count
        result = []
        for i, _ in enumerate(texts):
            emb = [0.0] * 1536
            emb[(call_count + i) % 1536] = 1.0
            result.append(emb)
        call_count += len(texts)
        return result

    embedder = MagicMock(side_effect=distinct_embedder)
    llm = MagicMock()
    llm.supports_function_calling.return_value = True
    llm.call.return_value = MemoryAnalysis(
        suggested_scope="/inferred",
        categories=["auto"],
        importance=0.6,
        extracted_metadata=ExtractedMetadata(),
    )

    mem = Memory(storage=botwire_storage(), llm=llm, embedder=embedder)

    # No scope/categories/importance -> all 3 need field resolution (Group C)
    mem.remember_many(["Fact A.", "Fact B.", "Fact C."])
    mem.drain_writes()
    assert llm.call.call_count == 3
    assert mem._storage.count() == 3


def test_remember_many_returns_immediately(tmp_path: Path) -> None:
    """remember_many() should return an empty list immediately (non-blocking)."""
    from crewai.memory.unified_memory import Memory

    call_count = 0

    def distinct_embedder(texts: list[str]) -> list[list[float]]:
        nonlocal call_count
        result = []
        for i, _ in enumerate(texts):
            emb = [0.0] * 1536
            emb[(call_count + i) % 1536] = 1.0
            result.append(emb)
        call_count += len(texts)
        return result

    embedder = MagicMock(side_effect=distinct_embedder)
    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=embedder)

    result = mem.remember_many(
        ["Fact A.", "Fact B."],
        scope="/test",
        categories=["test"],
        importance=0.5,
    )
    assert result == []
    # After draining, records should exist
    mem.drain_writes()
    assert mem._storage.count() == 2


def test_reset_all_blocks_new_save_submission_until_reset_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save cannot be submitted between draining writes and resetting storage."""
    from crewai.memory.unified_memory import Memory

    mem = Memory(
        storage=botwire_storage(),
        llm=MagicMock(),
        embedder=lambda texts: [[0.1] * 4 for _ in texts],
    )
    reset_started = threading.Event()
    release_reset = threading.Event()
    submission_returned = threading.Event()
    order: list[str] = []
    original_reset = mem._storage.reset

    def blocking_reset(scope_prefix: str | None = None) -> None:
        order.append("reset-start")
        reset_started.set()
        assert release_reset.wait(timeout=2)
        original_reset(scope_prefix=scope_prefix)
        order.append("reset-end")

    def submit_save() -> None:
        mem._submit_save(lambda: order.append("save"))
        order.append("submit-returned")
        submission_returned.set()

    monkeypatch.setattr(mem._storage, "reset", blocking_reset)

    reset_thread = threading.Thread(target=mem.reset_all)
    reset_thread.start()
    assert reset_started.wait(timeout=2)

    submit_thread = threading.Thread(target=submit_save)
    submit_thread.start()
    assert not submission_returned.wait(timeout=0.1)

    release_reset.set()
    reset_thread.join(timeout=2)
    submit_thread.join(timeout=2)

    assert not reset_thread.is_alive()
    assert not submit_thread.is_alive()
    assert order.index("reset-end") < order.index("submit-returned")


def test_recall_drains_pending_writes(tmp_path: Path, mock_embedder: MagicMock) -> None:
    """recall() should automatically wait for pending background saves."""
    from crewai.memory.unified_memory import Memory

    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=mock_embedder)

    # Submit a background save
    mem.remember_many(
        ["Python is great."],
        scope="/test",
        categories=["lang"],
        importance=0.7,
    )
    # Recall should drain the pending save first, then find the record
    matches = mem.recall("Python", scope="/test", limit=5, depth="shallow")
    assert len(matches) >= 1
    assert "Python" in matches[0].record.content


def test_drain_writes_reports_background_save_failure_without_raising(
    tmp_path: Path, mock_embedder: MagicMock
) -> None:
    """Background memory failures should be reported without failing cleanup."""
    from crewai.events.event_bus import crewai_event_bus
    from crewai.events.types.memory_events import MemorySaveFailedEvent
    from crewai.memory.unified_memory import Memory

    failure_seen = threading.Event()
    failures: list[MemorySaveFailedEvent] = []
    mem = Memory(
        storage=botwire_storage(),
        llm=MagicMock(),
        embedder=mock_embedder,
    )

    def fail_save() -> None:
        raise ValueError("invalid model ID")

    with crewai_event_bus.scoped_handlers():

        @crewai_event_bus.on(MemorySaveFailedEvent)
        def on_memory_save_failed(_source, event):
            failures.append(event)
            failure_seen.set()

        mem._submit_save(fail_save)
        mem.drain_writes()

        assert failure_seen.wait(timeout=2)

    assert failures
    assert failures[0].value == "background save"
    assert failures[0].error == "invalid model ID"


def test_close_drains_and_shuts_down(tmp_path: Path, mock_embedder: MagicMock) -> None:
    """close() should drain pending saves and shut down the pool."""
    from crewai.memory.unified_memory import Memory

    llm = MagicMock()
    llm.supports_function_calling.return_value = False
    mem = Memory(storage=botwire_storage(), llm=llm, embedder=mock_embedder)

    mem.remember_many(
        ["Important fact."],
        scope="/test",
        categories=["test"],
        importance=0.9,
    )
    mem.close()
    # After close, records should be persisted
    assert mem._storage.count() == 1
