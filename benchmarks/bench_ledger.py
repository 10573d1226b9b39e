"""Ledger targets: ingest rate vs the SQLite floor, proof latency, full verify time, memory.

    python benchmarks/bench_ledger.py --records 1000000

Each phase runs in its own process so that peak memory (max RSS) is measured per phase.
The floor inserts the very canonical entry rows keel logs into a plain SQLite table with one
executemany in one transaction, with the same pragmas keel uses (WAL, synchronous=FULL).
The storage bound inserts, the same way, the rows keel's schema must hold for those records
(entry rows with their id and payload keys, payload rows with the bytes), then builds the
schema's indexes once: the fastest SQLite can store what keel stores, with no Python per row.
The verify floor reads every entry and payload row of keel's ledger in storage order, hashes
each with SHA-256 and rebuilds the tree from the leaf hashes, parsing nothing; it runs beside
each verify (`--verify-repeats N` alternates them N times).

    python benchmarks/bench_ledger.py --records 100000 --ledger-dir /tmp/led100k \
        --verify-repeats 5 --compare-src /tmp/base/src

`--ledger-dir` keeps the ledger in that folder (built there once, with its corpus, if absent)
and runs only the verify rounds on it, so a change to verify is measured without a new
ingest; `--compare-src` adds, to each round, a verify with that source tree first on the
import path (a previous version of keel).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "the",
    "model",
    "data",
    "human",
    "verified",
    "synthetic",
    "judge",
    "record",
    "corpus",
    "tail",
    "rare",
    "token",
    "loop",
    "anchor",
    "mix",
    "generation",
    "collapse",
    "diversity",
    "entropy",
    "sample",
    "prompt",
    "answer",
    "label",
    "expert",
    "review",
]


def make_corpus(path: Path, n: int, seed: int = 0) -> None:
    """Write `n` JSONL records of about 200 bytes each."""
    rng = random.Random(seed)
    with path.open("w") as f:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(22))
            f.write(json.dumps({"text": f"{i} {text}"[:170], "author": "annotator-7"}) + "\n")


def phase_floor(corpus: Path, work: Path) -> dict[str, float]:
    from keel._input import read_rows
    from keel.ledger.ingest import INGEST_FIELDS, Defaults, RowBuilder

    builder = RowBuilder(INGEST_FIELDS, Defaults(origin="human"))
    rows = [(builder.build(r, "").entry,) for _, _, r in read_rows(corpus, "jsonl")]
    db = sqlite3.connect(work / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (entry BLOB NOT NULL)")
    t0 = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO t(entry) VALUES (?)", rows)
    db.execute("COMMIT")
    dt = time.perf_counter() - t0
    return {"seconds": dt, "rate": len(rows) / dt}


def phase_storage(corpus: Path, work: Path) -> dict[str, float]:
    from bench_layouts import build_rows, insert_then_index, keel_layout

    rows = build_rows(corpus)
    dt = insert_then_index(work / "storage.db", keel_layout(), rows)
    return {"seconds": dt, "rate": len(rows.entries) / dt}


def phase_ingest(corpus: Path, work: Path) -> dict[str, float]:
    from keel.ledger import Defaults, Ledger, ingest

    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        led.init_key("bench.example/ledger")
        t0 = time.perf_counter()
        report = ingest(led, corpus, defaults=Defaults(origin="human"), keep_ids=False)
        dt = time.perf_counter() - t0
        led.checkpoint()
    return {"seconds": dt, "rate": report.appended / dt, "appended": report.appended}


def phase_prove(work: Path, samples: int = 2000) -> dict[str, float]:
    from keel.ledger import Ledger, verify_bundle

    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        size = led.size
        rng = random.Random(1)
        ids = [led.at(rng.randrange(size)).id for _ in range(samples)]
        times = []
        for eid in ids:
            t0 = time.perf_counter()
            bundle = led.prove(eid)
            data = bundle.format()
            times.append(time.perf_counter() - t0)
        assert data
        verifier = led.verifier()
        verify_bundle(bundle, led.locate(ids[-1]).raw, verifier)
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1e3,
        "p99_ms": times[int(0.99 * len(times))] * 1e3,
    }


def phase_verify_floor(work: Path) -> dict[str, float]:
    """The floor of `verify`: every entry and payload row read in storage order, SHA-256 of
    each (the entry's id and leaf hash, the payload's digest), and the tree rebuilt from the
    leaf hashes, with no parsing; one read transaction, as verify."""
    import hashlib

    from keel.ledger.merkle import append_hashes, leaf_hash

    db = sqlite3.connect(f"file:{work / 'keel.db'}?mode=ro", uri=True, isolation_level=None)
    t0 = time.perf_counter()
    db.execute("BEGIN")
    size, front, stored = 0, list[bytes](), 0
    leaves: list[bytes] = []
    for (entry,) in db.execute("SELECT entry FROM entries ORDER BY idx"):
        hashlib.sha256(entry).digest()
        leaves.append(leaf_hash(entry))
        if len(leaves) == 16384:
            new, front = append_hashes(size, front, leaves)
            size, stored, leaves = size + len(leaves), stored + len(new), []
    new, front = append_hashes(size, front, leaves)
    size, stored = size + len(leaves), stored + len(new)
    payloads = 0
    for _, data in db.execute("SELECT digest, data FROM payloads ORDER BY rowid"):
        if data is not None:
            hashlib.sha256(data).digest()
        payloads += 1
    db.execute("COMMIT")
    dt = time.perf_counter() - t0
    db.close()
    return {"seconds": dt, "entries": size, "payloads": payloads, "tree_hashes": stored}


def phase_verify(work: Path) -> dict[str, float]:
    from keel.ledger import Ledger, verify

    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        t0 = time.perf_counter()
        report = verify(led.store, led.verifier())
        dt = time.perf_counter() - t0
    assert report.ok, report.problems[:3]
    return {"seconds": dt, "entries": report.size}


def run_child(script: str, *args: str, src: Path | None = None) -> dict[str, float]:
    """Run `script` with `args` in a fresh interpreter (its own peak memory), with `src` first
    on its import path if given; the figures it prints as JSON on its last line."""
    env = None
    if src is not None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), *sys.path[1:]])}
    out = subprocess.run(
        [sys.executable, script, *args], check=True, capture_output=True, text=True, env=env
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_phase(name: str, corpus: Path, work: Path, src: Path | None = None) -> dict[str, float]:
    return run_child(
        __file__, "--phase", name, "--corpus", str(corpus), "--work", str(work), src=src
    )


def verify_rounds(corpus: Path, work: Path, repeats: int, compare: Path | None) -> None:
    """Verify and its floor (and verify from `compare`, if given), alternated `repeats` times;
    the medians when more than one."""
    floors, verifies, ratios, others = [], [], [], []
    for _ in range(repeats):
        vf = run_phase("verify_floor", corpus, work)
        ver = run_phase("verify", corpus, work)
        floors.append(vf["seconds"])
        verifies.append(ver["seconds"])
        ratios.append(ver["seconds"] / vf["seconds"])
        print(
            f"verify: {ver['seconds']:.1f} s for {ver['entries']:,} entries, "
            f"max RSS {ver['max_rss_mb']:.0f} MB" + f"; floor {vf['seconds']:.1f} s "
            f"(read {vf['entries']:,} entries + {vf['payloads']:,} payloads in order, "
            f"SHA-256 each, tree rebuilt); {ratios[-1]:.2f}x the floor"
        )
        if compare is not None:
            old = run_phase("verify", corpus, work, src=compare)
            others.append(old["seconds"])
            print(
                f"verify from {compare}: {old['seconds']:.1f} s, max RSS "
                f"{old['max_rss_mb']:.0f} MB; {old['seconds'] / vf['seconds']:.2f}x the floor"
            )
    if repeats > 1:
        print(
            f"verify medians: {statistics.median(verifies):.1f} s, floor "
            f"{statistics.median(floors):.1f} s, ratio {statistics.median(ratios):.2f}x "
            "(goal <= 3x)"
            + (f"; from {compare}: {statistics.median(others):.1f} s" if others else "")
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--phase")
    ap.add_argument(
        "--verify-repeats", type=int, default=1, help="verify and its floor, alternated N times"
    )
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--work", type=Path)
    ap.add_argument(
        "--ledger-dir",
        type=Path,
        help="keep the ledger here (built once if absent) and run only the verify rounds",
    )
    ap.add_argument(
        "--compare-src", type=Path, help="also verify with this source tree (a previous keel)"
    )
    args = ap.parse_args()
    if args.phase:
        fn = {"floor": phase_floor, "storage": phase_storage, "ingest": phase_ingest}.get(
            args.phase
        )
        result = (
            fn(args.corpus, args.work)
            if fn
            else {
                "prove": phase_prove,
                "verify_floor": phase_verify_floor,
                "verify": phase_verify,
            }[args.phase](args.work)
        )
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    if args.ledger_dir is not None:
        work = args.ledger_dir
        corpus = work / "corpus.jsonl"
        if not (work / "keel.db").exists():
            work.mkdir(parents=True, exist_ok=True)
            make_corpus(corpus, args.records)
            ing = run_phase("ingest", corpus, work)
            print(f"built {work / 'keel.db'}: {ing['appended']:,.0f} entries")
        verify_rounds(corpus, work, args.verify_repeats, args.compare_src)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus.jsonl"
        make_corpus(corpus, args.records)
        size_mb = corpus.stat().st_size / 1e6
        print(
            f"corpus: {args.records:,} records, {size_mb:.0f} MB "
            f"({size_mb * 1e6 / args.records:.0f} B/record)"
        )
        floor = run_phase("floor", corpus, work)
        storage = run_phase("storage", corpus, work)
        ing = run_phase("ingest", corpus, work)
        print(f"floor  executemany: {floor['rate']:>10,.0f} rows/s  ({floor['seconds']:.1f} s)")
        print(
            f"storage bound:      {storage['rate']:>10,.0f} records/s "
            f"({storage['seconds']:.1f} s), {storage['rate'] / floor['rate']:.2f}x the floor"
        )
        print(
            f"keel   ingest:      {ing['rate']:>10,.0f} records/s ({ing['seconds']:.1f} s), "
            f"{ing['rate'] / floor['rate']:.2f}x the floor, max RSS {ing['max_rss_mb']:.0f} MB"
        )
        pr = run_phase("prove", corpus, work)
        print(f"prove:  median {pr['median_ms']:.3f} ms, p99 {pr['p99_ms']:.3f} ms")
        verify_rounds(corpus, work, args.verify_repeats, args.compare_src)


if __name__ == "__main__":
    main()
