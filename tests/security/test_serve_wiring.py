"""``botwire serve`` with tokens: the wiring of TokenAuth and the exposure rule.

These run against the real command (``python -m botwire.server``). Until the
command has ``--insecure-open`` (the sign TokenAuth is wired in) they cannot
pass (an unwired server would even run on until killed), so they are reported as
expected failures without running; once wired they run for real.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from botwire.server.cli import serve
from tests.security.procs import ROOT, launch_server

ADMIN = "adm-serve-" + "Zt5wQ2nX8cVb1mKp"
SERVE_WIRED = any(p.name == "insecure_open" for p in serve.params)
pytestmark = pytest.mark.xfail(
    not SERVE_WIRED,
    run=False,
    reason="botwire serve does not wire TokenAuth and --insecure-open yet (see the report)",
)


def test_serve_with_an_admin_token_requires_tokens(tmp_path: Path) -> None:
    env = {"BOTWIRE_ADMIN_TOKEN": ADMIN}
    with launch_server(f"sqlite:///{tmp_path / 's.db'}", env=env) as server:
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert httpx.get(f"{server.url}/memory/a/k").status_code == 401
        made = httpx.post(
            f"{server.url}/admin/tokens",
            headers={"authorization": f"Bearer {ADMIN}"},
            json={"namespaces": ["a"], "read": True, "write": True},
        )
        assert made.status_code == 201
        token = made.json()["token"]
        answer = httpx.put(
            f"{server.url}/memory/a/k",
            json={"value": 1},
            headers={"authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200
        assert httpx.get(f"{server.url}/memory/_botwire.tokens").status_code == 401
    assert token not in server.logs and ADMIN not in server.logs


def run_serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``botwire serve`` expecting it to refuse to start; return its output."""
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWIRE_")}
    full_env.update({"BOTWIRE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT), **(env or {})})
    done = subprocess.run(
        [sys.executable, "-m", "botwire.server", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    return done.stdout + done.stderr


def test_serve_refuses_a_public_address_without_tokens(tmp_path: Path) -> None:
    said = run_serve(tmp_path, "--host", "0.0.0.0")
    assert "refusing to serve 0.0.0.0 without tokens" in said
    assert "--insecure-open" in said


def test_serve_on_a_public_address_with_insecure_open_starts_open(tmp_path: Path) -> None:
    with launch_server(
        f"sqlite:///{tmp_path / 's.db'}", "--host", "0.0.0.0", "--insecure-open"
    ) as server:
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        assert httpx.put(f"{url}/memory/a/k", json={"value": 1}).status_code == 200
        assert httpx.get(f"{url}/memory/_botwire.tokens").status_code == 403
    assert "WARNING" in server.logs


def test_a_short_admin_token_stops_serve_with_how_to_fix_it(tmp_path: Path) -> None:
    said = run_serve(tmp_path, env={"BOTWIRE_ADMIN_TOKEN": "short"})
    assert "at least 16 characters" in said
