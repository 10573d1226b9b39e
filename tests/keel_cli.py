"""Run the `keel` command in-process, as the CLI tests do, and capture what it prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keel.cli import main


class Cli:
    """`cli(*args)` runs `keel [--db DB] ARGS...` and returns (exit code, stdout, stderr)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], db: Path | None = None) -> None:
        self.capsys = capsys
        self.db = db

    def __call__(self, *args: str, db: Path | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        target = db or self.db
        code = main([*(["--db", str(target)] if target else []), *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str, db: Path | None = None) -> str:
        """The output of a command that must succeed."""
        code, out, err = self(*args, db=db)
        assert code == 0, err
        return out

    def json(self, *args: str, db: Path | None = None) -> Any:
        """The parsed `--json` output of a command that must succeed."""
        return json.loads(self.ok(*args, "--json", db=db))
