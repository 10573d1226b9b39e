"""`keel --help` and `keel ledger info` start without the numerical stack: importing the command
line loads no numpy, scipy, pyarrow or torch (benchmarks/bench_startup.py times it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("numpy", "scipy", "pyarrow", "torch", "sklearn")


def loaded_after(code: str, cwd: Path | None = None) -> list[str]:
    """The heavy packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint('loaded:', *(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()[-1].split()[1:]


def test_importing_the_command_line_loads_no_numerical_package() -> None:
    assert loaded_after("import keel.cli") == []


def test_help_and_ledger_info_load_no_numerical_package(tmp_path: Path) -> None:
    run = "from keel.cli import main\nmain({args!r})"
    (tmp_path / "r.jsonl").write_text('{"text": "a human text", "origin": "human"}\n')
    loaded_after(run.format(args=["--db", "l.db", "ingest", "r.jsonl"]), tmp_path)
    assert loaded_after(run.format(args=["--help"]), tmp_path) == []
    assert loaded_after(run.format(args=["--db", "l.db", "ledger", "info"]), tmp_path) == []
