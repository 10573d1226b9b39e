"""`keel loop run` and `keel demo` from the command line, and a loop killed with SIGKILL in the
middle of a generation, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keel.ledger import Ledger
from keel.loop import load_config, run_loop
from keel_cli import Cli
from small_loop import write_loop


def test_loop_run_prints_a_table_and_json(tmp_path: Path, cli: Cli) -> None:
    path = write_loop(tmp_path, generations=1)
    text = cli.ok("loop", "run", str(path))
    assert "loop small" in text and "latest checkpoint" in text
    doc = cli.json("loop", "run", str(path))
    assert [g["generation"] for g in doc["generations"]] == [0, 1]
    assert doc["skipped_steps"] == 8  # the second run found everything done
    assert doc["checkpoint"].startswith("keel.local/loop/small\n")


def test_a_bad_config_is_one_clean_line(tmp_path: Path, cli: Cli) -> None:
    path = write_loop(tmp_path, mix={"alpha": 2.0})
    code, out, err = cli("loop", "run", str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "alpha (the verified share) must be in [0, 1]" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_killed_loop_resumes_to_the_ledger_of_an_uninterrupted_one(tmp_path: Path) -> None:
    whole = write_loop(tmp_path / "whole")
    run_loop(load_config(whole))
    killed = write_loop(tmp_path / "killed")
    db = tmp_path / "killed" / "keel.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "keel", "loop", "run", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    generated = 200 + 300  # generation 0's human texts and generation 1's samples
    deadline = time.monotonic() + 120
    size = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            with Ledger.open(db, create=False) as led:
                size = led.size
            if size >= generated:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the loop finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Ledger.open(tmp_path / "whole" / "keel.db", create=False) as led:
        expected = [loc.raw for loc in led.iter_located()], led.root()
    assert size < len(expected[0])  # killed mid-way
    done = subprocess.run(
        [sys.executable, "-m", "keel", "loop", "run", str(killed), "--json"],
        capture_output=True,
        check=True,
    )
    assert json.loads(done.stdout)["skipped_steps"] > 0
    with Ledger.open(db, create=False) as led:
        assert ([loc.raw for loc in led.iter_located()], led.root()) == expected


@pytest.mark.slow
def test_demo_writes_the_report_ledgers_and_a_receipt_that_verifies(
    tmp_path: Path, cli: Cli
) -> None:
    out = tmp_path / "demo"
    doc = cli.json("demo", "--out", str(out), "--generations", "2")
    report = Path(doc["report"]).read_text()
    for arm in ("self-consuming", "judge-filtered", "anchored"):
        assert arm in report
        assert (out / arm / "loop.toml").exists()
        assert cli.ok("ledger", "verify", db=out / arm / "keel.db").startswith("OK")
    assert "SIMULATED" in report and "<svg" in report and "tlog-proof" in report
    assert len(doc["summary"]) == 4 and "tail" in doc["summary"][0]
    assert (
        "anchored keeps" in doc["summary"][3]
        and "the vocabulary of self-consuming" in doc["summary"][3]
    )
    r = doc["receipt"]
    cli.ok("ledger", "verify-proof", "--key", r["verifier_key"], r["bundle"], r["entry"])
    again = cli.json("demo", "--out", str(out), "--generations", "2")
    assert all(a["skipped_steps"] > 0 for a in again["arms"])
    assert [a["ledger_size"] for a in again["arms"]] == [a["ledger_size"] for a in doc["arms"]]
