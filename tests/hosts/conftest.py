"""The hosts' own test suites, run against BotWire's adapters.

Each ``test_*.py`` here is a test file of a host framework (LangGraph, CrewAI,
AutoGen, LangChain), vendored under its MIT licence with the store it tested
swapped for the BotWire adapter; the header of each file names its source and
what changed. Tests that encode a behaviour BotWire deliberately differs on are
kept and marked ``xfail`` with the reason (the adapter's page in docs/ says it
too), so the count of what passes stays visible.

``host_url`` runs every test over the embedded SQLite file and over a real
server process (``python -m botwire.server``, the process ``botwire serve``
starts) on SQLite; ``BOTWIRE_TEST_BACKENDS`` narrows it like the rest of the
suite. Each test gets a namespace of its own, so tests sharing the server never
see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import BACKENDS
from tests.crewai._env import crewai_test_sandbox, enter_crewai_sandbox, leave_crewai_sandbox

if TYPE_CHECKING:
    from botwire.crewai import BotWireStorage

HOST_BACKENDS = [name for name in ("sqlite", "http+sqlite") if name in BACKENDS]

# ``import crewai`` (at collection of test_crewai_*.py) writes to the home folder.
enter_crewai_sandbox()


def pytest_unconfigure(config: pytest.Config) -> None:
    leave_crewai_sandbox()


@pytest.fixture(params=HOST_BACKENDS)
def host_url(request: pytest.FixtureRequest, tmp_path: Path, _servers: dict[str, str]) -> str:
    """The embedded SQLite file of this test, or the URL of a shared server process."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'host.db'}"
    return _servers["sqlite"]


@pytest.fixture
def host_namespace() -> str:
    """A BotWire namespace no other test uses."""
    return f"host-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def crewai_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For CrewAI's tests: a temporary HOME, storage folder and working directory."""
    return crewai_test_sandbox(tmp_path, monkeypatch)


@pytest.fixture
def make_storage(host_url: str, host_namespace: str) -> Iterator[Callable[[], BotWireStorage]]:
    """For CrewAI's storage tests: opens ``BotWireStorage`` objects on one namespace
    (where each file opened a LanceDB or Qdrant Edge folder), closed after the test."""
    from botwire.crewai import BotWireStorage

    opened: list[BotWireStorage] = []

    def make() -> BotWireStorage:
        opened.append(BotWireStorage(host_namespace, host_url))
        return opened[-1]

    yield make
    for storage in opened:
        storage.memory.close()
