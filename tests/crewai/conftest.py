"""Keep crewai offline and out of the real home directory during these tests.

``import crewai`` writes ``~/.local/share/crewai/credentials/secret.key`` and a
kickoff without these variables contacts telemetry.crewai.com, so the variables
are set before any test module imports crewai, and restored at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.crewai._env import ENV

_SESSION_HOME = tempfile.mkdtemp(prefix="botwire-crewai-home-")
_SAVED = {
    name: os.environ.get(name) for name in [*ENV, "HOME", "CREWAI_STORAGE_DIR", "XDG_DATA_HOME"]
}
os.environ.update(ENV, HOME=_SESSION_HOME, CREWAI_STORAGE_DIR=f"{_SESSION_HOME}/crewai")
os.environ.pop("XDG_DATA_HOME", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _SAVED.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(_SESSION_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def crewai_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Per test: temporary HOME, absolute CREWAI_STORAGE_DIR and working directory."""
    for name in ("home", "crewai-storage", "cwd"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREWAI_STORAGE_DIR", str(tmp_path / "crewai-storage"))
    monkeypatch.chdir(tmp_path / "cwd")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return tmp_path
