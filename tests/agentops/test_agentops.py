"""BotWire for AgentOps: the in-process checks, and the runners of the offline cases.

``agentops.init()`` installs process-wide state (OpenTelemetry's set-once tracer
provider, a patched ``print``), so everything that initialises AgentOps runs in a
fresh interpreter: ``tests/agentops/cases`` (offline, sockets blocked) and
``export_probe.py`` (real AgentOps export to a loopback OTLP receiver).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("agentops")

import botwire  # noqa: E402
import botwire.agentops  # noqa: E402
from botwire.agentops import memory_operation, traced  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

# AgentOps' settings for the child processes: quiet, no log file, no auto trace, and
# every AgentOps endpoint on a closed loopback port should anything try to call out.
# No API key: with one, agentops.init() starts its auth call from a new event loop it
# never closes (a ResourceWarning, an error under filterwarnings=error); the export
# probe, which needs the auth round trip, passes a dummy key itself.
OFFLINE_ENV = {
    "AGENTOPS_LOGGING_TO_FILE": "false",
    "AGENTOPS_API_ENDPOINT": "http://127.0.0.1:9",
    "AGENTOPS_EXPORTER_ENDPOINT": "http://127.0.0.1:9/v1/traces",
    "AGENTOPS_APP_URL": "http://127.0.0.1:9",
    "AGENTOPS_AUTO_START_SESSION": "false",
    "AGENTOPS_INSTRUMENT_LLM_CALLS": "false",
    "AGENTOPS_LOG_SESSION_REPLAY_URL": "false",
    "AGENTOPS_LOG_LEVEL": "CRITICAL",
}


def _child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOPS_", "OTEL_"))}
    env.update(OFFLINE_ENV)
    env.update(extra)
    env["BOTWIRE_HOME"] = str(tmp_path / "botwire-home")
    env.pop("BOTWIRE_URL", None)
    return env


def test_offline_cases_pass_in_a_fresh_process(tmp_path: Path) -> None:
    """Spans for every operation, nesting, errors, no leaks, async, the docs page."""
    pytest.importorskip("pytest_socket", reason="the cases run with network blocked")
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(HERE / "cases"),
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "python_files=cases_*.py",
        f"--rootdir={ROOT}",
        f"--basetemp={tmp_path / 'basetemp'}",
        # pytest-socket: any network call fails the case (asyncio's self-pipe is a
        # unix socket); the case that talks to a loopback server allows itself.
        "--disable-socket",
        "--allow-unix-socket",
    ]
    result = subprocess.run(
        command,
        cwd=tmp_path,  # a stray ./agentops.log would land here, not in the checkout
        env=_child_env(tmp_path, BOTWIRE_AGENTOPS_CASES="1"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout, report
    assert not list(tmp_path.glob("agentops.log"))


def _exporter_version() -> tuple[int, ...]:
    version = importlib.metadata.version("opentelemetry-exporter-otlp-proto-http")
    return tuple(int(part) for part in version.split(".")[:2])


@pytest.mark.xfail(
    _exporter_version() >= (1, 45),
    reason="agentops 0.4.21's exporter reads _headers/_session, which "
    "opentelemetry-exporter-otlp-proto-http 1.45 removed: pin it below 1.45",
    strict=True,
)
def test_spans_leave_the_process_over_otlp(tmp_path: Path) -> None:
    """Real ``agentops.init()`` exports traced memory spans to an OTLP/HTTP receiver."""
    result = subprocess.run(
        [sys.executable, str(HERE / "export_probe.py")],
        cwd=tmp_path,
        env=_child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["authorization"] == "Bearer jwt-from-loopback"
    assert {"botwire.set.tool", "botwire.get.tool", "remember_style.task"} <= set(found["spans"])
    assert found["span_kinds"]["botwire.get.tool"] == "tool"
    assert found["parents_ok"]
    assert found["untraced_before_init"] == 0


def test_public_names() -> None:
    assert botwire.agentops.__all__ == sorted(botwire.agentops.__all__)
    assert botwire.agentops.__all__ == ["memory_operation", "traced"]
    for name in botwire.agentops.__all__:
        assert getattr(botwire.agentops, name).__doc__


def test_traced_rejects_what_is_not_a_memory() -> None:
    with pytest.raises(TypeError, match="botwire.Memory or botwire.AsyncMemory, not dict"):
        traced({})  # type: ignore[type-var]


def test_traced_rejects_a_non_bool_record_values(tmp_path: Path) -> None:
    with botwire.Memory("prefs", f"sqlite:///{tmp_path / 'm.db'}") as memory:
        with pytest.raises(TypeError, match="record_values must be True or False"):
            traced(memory, record_values="yes")  # type: ignore[arg-type]


def test_memory_operation_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        memory_operation(name="")
    with pytest.raises(TypeError, match=r"memory_operation\(name='save'\)"):
        memory_operation("save")
    with pytest.raises(TypeError, match="decorates a function, not int"):
        memory_operation(42)

    def generator() -> object:
        yield 1

    with pytest.raises(TypeError, match="cannot trace generator"):
        memory_operation(generator)


def test_while_nothing_records_a_traced_memory_behaves_as_its_own(tmp_path: Path) -> None:
    """No tracer provider: calls skip the tracing layer but keep every setting."""
    from botwire.agentops._spans import enabled

    assert not enabled()  # nothing in this process installs a tracer provider
    with traced(botwire.Memory("prefs", f"sqlite:///{tmp_path / 'm.db'}")) as memory:
        assert memory.set("style", "concise") == 1
        assert memory.get("style") == "concise" and "style" in memory
        memory.max_value_bytes = 10  # set on the traced memory: applies to every call
        with pytest.raises(botwire.ValueTooLargeError):
            memory.set("style", "x" * 50)
        assert memory.update("n", lambda n: n + 1, default=0) == 1
        again = traced(memory)  # tracing a traced memory keeps its settings too
        with pytest.raises(botwire.ValueTooLargeError):
            again.set("style", "x" * 50)
        assert again.get("n") == 1
