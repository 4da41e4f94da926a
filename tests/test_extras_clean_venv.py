"""What a new user gets: per extra, the wheel in a clean venv, and that page's snippets.

For each extra, a venv holds nothing but ``botwire[<extra>]`` (the built wheel; its
dependencies at the versions of ``requirements.lock``) and what a snippet of its
pages says to install (``# pip install langchain-classic``), and every snippet of the
pages that extra is for runs twice in a row on the same store, as a reader running
the page again would (``tests/docs_runner.py`` checks what they print).

Cost: the venvs are kept under ``.venv/clean-venvs/`` and rebuilt only when the
lock or pyproject.toml changes; otherwise only the fresh wheel is reinstalled into
them. pip's own cache is shared. The first run takes minutes; later runs seconds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "docs_runner.py"
VENVS = ROOT / ".venv" / "clean-venvs"

PAGES = {
    "": ["README.md:core"],
    "langchain": ["README.md", "docs/langchain.md", "docs/migrating.md"],
    "crewai": ["docs/crewai.md"],
    "autogen": ["docs/autogen.md"],
    "agentops": ["docs/agentops.md"],
}
"""Extra -> the pages whose snippets need only that extra (``:core``: those that need none)."""

CREWAI_OFFLINE = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_TRACKING": "true",
}


def _agentops_offline() -> dict[str, str]:
    """The settings docs/agentops.md gives for a quiet offline run (one source)."""
    text = (ROOT / "docs" / "agentops.md").read_text("utf-8")
    return dict(re.findall(r'^\s+(AGENTOPS_[A-Z_]+)="([^"]*)"', text, re.MULTILINE))


def _pip(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [built] = dist.glob("botwire-*.whl")
    return built


def _page_installs(extra: str) -> list[str]:
    """What the pages' snippets say to install beyond the extra (``# pip install x``)."""
    wanted = []
    for spec in PAGES[extra]:
        text = (ROOT / spec.partition(":")[0]).read_text("utf-8")
        for block in re.findall(r"```python\n(.*?)```", text, re.S):
            wanted += re.findall(r"#\s*pip install ([A-Za-z0-9_.-]+)\s*$", block, re.M)
    return sorted(set(wanted))


def _venv_for(extra: str, wheel: Path) -> Path:
    """A venv with only ``botwire[extra]`` (and what its pages say to install), kept
    while the lock, pyproject.toml and those installs stay the same."""
    digest = hashlib.sha256(" ".join(_page_installs(extra)).encode())
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    home = VENVS / f"{extra or 'core'}-{digest.hexdigest()[:12]}"
    python = home / "bin" / "python"
    requirement = f"{wheel}[{extra}]" if extra else str(wheel)
    if not (home / ".complete").exists():
        for stale in VENVS.glob(f"{extra or 'core'}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        venv.create(home, with_pip=True)
        lock = str(ROOT / "requirements.lock")
        _pip(python, "install", "-c", lock, requirement, *_page_installs(extra))
        (home / ".complete").touch()
    else:  # the dependencies are there already: the code under test is the new wheel
        _pip(python, "install", "--no-deps", "--force-reinstall", str(wheel))
    return python


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("extra", list(PAGES), ids=[e or "core" for e in PAGES])
def test_each_extra_runs_its_pages_twice_in_a_clean_venv(
    extra: str, wheel: Path, tmp_path: Path
) -> None:
    python = _venv_for(extra, wheel)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "BOTWIRE_HOME": str(tmp_path / "botwire"),  # the same store for both runs
        "CREWAI_STORAGE_DIR": str(tmp_path / "crewai"),
        **CREWAI_OFFLINE,
        **_agentops_offline(),
    }
    (tmp_path / "home").mkdir()
    pages = [str(ROOT / page) for page in PAGES[extra]]
    for run in (1, 2):
        result = subprocess.run(
            [str(python), "-I", str(RUNNER), *pages],  # -I: nothing from the checkout
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        report = f"run {run}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        assert result.returncode == 0, report
        assert result.stdout.strip().endswith("ok"), report
    assert not list(tmp_path.glob("agentops.log"))
