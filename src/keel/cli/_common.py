"""What every command shares: settings from the root options, consoles, JSON output."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import orjson
import typer
from rich.console import Console

from keel.ledger import Ledger

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass(frozen=True, slots=True)
class Settings:
    """Options of the root command."""

    db: Path
    key_file: Path | None


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def open_ledger(ctx: typer.Context, *, create: bool = False) -> Ledger:
    """Open the ledger named by --db / KEEL_DB (refusing to create one unless asked)."""
    s = settings(ctx)
    return Ledger.open(s.db, create=create, key_path=s.key_file)


def emit_json(value: object) -> None:
    """Print a JSON document on stdout (for pipelines)."""
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def write_bytes(data: bytes, path: Path | None) -> None:
    """Write `data` to `path`, or exactly to stdout when no path is given."""
    if path is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        path.write_bytes(data)
