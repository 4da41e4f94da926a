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


def test_stores_are_public_and_load_lazily() -> None:
    """``from botwire import HTTPStore`` etc. work; ``import botwire`` loads none of them."""
    code = (
        "import sys, botwire\n"
        "loaded = [m for m in ('botwire._http', 'botwire._postgres', 'httpx', 'psycopg')"
        " if m in sys.modules]\n"
        "assert loaded == [], loaded\n"
        "from botwire import AsyncHTTPStore, HTTPStore, RetryPolicy\n"
        "assert 'botwire._postgres' not in sys.modules\n"
        "from botwire import AsyncPostgresStore, PostgresStore\n"
        "from botwire._http import HTTPStore as H\n"
        "from botwire._postgres import PostgresStore as P\n"
        "assert HTTPStore is H and PostgresStore is P\n"
        "print('ok')\n"
    )
    assert subprocess.check_output([sys.executable, "-c", code], text=True) == "ok\n"
    with pytest.raises(AttributeError, match="no attribute 'NoSuchStore'"):
        botwire.NoSuchStore  # noqa: B018
    assert {"HTTPStore", "AsyncHTTPStore", "RetryPolicy"} <= set(botwire.__all__)
    # left out of __all__: a star import must work without the postgres extra
    assert "PostgresStore" not in botwire.__all__ and "PostgresStore" not in dir(botwire)


def test_postgres_store_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "import botwire\n"
        "try:\n"
        "    botwire.PostgresStore\n"
        "except botwire.MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.check_output([sys.executable, "-c", code], text=True)
    assert 'pip install "botwire[postgres]"' in out


# The twins' parity (full signatures and annotations): tests/test_twins.py.


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
        "from botwire import Memory, __version__\n"
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


def _private_botwire_imports(path: Path, own: str) -> list[str]:
    """``file:line: module`` for each import in ``path`` of a private ``botwire``
    module other than those of the adapter's own package ``own``."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if module == own or module.startswith(own + "."):
                continue
            private = [p for p in parts[1:] if p.startswith("_") and not p.endswith("__")]
            if parts[0] == "botwire" and private:
                found.append((node.lineno, f"{path}:{node.lineno}: {module}"))
                break
    return [hit for _, hit in sorted(found)]


def test_adapters_import_only_public_names() -> None:
    """Adapters are built on public ``botwire`` names only (DESIGN.md §8): what they
    need is public (``botwire``, ``botwire.tools``, ``botwire.tokens``), so a
    third-party adapter can do the same. Their own private modules are fine."""
    found = []
    adapters = sorted(p for p in (ROOT / "integrations").iterdir() if p.is_dir())
    assert {"langchain", "crewai", "autogen", "agentops", "mcp"} <= {p.name for p in adapters}
    for adapter in adapters:
        for path in sorted(adapter.rglob("*.py")):
            hits = _private_botwire_imports(path, own=f"botwire.{adapter.name}")
            found += [hit.replace(str(ROOT) + os.sep, "") for hit in hits]
    assert not found, "adapters import private botwire modules:\n" + "\n".join(found)


def test_private_import_scan_catches_every_form(tmp_path: Path) -> None:
    """The scan above cannot pass vacuously: each form of private import is caught."""
    sample = tmp_path / "x.py"
    sample.write_text(
        "import botwire._codec\n"
        "from botwire._errors import require_extra\n"
        "from botwire import _codec\n"
        "def f():\n    from botwire.server._app import Server\n"
        "from botwire import Memory, __version__\n"
        "from botwire.langchain._twins import MemoryPair\n"
        "from botwire.crewai._storage import BotWireStorage\n"
        "from ._x import y\n",
        encoding="utf-8",
    )
    hits = _private_botwire_imports(sample, own="botwire.langchain")
    assert [int(hit.split(":")[-2]) for hit in hits] == [1, 2, 3, 5, 8], hits
