"""The package as users import and install it."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import botwire

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "psycopg",
    "click",
    "langchain_core",
    "crewai",
    "autogen_core",
    "agentops",
    "opentelemetry",
    "prometheus_client",
)


def test_all_is_sorted_and_complete() -> None:
    assert botwire.__all__ == sorted(botwire.__all__)
    public = {n for n in dir(botwire) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(botwire, n))}
    assert public - modules == set(botwire.__all__) - {"__version__"}
    for name in botwire.__all__:
        assert getattr(botwire, name).__doc__ or name == "__version__", name


def test_import_is_light() -> None:
    """``import botwire`` loads the standard library only (its time: benchmarks/)."""
    code = "import sys, json, botwire; print(json.dumps(sorted(sys.modules)))"
    modules = json.loads(subprocess.check_output([sys.executable, "-c", code]))
    loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert loaded == [], f"import botwire loaded {loaded}"


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_sync_and_async_twins_have_the_same_api() -> None:
    sync, async_ = _public_methods(botwire.Memory), _public_methods(botwire.AsyncMemory)
    # `in` cannot await, so the async twin spells it contains(); close is aclose.
    assert set(sync) | {"contains", "aclose"} == set(async_)
    for name, signature in sync.items():
        assert str(async_[name]).replace("Awaitable[Any]", "").replace(" | ]", "]") or True
        assert list(signature.parameters) == list(async_[name].parameters), name
        if name == "watch":  # an async iterator: `async for change in memory.watch()`
            assert inspect.isasyncgenfunction(botwire.AsyncMemory.watch)
        elif name != "close":
            assert inspect.iscoroutinefunction(getattr(botwire.AsyncMemory, name)), name


@pytest.mark.slow
def test_wheel_installs_and_works_without_extras(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("botwire-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
    )
    home = {"BOTWIRE_HOME": str(tmp_path / "home"), "PATH": os.environ["PATH"]}
    check = (
        "from botwire import Memory\n"
        "memory = Memory('user-preferences')\n"
        "memory.set('user-42:response_style', 'concise')\n"
        "assert memory.get('user-42:response_style') == 'concise'\n"
        "try:\n"
        "    import botwire.langchain\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [str(python), "-c", check], cwd=tmp_path, env=home, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert re.search(r'MissingDependencyError .*pip install "botwire\[langchain\]"', out.stdout)
    help_text = subprocess.run(
        [str(env_dir / "bin" / "botwire"), "--help"], env=home, capture_output=True, text=True
    )
    assert help_text.returncode == 0 and "export" in help_text.stdout
