"""Start real BotWire server processes for tests (``python -m botwire.server``).

The server binds port 0 and prints the URL it listens on; we read it from its
output file and wait for ``/healthz``. Output goes to files, never to pipes, so a
chatty server can never block on a full pipe.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["ServerProcess", "start_server"]

_LISTENING = re.compile(r"listening on (http://\S+)")


class ServerProcess:
    """A running server: ``.url``, ``.stop()``, and its log files."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, folder: Path) -> None:
        self.process = process
        self.url = url
        self.folder = folder

    @property
    def stderr(self) -> str:
        """What the server logged so far (access log and errors)."""
        return (self.folder / "stderr.log").read_text("utf-8", "replace")

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the server (SIGTERM, then SIGKILL) and return its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_FLAGS = {
    "writes_per_day": "--writes-per-day",
    "max_value_bytes": "--max-value-bytes",
    "max_namespace_bytes": "--max-namespace-bytes",
    "host": "--host",
}


def start_server(
    db_url: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    access_log: bool = True,
    **settings: Any,
) -> ServerProcess:
    """Start ``python -m botwire.server`` on a free 127.0.0.1 port and wait until healthy.

    Args:
        db_url: the store the server uses (``sqlite:///…`` or ``postgresql://…``).
        env: extra environment variables for the server process.
        settings: ``writes_per_day``, ``max_value_bytes``, ``max_namespace_bytes``
            (``None``: unlimited), ``host``.
    """
    folder = Path(tempfile.mkdtemp(prefix="botwire-server-"))
    args = [sys.executable, "-m", "botwire.server", "--port", "0", "--db", db_url]
    if not access_log:
        args.append("--no-access-log")
    for name, value in settings.items():
        flag = _FLAGS.get(name)
        if flag is None:
            raise TypeError(f"start_server() got an unknown setting {name!r}")
        args += [flag, "unlimited" if value is None else str(value)]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOTWIRE_")}
    full_env["BOTWIRE_HOME"] = str(folder / "home")
    full_env.update(env or {})
    with open(folder / "stdout.log", "wb") as out, open(folder / "stderr.log", "wb") as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, env=full_env, cwd=folder)
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        match = _LISTENING.search((folder / "stdout.log").read_text("utf-8", "replace"))
        if match:
            url = match.group(1)
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    return ServerProcess(process, url, folder)
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
    raise RuntimeError(
        f"the BotWire server did not become healthy (exit code {process.returncode}, "
        f"url {url}); its output:\n"
        + (folder / "stdout.log").read_text("utf-8", "replace")
        + (folder / "stderr.log").read_text("utf-8", "replace")[-4000:]
    )
