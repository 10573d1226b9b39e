"""Concurrent writers, a checkpointer, a redactor and verifiers on one ledger (issue 14).

    .venv/bin/python benchmarks/bench_concurrency.py --seconds 90

Runs, for `--seconds`, in separate processes on one SQLite ledger: `--writers` processes
appending batches of 1–200 records (each notes the ids the ledger acknowledged), one
checkpointer signing a checkpoint every 0.2 s, one redactor appending records and redacting
them, and `--verifiers` processes running a full `verify` (trusted key) and `info` back to
back. Then it counts:
- false alarms: verify runs that reported a problem (there is no tampering, so any is false);
- lost: acknowledged ids that are not in the ledger at the end;
- duplicated: entries logged twice (the same bytes at two indexes);
and verifies the final ledger once more.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import random
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

from keel.errors import ErasurePendingError
from keel.ledger import Ledger, verify
from keel.records import text_record


def _writer(db: Path, stop: float, n: int, acks: Path) -> None:
    rng = random.Random(n)
    with Ledger.open(db) as led, acks.open("w") as out:
        b = 0
        while time.time() < stop:
            size = rng.randint(1, 200)
            batch = [text_record(f"w{n} b{b} r{i} {rng.random()}", "human") for i in range(size)]
            for res in led.append(batch):
                out.write(res.id + "\n")
            out.flush()
            b += 1


def _checkpointer(db: Path, stop: float, counts: Path) -> None:
    n = 0
    with Ledger.open(db) as led:
        while time.time() < stop:
            led.checkpoint()
            n += 1
            time.sleep(0.2)
    counts.write_text(str(n))


def _redactor(db: Path, stop: float, counts: Path) -> None:
    done = pending = 0
    with Ledger.open(db) as led:
        while time.time() < stop:
            (res,) = led.append([text_record(f"to erase {time.time()}", "human")])
            try:
                led.redact(res.id, "benchmark erasure")
            except ErasurePendingError:
                pending += 1  # committed; finished by a later command
            done += 1
            time.sleep(0.05)
    counts.write_text(f"{done} {pending}")


def _verifier(db: Path, stop: float, vkey: str, counts: Path) -> None:
    from keel.ledger import parse_verifier

    trusted = parse_verifier(vkey)
    runs = alarms = 0
    first = ""
    while time.time() < stop:
        with Ledger.open(db, readonly=True) as led:
            report = verify(led.store, trusted)
            led.info()
        runs += 1
        if not report.ok:
            alarms += 1
            first = first or f"{report.first}"
    counts.write_text(f"{runs} {alarms} {first}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=90.0)
    ap.add_argument("--writers", type=int, default=5)
    ap.add_argument("--verifiers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "keel.db"
        with Ledger.open(db, key_path=work / "keel.key") as led:
            vkey = led.init_key("example.com/bench-concurrency")
        stop = time.time() + args.seconds
        ctx = mp.get_context("spawn")
        procs = [
            ctx.Process(target=_writer, args=(db, stop, n, work / f"acks{n}"))
            for n in range(args.writers)
        ]
        procs.append(ctx.Process(target=_checkpointer, args=(db, stop, work / "checkpoints")))
        procs.append(ctx.Process(target=_redactor, args=(db, stop, work / "redactions")))
        procs += [
            ctx.Process(target=_verifier, args=(db, stop, vkey, work / f"verify{n}"))
            for n in range(args.verifiers)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        failed = [p.exitcode for p in procs if p.exitcode != 0]
        acked = {
            line
            for n in range(args.writers)
            for line in (work / f"acks{n}").read_text().splitlines()
        }
        with closing(sqlite3.connect(db)) as conn:
            stored = [hashlib.sha256(bytes(e)).hexdigest() for (e,) in conn.execute(
                "SELECT entry FROM entries")]  # fmt: skip
        lost = len(acked - set(stored))
        duplicated = len(stored) - len(set(stored))
        runs = alarms = 0
        firsts = []
        for n in range(args.verifiers):
            r, a, *first = (work / f"verify{n}").read_text().split(" ", 2)
            runs, alarms = runs + int(r), alarms + int(a)
            firsts += [f for f in first if f]
        redactions, pending = (work / "redactions").read_text().split()
        with Ledger.open(db, readonly=True) as led:
            final = verify(led.store, led.verifier())
        print(f"processes           {len(procs)} ({args.writers} writers, 1 checkpointer, "
              f"1 redactor, {args.verifiers} verifiers), {args.seconds:.0f} s")  # fmt: skip
        print(f"entries             {len(stored):,} ({len(acked):,} acknowledged to writers)")
        print(f"checkpoints         {(work / 'checkpoints').read_text()}")
        print(f"redactions          {redactions} ({pending} finished by a later command)")
        print(f"verify runs         {runs}")
        print(f"false alarms        {alarms}" + (f" (first: {firsts[0]})" if firsts else ""))
        print(f"lost                {lost}")
        print(f"duplicated          {duplicated}")
        print(f"final verify        {'OK' if final.ok else final.first}")
        print(f"process failures    {failed or 'none'}")


if __name__ == "__main__":
    main()
