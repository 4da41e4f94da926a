"""Start, kill and restart real server processes (security tests and benchmarks).

Output goes to files, never pipes, so a chatty server cannot block on a full pipe.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

__all__ = ["ROOT", "Proc", "free_port", "launch_secure", "launch_server"]

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://\S+)")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A server process: ``.url``, ``.stop()``, ``.kill()``, ``.logs``."""

    def __init__(self, args: list[str], env: dict[str, str], folder: Path) -> None:
        self.args = args
        self.env = env
        self.folder = folder
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def logs(self) -> str:
        """Everything the server wrote (stdout and stderr of every run)."""
        return "".join(p.read_text("utf-8", "replace") for p in sorted(self.folder.glob("*.log")))

    def start(self, timeout: float = 30.0) -> Proc:
        """Start (or restart) the process and wait until ``/healthz`` answers 200."""
        self.runs += 1
        out_path = self.folder / f"out-{self.runs}.log"
        with open(out_path, "wb") as out, open(self.folder / f"err-{self.runs}.log", "wb") as err:
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=err, env=self.env, cwd=ROOT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            match = _LISTENING.search(out_path.read_text("utf-8", "replace"))
            if match:
                self.url = match.group(1)
                try:
                    if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the server did not become healthy; its output:\n{self.logs[-4000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, like a power cut for the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _env(extra: dict[str, str] | None, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWIRE_")}
    env["BOTWIRE_HOME"] = str(folder / "home")
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


def launch_secure(db_url: str, admin_token: str | None, *extra: str) -> Proc:
    """The real app with tokens on (``tests/security/launch.py``), started."""
    folder = Path(tempfile.mkdtemp(prefix="botwire-sec-"))
    env = _env({"BOTWIRE_ADMIN_TOKEN": admin_token} if admin_token else None, folder)
    args = [sys.executable, "-m", "tests.security.launch", "--db", db_url, *extra]
    return Proc(args, env, folder).start()


def launch_server(
    db_url: str,
    *extra: str,
    port: int = 0,
    start: bool = True,
    env: dict[str, str] | None = None,
) -> Proc:
    """``python -m botwire.server`` (what ``botwire serve`` runs) on ``port``."""
    folder = Path(tempfile.mkdtemp(prefix="botwire-srv-"))
    args = [sys.executable, "-m", "botwire.server", "--port", str(port), "--db", db_url, *extra]
    proc = Proc(args, _env(env, folder), folder)
    return proc.start() if start else proc
