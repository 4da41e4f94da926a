"""Test environment helpers (free of crewai imports, so conftest stays light)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_DISABLE_TRACKING": "true",
}
"""Environment that keeps crewai off the network."""


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
