"""docs/reliability.md: every command it gives names a real script, test or flag.

The benchmarks themselves take minutes (run them with the commands on the page);
this keeps the page from pointing at files or options that do not exist.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
BASH = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def commands() -> list[list[str]]:
    lines = [line for block in BASH.findall(DOC.read_text()) for line in block.splitlines()]
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


def test_every_command_names_an_existing_script_or_test_and_its_flags() -> None:
    checked = 0
    for args in commands():
        assert args[:2] == [".venv/bin/python", "-m"], args
        if args[2] == "pytest":
            paths = [a for a in args[3:] if not a.startswith("-") and a != "no:cacheprovider"]
            assert paths and all((ROOT / p).is_file() for p in paths), args
        else:
            source = (ROOT / (args[2].replace(".", "/") + ".py")).read_text()
            for flag in (a for a in args[3:] if a.startswith("--")):
                assert f'"{flag}"' in source, (args, flag)
        checked += 1
    assert checked >= 7
