"""Keep crewai offline and out of the real home directory during these tests.

``import crewai`` writes ``~/.local/share/crewai/credentials/secret.key`` and a
kickoff without these variables contacts telemetry.crewai.com, so the variables
are set before any test module imports crewai, and restored at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crewai._env import crewai_test_sandbox, enter_crewai_sandbox, leave_crewai_sandbox

enter_crewai_sandbox()


def pytest_unconfigure(config: pytest.Config) -> None:
    leave_crewai_sandbox()


@pytest.fixture(autouse=True)
def crewai_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Per test: temporary HOME, absolute CREWAI_STORAGE_DIR and working directory."""
    return crewai_test_sandbox(tmp_path, monkeypatch)
