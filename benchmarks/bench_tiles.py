"""Tiles target: export a 1,000,000-entry ledger as c2sp.org/tlog-tiles in under 60 s, and an
incremental export of 10,000 new entries in under 2 s.

    python benchmarks/bench_tiles.py --entries 1000000

Each phase runs in its own process so that peak memory (max RSS) is measured per phase:

- build: ingest a JSONL corpus (`bench_ledger.make_corpus`, about 200 bytes a record);
- export: `keel.ledger.export_tiles.export_tiles` into a new folder (signs a checkpoint of the
  whole log first, as `keel ledger export-tiles` does), timed;
- grow: append `--new` more records (not timed);
- incremental: the same export again into the same folder: only the new tiles, the superseded
  partial tiles removed, the checkpoint replaced last;
- audit: keel's own reader (`keel.ledger.tiles.verify_tile_log`) recomputing the whole tree
  from the exported files, what an outsider with keel pays to audit the log.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from bench_ledger import make_corpus, run_child

KEY = "bench.example/tiles"


def phase_build(corpus: Path, work: Path) -> dict[str, float]:
    from keel.ledger import Defaults, Ledger, ingest

    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        led.init_key(KEY)
        t0 = time.perf_counter()
        report = ingest(led, corpus, defaults=Defaults(origin="human"), keep_ids=False)
        dt = time.perf_counter() - t0
    return {"seconds": dt, "entries": float(report.appended)}


def phase_export(work: Path) -> dict[str, float]:
    from keel.ledger import Ledger
    from keel.ledger.export_tiles import export_tiles

    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        t0 = time.perf_counter()
        report = export_tiles(led, work / "tiles")
        dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "size": float(report.size),
        "previous": float(report.previous_size),
        "files": float(report.tiles + report.bundles),
        "mb": report.bytes / 1e6,
        "removed": float(report.removed),
    }


def phase_grow(work: Path, new: int) -> dict[str, float]:
    from keel.ledger import Ledger
    from keel.records import text_record

    with Ledger.open(work / "keel.db", key_path=work / "keel.key") as led:
        t0 = time.perf_counter()
        led.append(text_record(f"bench_tiles new record {i}", "human") for i in range(new))
        dt = time.perf_counter() - t0
    return {"seconds": dt, "entries": float(new)}


def phase_audit(work: Path) -> dict[str, float]:
    import base64

    from keel.ledger.merkle import Hash
    from keel.ledger.tiles import verify_tile_log

    lines = (work / "tiles" / "checkpoint").read_text().split("\n")
    size, root = int(lines[1]), Hash(base64.b64decode(lines[2]))
    t0 = time.perf_counter()
    verify_tile_log(work / "tiles", size, root)
    return {"seconds": time.perf_counter() - t0, "size": float(size)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--new", type=int, default=10_000)
    ap.add_argument("--phase")
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--work", type=Path)
    args = ap.parse_args()
    if args.phase:
        if args.phase == "build":
            result = phase_build(args.corpus, args.work)
        elif args.phase == "grow":
            result = phase_grow(args.work, args.new)
        else:
            result = {"export": phase_export, "audit": phase_audit}[args.phase](args.work)
        result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus.jsonl"
        make_corpus(corpus, args.entries)

        def phase(name: str) -> dict[str, float]:
            return run_child(
                __file__, "--phase", name, "--corpus", str(corpus), "--work", str(work),
                "--new", str(args.new),
            )  # fmt: skip

        built = phase("build")
        print(f"build:       {built['entries']:,.0f} entries ingested in {built['seconds']:.1f} s")
        ex = phase("export")
        print(
            f"export:      {ex['seconds']:.1f} s for a tree of {ex['size']:,.0f} "
            f"({ex['size'] / ex['seconds']:,.0f} entries/s; {ex['files']:,.0f} tiles and "
            f"bundles, {ex['mb']:.0f} MB), max RSS {ex['max_rss_mb']:.0f} MB  [target < 60 s]"
        )
        grown = phase("grow")
        print(f"grow:        {grown['entries']:,.0f} entries appended in {grown['seconds']:.1f} s")
        inc = phase("export")
        print(
            f"incremental: {inc['seconds']:.2f} s from {inc['previous']:,.0f} to "
            f"{inc['size']:,.0f} ({inc['files']:,.0f} files, {inc['mb']:.1f} MB, "
            f"{inc['removed']:.0f} superseded partials removed), max RSS "
            f"{inc['max_rss_mb']:.0f} MB  [target < 2 s]"
        )
        audit = phase("audit")
        print(
            f"audit:       {audit['seconds']:.1f} s for verify_tile_log to recompute the tree "
            f"of {audit['size']:,.0f} from the files, max RSS {audit['max_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
