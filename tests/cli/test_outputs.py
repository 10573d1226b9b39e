"""Output paths: keel never writes over its own database, journals or key, and replaces an
existing file only when asked (or, for a checkpoint, atomically)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keel_cli import Cli


@pytest.fixture
def db(tmp_path: Path, cli: Cli) -> Path:
    path = tmp_path / "keel.db"
    cli.ok("ledger", "key", "init", "--origin", "example.com/out", db=path)
    (tmp_path / "t.jsonl").write_text('{"id": "a", "text": "hello"}\n')
    cli.ok("ingest", str(tmp_path / "t.jsonl"), "--origin", "human", "--field", "id=id", db=path)
    cli.ok("ledger", "checkpoint", db=path)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    """The ledger, its key and every other file but SQLite's own -wal and -shm."""
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (("ledger", "entry", "a", "--raw", "-o"), "keel.db"),
        (("ledger", "entry", "a", "--raw", "--force", "-o"), "keel.db"),
        (("ledger", "checkpoint", "-o"), "keel.key"),
        (("ledger", "prove", "a", "--force", "-o"), "keel.db-wal"),
        (("ledger", "payload", "a", "--force", "-o"), "link-to-db"),
        (("ledger", "checkpoint", "--json", "-o"), "keel.db"),
    ],
)
def test_the_ledger_and_its_key_are_never_outputs(
    db: Path, cli: Cli, command: tuple[str, ...], target: str
) -> None:
    (db.parent / "link-to-db").symlink_to(db)
    before = _snapshot(db.parent)
    code, _, err = cli(*command, str(db.parent / target), db=db)
    assert code == 2, err
    assert "ledger's own file" in err
    assert _snapshot(db.parent) == before
    assert (db.parent / "link-to-db").is_symlink()
    assert cli.json("ledger", "verify", db=db)["ok"]


def test_an_existing_output_is_replaced_only_with_force(db: Path, cli: Cli) -> None:
    out = db.parent / "a.entry"
    out.write_bytes(b"precious")
    code, _, err = cli("ledger", "entry", "a", "--raw", "-o", str(out), db=db)
    assert code == 2 and "--force" in err
    assert out.read_bytes() == b"precious"
    cli.ok("ledger", "entry", "a", "--raw", "-o", str(out), "--force", db=db)
    assert out.read_bytes().startswith(b"{")


def test_a_published_checkpoint_is_refreshed_in_place(db: Path, cli: Cli) -> None:
    out = db.parent / "checkpoint"
    cli.ok("ledger", "checkpoint", "-o", str(out), db=db)
    first = out.read_bytes()
    (db.parent / "more.jsonl").write_text('{"text": "more"}\n')
    cli.ok("ingest", str(db.parent / "more.jsonl"), "--origin", "human", db=db)
    cli.ok("ledger", "checkpoint", "-o", str(out), db=db)
    assert out.read_bytes() != first
    assert out.read_bytes().startswith(b"example.com/out\n2\n")
    assert [p.name for p in db.parent.iterdir() if p.name.startswith(".checkpoint")] == []


def test_the_ledger_file_is_private(db: Path) -> None:
    assert os.stat(db).st_mode & 0o777 == 0o600
