"""PostgreSQL store targets: ingest vs a plain COPY, and concurrent appenders (issue 20).

    source .ci/postgres.sh && python benchmarks/bench_postgres.py --records 1000000

Needs KEEL_TEST_POSTGRES, a libpq URL of a role that may CREATE DATABASE; each phase gets a
new database, dropped afterwards.

The bound COPYs the rows keel's tables must hold for the records (entry rows with their id and
payload keys, payload rows with the bytes, in plaintext) into keel's own tables with their
indexes, in one transaction, in binary: the fastest PostgreSQL takes what keel stores, with no
Python per row beyond the COPY. `keel ingest` then logs the same file into a new ledger (target:
≥ 0.5x the bound). The appenders are 4 processes that each append `--records / 4` new records
in batches of 500 at once (target: ≥ 10,000 entries/s in all); afterwards the ledger must hold
every one of them exactly once, and verify.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench_layouts import build_rows
from bench_ledger import make_corpus

WRITERS = 4
BATCH = 500


def _database(base: str) -> str:
    """A new database on the server of `base`; its URL."""
    import psycopg

    name = f"keel_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _drop(base: str, url: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{urlsplit(url).path[1:]}" WITH (FORCE)')


def phase_copy(corpus: Path, url: str) -> dict[str, float]:
    import psycopg

    from keel.ledger.postgres import PostgresStore

    rows = build_rows(corpus)
    PostgresStore(url).close()  # keel's tables and indexes, empty
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        with cur.copy(
            "COPY keel.entries (idx, key, payload, kind, entry) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "int8", "text", "bytea"])
            for row in rows.entries:
                copy.write_row(row)
        with cur.copy("COPY keel.payloads (key, digest, data) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "bytea", "bytea"])
            for row in rows.payloads:
                copy.write_row(row)
        conn.commit()
        dt = time.perf_counter() - t0
    return {"seconds": dt, "rate": len(rows.entries) / dt}


def phase_ingest(corpus: Path, url: str, work: Path) -> dict[str, float]:
    from keel.ledger import Defaults, Ledger, ingest

    with Ledger.open(url, key_path=work / "ingest.key") as led:
        led.init_key("bench.example/postgres")
        t0 = time.perf_counter()
        report = ingest(led, corpus, defaults=Defaults(origin="human"), keep_ids=False)
        dt = time.perf_counter() - t0
        led.checkpoint()
        t1 = time.perf_counter()
        ok = led.verify().ok
        verify_s = time.perf_counter() - t1
    assert ok
    return {"seconds": dt, "rate": report.appended / dt, "verify_seconds": verify_s}


def phase_writer(url: str, writer: int, count: int) -> dict[str, float]:
    from keel.ledger import Ledger
    from keel.records import text_record

    appended = 0
    with Ledger.open(url, create=False) as led:
        for start in range(0, count, BATCH):
            items = [
                text_record(f"writer {writer} record {i}", "synthetic")
                for i in range(start, min(start + BATCH, count))
            ]
            appended += sum(a.new for a in led.append(items))
    return {"appended": appended}


def phase_writers(url: str, work: Path, total: int) -> dict[str, float]:
    from keel.ledger import Ledger

    with Ledger.open(url, key_path=work / "writers.key") as led:
        led.init_key("bench.example/writers")
    per = total // WRITERS
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--phase",
                "writer",
                "--url",
                url,
                "--writer",
                str(w),
                "--records",
                str(per),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    dt = time.perf_counter() - t0
    assert all(p.returncode == 0 for p in procs)
    with Ledger.open(url, key_path=work / "writers.key") as led:
        size = led.size
        led.checkpoint()
        ok = led.verify().ok
    assert ok and size == per * WRITERS == sum(o["appended"] for o in outs), (size, outs)
    return {"seconds": dt, "rate": size / dt, "entries": size}


def run_child(*args: str, src: Path | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--phase")
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--url")
    ap.add_argument("--writer", type=int)
    ap.add_argument("--rounds", type=int, default=1, help="bound and ingest, alternated N times")
    ap.add_argument("--no-writers", action="store_true", help="skip the concurrent appenders")
    ap.add_argument(
        "--compare-src", type=Path, help="also ingest with this source tree (a previous keel)"
    )
    args = ap.parse_args()
    if args.phase:
        result = {
            "copy": lambda: phase_copy(args.corpus, args.url),
            "ingest": lambda: phase_ingest(args.corpus, args.url, args.work),
            "writer": lambda: phase_writer(args.url, args.writer, args.records),
            "writers": lambda: phase_writers(args.url, args.work, args.records),
        }[args.phase]()
        print(json.dumps(result))
        return
    base = os.environ.get("KEEL_TEST_POSTGRES")
    if not base:
        sys.exit("set KEEL_TEST_POSTGRES (source .ci/postgres.sh starts a private server)")

    def phase(name: str, corpus: Path, work: Path, src: Path | None = None) -> dict[str, float]:
        url = _database(base)
        try:
            return run_child(
                "--phase",
                name,
                "--corpus",
                str(corpus),
                "--work",
                tempfile.mkdtemp(dir=work),  # a new key file each time
                "--url",
                url,
                "--records",
                str(args.records),
                src=src,
            )
        finally:
            _drop(base, url)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus.jsonl"
        make_corpus(corpus, args.records)
        print(f"corpus: {args.records:,} records, {corpus.stat().st_size / 1e6:.0f} MB")
        for r in range(args.rounds):
            copy, ing = phase("copy", corpus, work), phase("ingest", corpus, work)
            print(f"round {r + 1}")
            print(f"bound  COPY:   {copy['rate']:>10,.0f} records/s ({copy['seconds']:.1f} s)")
            print(
                f"keel   ingest: {ing['rate']:>10,.0f} records/s ({ing['seconds']:.1f} s), "
                f"{ing['rate'] / copy['rate']:.2f}x the bound (target >= 0.5x); "
                f"verify {ing['verify_seconds']:.1f} s"
            )
            if args.compare_src is not None:
                old = phase("ingest", corpus, work, src=args.compare_src)
                print(
                    f"previous ingest: {old['rate']:>8,.0f} records/s ({old['seconds']:.1f} s), "
                    f"{old['rate'] / copy['rate']:.2f}x the bound"
                )
        if not args.no_writers:
            wr = phase("writers", corpus, work)
            print(
                f"{WRITERS} appenders, batches of {BATCH}: {wr['rate']:>10,.0f} entries/s in all "
                f"({wr['entries']:,.0f} entries in {wr['seconds']:.1f} s, none lost; "
                "target >= 10,000/s)"
            )


if __name__ == "__main__":
    main()
