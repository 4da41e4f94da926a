"""Test environment helpers (free of crewai imports, so conftest stays light)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parents[2]

ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_DISABLE_TRACKING": "true",
}
"""Environment that keeps crewai off the network."""

_SAVED: dict[str, str | None] = {}
_SESSION_HOME: list[str] = []


def enter_crewai_sandbox() -> None:
    """For the whole test session: a temporary HOME and storage folder, crewai offline.

    Called by every conftest whose tests import crewai, before they are collected
    (``import crewai`` writes under HOME); only the first call changes anything.
    """
    if _SESSION_HOME:
        return
    home = tempfile.mkdtemp(prefix="botwire-crewai-home-")
    _SESSION_HOME.append(home)
    for name in [*ENV, "HOME", "CREWAI_STORAGE_DIR", "XDG_DATA_HOME"]:
        _SAVED[name] = os.environ.get(name)
    os.environ.update(ENV, HOME=home, CREWAI_STORAGE_DIR=f"{home}/crewai")
    os.environ.pop("XDG_DATA_HOME", None)


def leave_crewai_sandbox() -> None:
    """Restore what :func:`enter_crewai_sandbox` changed (once; later calls do nothing)."""
    if not _SESSION_HOME:
        return
    for name, value in _SAVED.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _SAVED.clear()
    shutil.rmtree(_SESSION_HOME.pop(), ignore_errors=True)


def crewai_test_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Per test: temporary HOME, absolute CREWAI_STORAGE_DIR and working directory."""
    for name in ("home", "crewai-storage", "cwd"):
        (tmp_path / name).mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CREWAI_STORAGE_DIR", str(tmp_path / "crewai-storage"))
    monkeypatch.chdir(tmp_path / "cwd")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def start_python(code: str, *, cwd: Path) -> subprocess.Popen[str]:
    """Start ``code`` in a new Python process with the current environment."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_python(code: str, *, cwd: Path, timeout: float = 120) -> str:
    """Run ``code`` in a new Python process with the current environment; return stdout."""
    child = start_python(code, cwd=cwd)
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, f"child process failed:\n{out}\n{err}"
    return out
