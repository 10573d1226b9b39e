"""`keel ledger export-tiles` and `keel ledger serve`: JSON output, clean errors, and the server
as a user starts it (a real process on loopback, stopped with Ctrl-C)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from keel.ledger import Ledger
from keel.ledger.tiles import verify_tile_log
from keel.records import text_record
from keel_cli import Cli


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger of 300 records with its key beside it (tmp_path/k.db, k.key)."""
    monkeypatch.delenv("KEEL_KEY", raising=False)
    with Ledger.open(tmp_path / "k.db") as led:
        led.init_key("example.com/cli-tiles")
        led.append(text_record(f"line {i}", "human") for i in range(300))
    return tmp_path / "k.db"


def test_export_tiles_json(cli: Cli, db: Path, tmp_path: Path) -> None:
    first = cli.json("ledger", "export-tiles", str(tmp_path / "tiles"), db=db)
    assert first["size"] == 300 and first["previous_size"] == 0
    assert (first["tiles"], first["bundles"], first["payloads"]) == (3, 2, 0)
    verify_tile_log(tmp_path / "tiles", 300, bytes.fromhex(first["root"]))
    again = cli.json("ledger", "export-tiles", str(tmp_path / "tiles"), "--payloads", db=db)
    assert again["previous_size"] == 300 and again["tiles"] == 0 and again["payloads"] == 300
    text = cli.ok("ledger", "export-tiles", str(tmp_path / "tiles"), db=db)
    assert "already holds the tree of size 300" in text


def test_export_tiles_errors_are_one_line(cli: Cli, db: Path, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, _, err = cli("ledger", "export-tiles", str(tmp_path / "busy"), db=db)
    assert code == 2 and "not part of a tile log" in err and "Traceback" not in err
    code, _, err = cli("ledger", "export-tiles", str(tmp_path / "t2"), "--no-sign", db=db)
    assert code == 2 and "keel ledger checkpoint" in err


def test_serve_until_interrupted(db: Path) -> None:
    with Ledger.open(db) as led:
        led.checkpoint()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keel", "--db", str(db), "ledger", "serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        base = f"http://127.0.0.1:{found.group(1)}/"
        with urllib.request.urlopen(base + "checkpoint", timeout=10) as r:
            assert r.read().startswith(b"example.com/cli-tiles\n300\n")
        with urllib.request.urlopen(base + "tile/0/000", timeout=10) as r:
            assert len(r.read()) == 8192
            assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_serve_refuses_a_missing_ledger(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("ledger", "serve", "--port", "0", db=tmp_path / "none.db")
    assert code == 2 and "no ledger at" in err
