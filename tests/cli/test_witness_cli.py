"""`keel witness key|serve`, `keel ledger witness` and `keel ledger verify-proof --witness`: two
teams witnessing each other's ledgers, as docs/transparency.md tells it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keel.ledger.witness import parse_cosigner
from keel_cli import Cli


@contextmanager
def witness_server(tmp_path: Path, *args: str) -> Iterator[str]:
    """`keel witness serve ARGS --port 0` in a subprocess; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "keel", "witness", "serve", *args, "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on " in line, line + proc.stderr.read()
        yield line.split("listening on ")[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def init_ledger(cli: Cli, db: Path, origin: str) -> str:
    vkey = cli.ok("ledger", "key", "init", "--origin", origin, db=db).strip()
    data = db.with_suffix(".jsonl")
    data.write_text("".join(f'{{"text": "{origin} {i}", "origin": "human"}}\n' for i in range(5)))
    cli.ok("ingest", str(data), db=db)
    return vkey


def test_key_init_makes_a_key_and_a_state_and_never_replaces_them(cli: Cli, tmp_path: Path) -> None:
    state = tmp_path / "w.db"
    vkey = cli.ok("witness", "key", "init", "--name", "w.example/a", "--state", str(state)).strip()
    assert parse_cosigner(vkey).name == "w.example/a"
    key = state.with_suffix(".key")
    assert key.stat().st_mode & 0o077 == 0
    before = key.read_bytes(), state.read_bytes()
    code, _, err = cli("witness", "key", "init", "--name", "w.example/a", "--state", str(state))
    assert code == 2 and "never replaces" in err
    assert (key.read_bytes(), state.read_bytes()) == before
    assert cli.ok("witness", "key", "show", "--state", str(state)).strip() == vkey
    code, _, err = cli("witness", "serve", "--state", str(tmp_path / "none.db"), "--log", vkey)
    assert code == 2 and "witness key" in err


def test_two_teams_witness_each_other(cli: Cli, tmp_path: Path) -> None:
    """Team A runs a witness of team B's ledger and B one of A's; each gets its checkpoints
    cosigned, and an auditor checks a receipt with the log key and the other team's witness."""
    a_db, b_db = tmp_path / "a.db", tmp_path / "b.db"
    a_log = init_ledger(cli, a_db, "a.example/ledger")
    b_log = init_ledger(cli, b_db, "b.example/ledger")
    a_wit = cli.ok(
        "witness", "key", "init", "--name", "a.example/witness", "--state", str(tmp_path / "aw.db")
    )
    b_wit = cli.ok(
        "witness", "key", "init", "--name", "b.example/witness", "--state", str(tmp_path / "bw.db")
    )
    with (
        witness_server(tmp_path, "--state", "aw.db", "--log", b_log) as a_url,
        witness_server(tmp_path, "--state", "bw.db", "--log", a_log) as b_url,
    ):
        out = cli.ok("ledger", "witness", b_url, "--witness-key", b_wit.strip(), db=a_db)
        assert "1 of 1 witnesses cosigned a.example/ledger at size 5: b.example/witness" in out
        got = cli.json("ledger", "witness", a_url, "--witness-key", a_wit.strip(), db=b_db)
        assert got["cosigned"] == {a_url: ["a.example/witness"]}
        # A's own witness does not know A's log: 404, below the quorum: exit 6, nothing stored.
        code, _, err = cli("ledger", "witness", a_url, b_url, "--quorum", "2", db=a_db)
        assert code == 6 and f"{a_url} answered 404" in err.replace("\n", " ")
    rid = cli.json("ledger", "find", "--text", "a.example/ledger 3", db=a_db)[0]["id"]
    cli.ok("ledger", "prove", rid, "-o", str(tmp_path / "r.proof"), db=a_db)
    cli.ok("ledger", "entry", rid, "--raw", "-o", str(tmp_path / "e.raw"), db=a_db)
    check = [
        "ledger",
        "verify-proof",
        str(tmp_path / "r.proof"),
        str(tmp_path / "e.raw"),
        "--key",
        a_log,
    ]
    out = cli.ok(*check, "--witness", b_wit.strip())
    assert "cosigned by 1 witnesses" in out
    code, _, err = cli(*check, "--witness", a_wit.strip())
    assert code == 3 and "a.example/witness (none)" in err
    code, _, err = cli(
        *check, "--witness", a_wit.strip(), "--witness", b_wit.strip(), "--quorum", "1"
    )
    assert code == 0, err
    code, _, err = cli(*check, "--quorum", "1")
    assert code == 2 and "--witness" in err
    assert cli.json("ledger", "verify", "--key", a_log, db=a_db)["ok"] is True
    # The tile log published after witnessing carries the cosignature (docs/transparency.md).
    cli.ok("ledger", "export-tiles", str(tmp_path / "site"), "--no-sign", db=a_db)
    published = (tmp_path / "site" / "checkpoint").read_text()
    assert "\n— b.example/witness " in published and "\n— a.example/ledger " in published
