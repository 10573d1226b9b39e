"""Export target: a 1,000,000-member mix to Parquet in under 30 s, in under 500 MB.

    python benchmarks/bench_export.py --members 1000000

Each phase runs in its own process so that peak memory (max RSS) is measured per phase:

- build: ingest a JSONL corpus (`bench_ledger.make_corpus`, about 200 bytes a record) and log
  one mix of every record, as `keel ledger add-mix` does (`keel.records.mix`, then append);
- export: `keel.mix.export_mix(..., format="parquet")`, timed, with its peak RSS;
- scan: the ledger's own sequential read (`Ledger.iter_located` over every entry), the part of
  the export no exporter can skip; read: the scan plus every member's text
  (`keel.ledger.texts`, batch by batch), what any exporter reading through `Ledger` pays;
- floor: pyarrow writing the same ids and texts to Parquet from memory (one `write_table`):
  what writing the bytes costs with no ledger at all. The ratio export / floor is printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from bench_ledger import make_corpus, run_child

KEY = "bench.example/export"


def phase_build(corpus: Path, work: Path) -> dict[str, float]:
    from keel.ledger import Defaults, Ledger, ingest
    from keel.records import mix

    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        led.init_key(KEY)
        t0 = time.perf_counter()
        report = ingest(led, corpus, defaults=Defaults(origin="human"))
        entry, data = mix(report.ids, {"gate": "none", "note": "bench_export: every record"})
        mix_id = led.append([(entry, data)])[0].id
        led.checkpoint()
        dt = time.perf_counter() - t0
    (work / "mix.id").write_text(mix_id)
    return {"seconds": dt, "members": float(entry.count)}


def phase_export(work: Path) -> dict[str, float]:
    from keel.ledger import Ledger
    from keel.mix import export_mix

    mix_id = (work / "mix.id").read_text()
    out = work / "export"
    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        t0 = time.perf_counter()
        report = export_mix(led, mix_id, out, format="parquet")
        dt = time.perf_counter() - t0
    size = (out / "data.parquet").stat().st_size
    return {"seconds": dt, "rows": float(report.facts.rows), "parquet_mb": size / 1e6}


def phase_scan(work: Path, with_texts: bool = False) -> dict[str, float]:
    from keel.ledger import Judged, Ledger, texts
    from keel.records import Record

    n = 0
    batch: list[Judged] = []
    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led, led.snapshot():
        t0 = time.perf_counter()
        for loc in led.iter_located():
            n += 1
            if with_texts and isinstance(loc.entry, Record):
                batch.append(Judged(loc.id, loc.index, loc.entry))
                if len(batch) == 4096:
                    texts(led, batch)
                    batch = []
        texts(led, batch)
        dt = time.perf_counter() - t0
    return {"seconds": dt, "entries": float(n)}


def phase_read(work: Path) -> dict[str, float]:
    return phase_scan(work, with_texts=True)


def phase_floor(work: Path) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(work / "export" / "data.parquet", columns=["id", "text"])
    table = pa.table({"id": table.column("id").combine_chunks(), "text": table.column("text")})
    t0 = time.perf_counter()
    pq.write_table(table, work / "floor.parquet")
    dt = time.perf_counter() - t0
    return {"seconds": dt, "rows": float(table.num_rows)}


def run_phase(name: str, corpus: Path, work: Path) -> dict[str, float]:
    return run_child(__file__, "--phase", name, "--corpus", str(corpus), "--work", str(work))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--phase")
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--work", type=Path)
    args = ap.parse_args()
    if args.phase:
        if args.phase == "build":
            result = phase_build(args.corpus, args.work)
        else:
            fn = {
                "export": phase_export,
                "scan": phase_scan,
                "read": phase_read,
                "floor": phase_floor,
            }[args.phase]
            result = fn(args.work)
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus.jsonl"
        make_corpus(corpus, args.members)
        built = run_phase("build", corpus, work)
        print(f"build:  {built['members']:,.0f}-member mix logged in {built['seconds']:.1f} s")
        ex = run_phase("export", corpus, work)
        scan = run_phase("scan", corpus, work)
        read = run_phase("read", corpus, work)
        floor = run_phase("floor", corpus, work)
        print(
            f"export: {ex['seconds']:.1f} s for {ex['rows']:,.0f} rows "
            f"({ex['rows'] / ex['seconds']:,.0f} rows/s, {ex['parquet_mb']:.0f} MB Parquet), "
            f"max RSS {ex['max_rss_mb']:.0f} MB  [target < 30 s, < 500 MB]"
        )
        print(
            f"scan:   {scan['seconds']:.1f} s to read the {scan['entries']:,.0f} log entries "
            f"(Ledger.iter_located), max RSS {scan['max_rss_mb']:.0f} MB"
        )
        print(
            f"read:   {read['seconds']:.1f} s to read them and every member's text through "
            f"Ledger (keel.ledger.texts); export / read = {ex['seconds'] / read['seconds']:.2f}x"
        )
        print(
            f"floor:  {floor['seconds']:.1f} s for pyarrow to write the same ids and texts "
            f"from memory; export / floor = {ex['seconds'] / floor['seconds']:.1f}x"
        )


if __name__ == "__main__":
    main()
