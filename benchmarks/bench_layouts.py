"""What SQLite alone costs to store keel's records, by table layout, against the floor.

    python benchmarks/bench_layouts.py --records 1000000

Every layout gets the same records (built by keel's ingest row builder), inserted with plain
`executemany` in one transaction, then its indexes built once before the commit, with keel's
pragmas. No Python runs per row inside the timing, so each figure bounds from above what an
ingest into that layout can reach. Three rounds, layouts interleaved; medians are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_ledger import make_corpus
from keel._input import read_rows
from keel.ledger.ingest import INGEST_FIELDS, Defaults, RowBuilder
from keel.ledger.sqlite import _SCHEMA
from keel.ledger.store import key_of

Row = tuple[object, ...]


@dataclass(frozen=True)
class Rows:
    """The rows each layout inserts, for the same records."""

    floor: list[Row]  # (entry,)
    entries: list[Row]  # (idx, key, payload key, kind, entry)
    payloads: list[Row]  # (key, digest, data)
    inline: list[Row]  # (idx, key, payload key, kind, entry, digest, data)


@dataclass(frozen=True)
class Layout:
    """Tables, the inserts into them and the indexes built afterwards."""

    tables: list[str]
    inserts: list[tuple[str, str]]  # (SQL, the Rows field it takes)
    indexes: list[str]


def build_rows(corpus: Path) -> Rows:
    builder = RowBuilder(INGEST_FIELDS, Defaults(origin="human"))
    rows = Rows([], [], [], [])
    for i, (_, _, r) in enumerate(read_rows(corpus, "jsonl")):
        p = builder.build(r, "")
        assert p.payload_digest is not None
        key, pkey = key_of(hashlib.sha256(p.entry).digest()), key_of(p.payload_digest)
        rows.floor.append((p.entry,))
        rows.entries.append((i, key, pkey, "record", p.entry))
        rows.payloads.append((pkey, p.payload_digest, p.payload))
        rows.inline.append((i, key, pkey, "record", p.entry, p.payload_digest, p.payload))
    return rows


def keel_layout() -> Layout:
    """keel's own schema (`keel.ledger.sqlite`), its indexes built after the rows."""
    statements = [s.strip() for s in _SCHEMA.split(";") if s.strip()]
    indexes = [s for s in statements if s.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))]
    return Layout(
        [s for s in statements if s not in indexes],
        [
            ("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", "entries"),
            ("INSERT INTO payloads(key, digest, data) VALUES (?, ?, ?)", "payloads"),
        ],
        indexes,
    )


_ENTRIES = (
    "CREATE TABLE entries (idx INTEGER PRIMARY KEY, key INTEGER NOT NULL, payload INTEGER, "
    "kind TEXT NOT NULL, entry BLOB NOT NULL{})"
)
_ENTRY_INDEXES = [
    "CREATE UNIQUE INDEX entries_key ON entries(key)",
    "CREATE INDEX entries_payload ON entries(payload) WHERE payload IS NOT NULL",
]

LAYOUTS = {
    "floor: entry bytes only, no index": Layout(
        ["CREATE TABLE t (entry BLOB NOT NULL)"], [("INSERT INTO t VALUES (?)", "floor")], []
    ),
    "keel's schema: entry row + payload row": keel_layout(),
    "payload digest and bytes inside the entry row": Layout(
        [_ENTRIES.format(", digest BLOB, data BLOB")],
        [("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", "inline")],
        _ENTRY_INDEXES,
    ),
    "entry rows only (payload bytes elsewhere)": Layout(
        [_ENTRIES.format("")],
        [("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", "entries")],
        _ENTRY_INDEXES,
    ),
}


def insert_then_index(path: Path, layout: Layout, rows: Rows) -> float:
    """Seconds to insert the rows and build the indexes in one transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA cache_size=-131072")
    for stmt in layout.tables:
        db.execute(stmt)
    t0 = time.perf_counter()
    db.execute("BEGIN")
    for sql, field in layout.inserts:
        db.executemany(sql, getattr(rows, field))
    for stmt in layout.indexes:
        db.execute(stmt)
    db.execute("COMMIT")
    dt = time.perf_counter() - t0
    db.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_corpus(work / "corpus.jsonl", args.records)
        rows = build_rows(work / "corpus.jsonl")
        times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
        for r in range(args.rounds):
            for i, (name, layout) in enumerate(LAYOUTS.items()):
                times[name].append(insert_then_index(work / f"{r}-{i}.db", layout, rows))
                for f in work.glob(f"{r}-{i}.db*"):
                    f.unlink()
    floor = statistics.median(times[next(iter(LAYOUTS))])
    for name, ts in times.items():
        median = statistics.median(ts)
        us = median / args.records * 1e6
        print(f"{name:48s} {us:6.2f} µs a record   floor/layout {floor / median:.2f}")


if __name__ == "__main__":
    main()
