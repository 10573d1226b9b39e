"""Verdict import rate against the ingest rate of records of the same size (issue 17).

    python benchmarks/bench_import.py --records 1000000

Writes N JSONL records of ~190 bytes (`bench_ledger.make_corpus`) and N verdict rows of about
the same size (a record id, a judge, a label, a score and a distinct rationale text, stored as
a payload as a record's text is), as JSONL and as Parquet: one on each record by default, the
worst case for the record lookups; `--per-record K` puts K judges' verdicts on each of N/K
records, as a panel of judges does. Then, each phase in its own process so that peak memory is
per phase (a child's max RSS counts its parent's at the fork, so the parent stays small):

- **ingest**: `keel.ledger.ingest` of the records into a fresh ledger (the reference rate);
- **ingest (into N)**: as many other records ingested into a copy of that ledger, which then
  holds N records as the ledger the verdicts go into does (appends into a larger ledger touch
  larger indexes: the like-for-like reference);
- **import (jsonl)**, **import (parquet)**: `keel ledger import-verdicts`' library call
  (`read_files` + `import_verdicts`, records found by id) into copies of that ledger.

Target: import ≥ 0.5× the ingest rate. Prints the rates, the ratios to both references and
max RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench_ledger import WORDS, make_corpus, run_child

JUDGES = [f"judge-{k}" for k in range(8)]
LABELS = ["accept", "reject", "degenerate"]


def make_verdicts(
    ids: Path, jsonl: Path, parquet: Path, n: int, per_record: int = 1, seed: int = 1
) -> None:
    """`n` verdict rows, `per_record` on each record of `ids` in turn (each by another
    judge), as JSONL and as Parquet, written in batches (the parent process stays small: the
    phases' max RSS starts from it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    names = ("record", "judge", "label", "score", "rationale")
    schema = pa.schema([(k, pa.float64() if k == "score" else pa.string()) for k in names])
    columns: dict[str, list[object]] = {k: [] for k in names}
    with (
        ids.open() as f,
        jsonl.open("w") as out,
        pq.ParquetWriter(parquet, schema) as writer,
    ):
        records = (line.strip() for line in f)
        record = ""
        for i in range(n):
            if i % per_record == 0:
                record = next(records)
            words = " ".join(rng.choice(WORDS) for _ in range(6))
            row = {
                "record": record,
                "judge": JUDGES[i % per_record] if per_record > 1 else rng.choice(JUDGES),
                "label": rng.choice(LABELS),
                "score": round(rng.random(), 3),
                "rationale": f"{i} {words}"[:48],  # distinct, as the records' texts are
            }
            out.write(json.dumps(row) + "\n")
            for k, v in row.items():
                columns[k].append(v)
            if len(columns["record"]) == 65536 or i == n - 1:
                writer.write_table(pa.table(columns, schema=schema))
                columns = {k: [] for k in names}


def phase_ingest(work: Path, more: bool = False) -> dict[str, float]:
    """Ingest `corpus.jsonl` into a fresh `keel.db` (and list the ids), or with `more`
    `corpus-more.jsonl` into `more.db`, a copy of it."""
    from keel.ledger import Defaults, Ledger, ingest

    db, corpus = ("more.db", "corpus-more.jsonl") if more else ("keel.db", "corpus.jsonl")
    with Ledger.open(work / db, key_path=work / "keel.key") as led:
        if not more:
            led.init_key("bench.example/ledger")
        t0 = time.perf_counter()
        report = ingest(led, work / corpus, defaults=Defaults(origin="human"), keep_ids=False)
        dt = time.perf_counter() - t0
        if not more:
            with (work / "ids.txt").open("w") as f:
                for loc in led.iter_located():
                    f.write(loc.id + "\n")
    return {"seconds": dt, "rate": report.appended / dt, "appended": report.appended}


def phase_import(work: Path, fmt: str) -> dict[str, float]:
    from keel.ledger import Ledger
    from keel.ledger.verdicts import import_verdicts, read_files

    db = work / f"import-{fmt}.db"
    with Ledger.open(db, key_path=work / "keel.key") as led:
        t0 = time.perf_counter()
        report = import_verdicts(led, read_files([work / f"verdicts.{fmt}"]))
        dt = time.perf_counter() - t0
    assert report.appended == report.rows, (report.rows, report.appended)
    return {"seconds": dt, "rate": report.appended / dt, "appended": report.appended}


def run_phase(name: str, work: Path, fmt: str = "") -> dict[str, float]:
    return run_child(__file__, "--phase", name, "--work", str(work), "--fmt", fmt)


def copy_ledger(work: Path, name: str) -> None:
    """Copy `keel.db` (with its WAL files) to `name`."""
    for suffix in ("", "-wal", "-shm"):
        source = work / f"keel.db{suffix}"
        if source.exists():
            shutil.copy(source, work / f"{name}{suffix}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--formats", default="jsonl,parquet", help="Comma-separated: jsonl, parquet.")
    ap.add_argument(
        "--per-record",
        type=int,
        default=1,
        help="Verdicts on each record (by as many judges); 1: every verdict on another record.",
    )
    ap.add_argument("--phase")
    ap.add_argument("--work", type=Path)
    ap.add_argument("--fmt", default="")
    args = ap.parse_args()
    if args.phase == "verdicts":
        n, per_record = map(int, args.fmt.split(","))
        w = args.work
        make_verdicts(w / "ids.txt", w / "verdicts.jsonl", w / "verdicts.parquet", n, per_record)
        print("{}")
        return
    if args.phase:
        result = (
            phase_import(args.work, args.fmt)
            if args.phase == "import"
            else phase_ingest(args.work, more=args.phase == "ingest-more")
        )
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    formats = [f for f in args.formats.split(",") if f]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_corpus(work / "corpus.jsonl", args.records)
        make_corpus(work / "corpus-more.jsonl", args.records, seed=1)
        ing = run_phase("ingest", work)
        copy_ledger(work, "more.db")
        more = run_phase("ingest-more", work)
        (work / "more.db").unlink()
        run_phase("verdicts", work, f"{args.records},{args.per_record}")
        sizes = {
            name: (work / name).stat().st_size / args.records
            for name in ("corpus.jsonl", "verdicts.jsonl", "verdicts.parquet")
        }
        print(
            f"{args.records:,} records ({sizes['corpus.jsonl']:.0f} B a JSONL row) and as many "
            f"verdicts ({sizes['verdicts.jsonl']:.0f} B a JSONL row, "
            f"{sizes['verdicts.parquet']:.0f} B a Parquet row), {args.per_record} a record"
        )
        print(
            f"ingest records:   {ing['rate']:>10,.0f} records/s ({ing['seconds']:.1f} s), "
            f"max RSS {ing['max_rss_mb']:.0f} MB"
        )
        print(
            f"ingest into N:    {more['rate']:>10,.0f} records/s ({more['seconds']:.1f} s), "
            f"max RSS {more['max_rss_mb']:.0f} MB"
        )
        for fmt in formats:
            copy_ledger(work, f"import-{fmt}.db")
            imp = run_phase("import", work, fmt)
            print(
                f"import ({fmt:>7}): {imp['rate']:>10,.0f} verdicts/s ({imp['seconds']:.1f} s), "
                f"{imp['rate'] / ing['rate']:.2f}x the ingest rate (target >= 0.5x), "
                f"{imp['rate'] / more['rate']:.2f}x ingest into N, "
                f"max RSS {imp['max_rss_mb']:.0f} MB"
            )
            (work / f"import-{fmt}.db").unlink()


if __name__ == "__main__":
    main()
