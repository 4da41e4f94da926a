"""Memory that survives the process: one process writes, a second one reads.

Run by ``scripts/run``; uses the embedded default store (no server needed).
"""

from __future__ import annotations

import subprocess
import sys

WRITER = """
from botwire import Memory
memory = Memory("user-preferences")
memory.set("user-42:response_style", "concise")
turns = memory.append("user-42:chat", {"role": "user", "content": "Keep it short, please."})
print(f"[process 1] stored a preference and chat turn {turns}; exiting")
"""

READER = """
from botwire import Memory, default_path
memory = Memory("user-preferences")
style = memory.get("user-42:response_style")
chat = memory.get_list("user-42:chat", last=1)
print(f"[process 2] a new process reads: response_style={style!r}, last turn={chat[-1]!r}")
print(f"[process 2] the data lives in {default_path()}")
"""


def main() -> None:
    """Run the writer and then the reader, each in its own interpreter."""
    for code in (WRITER, READER):
        subprocess.run([sys.executable, "-c", code], check=True)


if __name__ == "__main__":
    main()
