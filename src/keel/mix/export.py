"""Shipping a logged mix to a trainer: its members' texts with their provenance, and the receipt
that ties the files to the ledger.

`export_mix(ledger, ref, path, format=...)` writes a new folder (docs/export.md)::

    keel-export.json   the manifest: mix, checkpoint, counts, files with their SHA-256
    mix.tlog-proof     receipt of the mix entry (c2sp.org/tlog-proof) at that checkpoint
    mix.entry          the mix entry's exact bytes    } `keel ledger verify-proof mix.tlog-proof
    members.txt        its member list (the payload)  }  mix.entry --payload members.txt --key K`
    data.jsonl | data.parquet | a `datasets` folder (hf: data-*.arrow, dataset_info.json,
                       state.json)
    data.parquet       with Croissant, for every format: the file croissant.json describes
    redacted.jsonl     members whose payload was erased: provenance, no text; never dropped
    croissant.json     Croissant 1.1 metadata (`croissant=True`, `keel.mix.croissant`); it
                       describes Parquet, whose types are exact (Croissant readers infer the
                       types of JSON Lines: mlcroissant reads the text "1" as 1.0)

Everything is read in one snapshot, up to the checkpoint the receipt names (a new checkpoint
is signed first when entries are not covered yet). Memory is bounded: the log is read once, in
order, `batch_size` entries at a time; member rows go to a spill file on disk (their reason
and expert verdicts are known only at the end of the log), then to the output batch by batch.
What grows with the mix is its id list: 41 bytes a member (digest, search key and a flag).
The export is built in a hidden folder beside `path` and renamed into place at the end, so a
failure, or `fail_on_redacted`, leaves nothing behind; an existing `path` is refused.
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from keel import __version__
from keel._files import check_parent, sha256_file
from keel.errors import InputError, require
from keel.ledger import Judged, Ledger, Located, open_checkpoint
from keel.ledger import texts as view_texts
from keel.mix.croissant import DataFile, MixFacts, croissant_metadata
from keel.records import JSON, EntryId, Mix, Record, Redaction, Verdict, parse_member_list

ExportFormat = Literal["jsonl", "parquet", "hf"]
FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
Reason = Literal["verified-human", "expert-adopted", "gate", "listed"]

BATCH = 4096
"""Log entries read, and member rows written, per batch."""

MANIFEST = "keel-export.json"
RECEIPT = "mix.tlog-proof"
MIX_ENTRY = "mix.entry"
MEMBERS = "members.txt"
REDACTED = "redacted.jsonl"
CROISSANT = "croissant.json"
PARQUET = "data.parquet"
JSONL = "data.jsonl"


def _col(name: str, kind: pa.DataType, description: str) -> pa.Field:
    return pa.field(name, kind, metadata={"description": description})


VERDICT = pa.struct(
    [
        _col("reviewer", pa.string(), "The expert's id (the verdict's judge)."),
        _col("label", pa.string(), "The verdict's label: accept, reject, degenerate, or other."),
        _col("score", pa.float64(), "The verdict's score (1 adopt, 0 reject), if given."),
        _col("round", pa.string(), "The review round's entry id, for keel review decisions."),
        _col("after_mix", pa.bool_(), "True when logged after the mix entry (not used by it)."),
    ]
)

_PROVENANCE = [
    _col("id", pa.string(), "The record's entry id: SHA-256 of its exact logged bytes."),
    _col(
        "text",
        pa.string(),
        "The record's payload: its text, or the canonical (RFC 8785) text of a JSON payload.",
    ),
    _col("origin", pa.string(), "Who made the record: human, expert or synthetic."),
    _col("author", pa.string(), "The record's author, when the ledger names one."),
    _col("producer_model", pa.string(), "The model that produced a synthetic record."),
    _col("producer_version", pa.string(), "That model's version."),
    _col("generation", pa.int64(), "The loop generation the record belongs to."),
    _col("parents", pa.list_(pa.string()), "Entry ids of the records it was made from."),
]
_TRAILER = [
    _col("payload_type", pa.string(), "How the payload is stored: text or json."),
    _col("payload_sha256", pa.string(), "SHA-256 of the payload bytes the record commits to."),
    _col("index", pa.int64(), "The record's leaf index in the ledger."),
]
_WHY = [
    _col(
        "reason",
        pa.string(),
        "Why it is in the mix: verified-human, expert-adopted, gate (accepted by the policy's "
        "gate), or listed (a mix logged by hand, no policy).",
    ),
    _col(
        "gate",
        pa.string(),
        "The gate's decision on the member: accepted (by the corrected rule or the AI judges' "
        "majority), ungated (the policy had no gate); null for verified members.",
    ),
    _col(
        "expert_verdicts",
        pa.list_(VERDICT),
        "Every expert verdict on the record up to the checkpoint, in log order.",
    ),
]

SCHEMA = pa.schema([*_PROVENANCE, *_WHY, *_TRAILER])
"""The columns of every exported row (docs/export.md, "Columns")."""

_SPILL = pa.schema([*_PROVENANCE, *_TRAILER, pa.field("redacted", pa.bool_())])


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote (or, with `fail_on_redacted`, would have): the folder, the format,
    the facts read from the ledger, the files inside, and whether anything was written."""

    path: Path
    format: ExportFormat
    facts: MixFacts
    files: tuple[str, ...]
    written: bool

    def to_json(self) -> dict[str, JSON]:
        return {
            "path": str(self.path),
            "format": self.format,
            "written": self.written,
            **self.facts.to_json(),
            "files": list(self.files),
            "receipt": str(self.path / RECEIPT) if self.written else None,
        }


def check_export_target(path: Path) -> Path:
    """Refuse an export folder before any work: it must not exist (keel never overwrites), and
    its parent folder must exist and be writable. Returns the absolute path."""
    target = Path(os.path.abspath(path))
    if target.exists() or target.is_symlink():
        raise InputError(f"{path} exists: keel never overwrites an export; choose a new path")
    check_parent(path, target)
    return target


def export_mix(
    ledger: Ledger,
    ref: str,
    path: Path,
    *,
    format: str = "parquet",
    croissant: bool = False,
    license: str | None = None,
    fail_on_redacted: bool = False,
    batch_size: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Export the mix named by `ref` (id, unique prefix or external id) to the new folder `path`
    (module docstring); `progress(entries read, entries to read)` is called once a batch.

    With `fail_on_redacted`, a mix with any redacted member writes nothing and comes back with
    `written=False` (the CLI's gate, exit 1).
    """
    fmt = _format(format)
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {batch_size}")
    target = check_export_target(path)
    hf = _datasets() if fmt == "hf" else None
    loc = _mix(ledger, ref)
    if ledger.info().uncovered:
        ledger.checkpoint()
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".work", dir=target.parent))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        with ledger.snapshot():
            scan = _read(ledger, loc.id, staging, work / "spill.arrow", batch_size, progress)
        if fail_on_redacted and scan.redacted:
            shutil.rmtree(staging, ignore_errors=True)
            return ExportReport(target, fmt, _facts(scan, {}, 0, 0), (), written=False)
        report = _write(scan, fmt, hf, target, staging, work, croissant, license)
        _publish(staging, target)
        return report
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- reading: one pass over the log, in one snapshot --------------------------------------


@dataclass(frozen=True, slots=True)
class _Expert:
    """An expert verdict on a member, as the export needs it."""

    reviewer: str
    label: str | None
    score: float | None
    round: str | None
    index: int

    @property
    def decides(self) -> bool:
        """True when the verdict is a readable decision (keel.ledger.view.expert_decision)."""
        if self.score is not None:
            return True
        return (self.label or "").strip().lower() in ("accept", "reject", "degenerate")


@dataclass(frozen=True, slots=True)
class _Scan:
    """What the pass over the log found: the mix, the checkpoint and receipt, the spill file
    of member rows, and the expert verdicts on members."""

    mix_id: EntryId
    mix_index: int
    mix_entry: Mix
    origin: str
    checkpoint_size: int
    checkpoint_root: str
    note: str
    spill: Path
    members: int
    redacted: int
    by_origin: Mapping[str, int]
    producers: Mapping[str, int]
    expert: Mapping[EntryId, Sequence[_Expert]]
    redactions: Mapping[str, tuple[str, str]]


def _read(
    ledger: Ledger,
    mix_id: EntryId,
    staging: Path,
    spill: Path,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
) -> _Scan:
    """Inside a snapshot: the receipt, the member list, then one pass over the log up to the
    checkpoint: member records to the spill file, expert verdicts on members kept aside."""
    loc = ledger.locate(mix_id)
    assert isinstance(loc.entry, Mix)
    bundle = ledger.prove(mix_id)
    cp = open_checkpoint(bundle.checkpoint, ledger.verifier())
    listed = ledger.payload(loc.entry.members.sha256)
    (staging / RECEIPT).write_bytes(bundle.format())
    (staging / MIX_ENTRY).write_bytes(loc.raw)
    (staging / MEMBERS).write_bytes(listed)
    members = _Members(listed)
    del listed
    redactions = {
        d: (r.id, r.entry.reason)
        for d, r in ledger.redacted().items()
        if isinstance(r.entry, Redaction)
    }
    rows = _Rows(ledger, spill)
    expert: defaultdict[EntryId, list[_Expert]] = defaultdict(list)
    records: list[Located] = []
    verdicts: list[tuple[int, Verdict]] = []

    def flush() -> None:
        rows.add(list(compress(records, members.mark([r.id for r in records]))))
        for index, v in compress(verdicts, members.find([v.record for _, v in verdicts])):
            expert[v.record].append(_Expert(v.judge, v.label, v.score, v.round, index))
        records.clear()
        verdicts.clear()

    read = 0
    for e in ledger.iter_located():
        if e.index >= cp.size:
            break
        read += 1
        if isinstance(e.entry, Record) and e.index < loc.index:
            records.append(e)
        elif isinstance(e.entry, Verdict) and e.entry.judge_kind == "expert":
            verdicts.append((e.index, e.entry))
        if len(records) + len(verdicts) >= batch_size:
            flush()
        if progress is not None and read % batch_size == 0:
            progress(read, cp.size)
    flush()
    rows.close()
    if progress is not None:
        progress(read, cp.size)
    missing = members.missing()
    if missing:
        raise InputError(
            f"mix {mix_id} lists {len(missing):,} members that are not records logged before it "
            f"(first: {missing[0]}); it cannot be exported"
        )
    return _Scan(
        mix_id=mix_id,
        mix_index=loc.index,
        mix_entry=loc.entry,
        origin=cp.origin,
        checkpoint_size=cp.size,
        checkpoint_root=cp.root.hex(),
        note=bundle.checkpoint.decode(),
        spill=spill,
        members=members.count,
        redacted=rows.redacted,
        by_origin=dict(rows.by_origin),
        producers=dict(rows.producers),
        expert=dict(expert),
        redactions=redactions,
    )


class _Members:
    """A mix's member ids as a sorted array of 32-byte digests, searched by their first 8 bytes
    (a ledger never holds two entries whose ids share them: `keel.ledger.store.key_of`) and
    matched on all 32; with a flag per member set once its record is read. 41 bytes a member."""

    def __init__(self, listed: bytes) -> None:
        self.digests = np.frombuffer(_digests(listed), dtype="S32")
        self.digests.sort()
        self.keys = _keys(self.digests)
        self.seen = np.zeros(len(self.digests), dtype=bool)

    @property
    def count(self) -> int:
        return len(self.digests)

    def find(self, ids: Sequence[str]) -> np.ndarray:
        """Which of `ids` are members (booleans)."""
        return self._positions(ids)[1]

    def mark(self, ids: Sequence[str]) -> np.ndarray:
        """Which of `ids` are members (booleans); flags those as read."""
        pos, hit = self._positions(ids)
        self.seen[pos[hit]] = True
        return hit

    def missing(self) -> list[str]:
        """The members whose record was not read, as hex ids."""
        return [bytes(d).ljust(32, b"\0").hex() for d in self.digests[~self.seen]]

    def _positions(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if not ids or not self.count:
            return np.zeros(len(ids), dtype=np.intp), np.zeros(len(ids), dtype=bool)
        q = np.frombuffer(bytes.fromhex("".join(ids)), dtype="S32")
        pos = np.minimum(np.searchsorted(self.keys, _keys(q)), self.count - 1)
        return pos, self.digests[pos] == q


def _keys(digests: np.ndarray) -> np.ndarray:
    """The first 8 bytes of each 32-byte digest as an unsigned integer (sorted digests give
    sorted keys)."""
    head = digests.view(np.uint8).reshape(-1, 32)[:, :8]
    return np.ascontiguousarray(head).view(">u8").ravel().astype(np.uint64)


def _digests(listed: bytes) -> bytearray:
    """The 32-byte digests of a member list, decoded a block at a time when it has the layout
    `keel.records.mix` writes (64 lower-case hex digits and a newline per member), else through
    `parse_member_list`, which names what is wrong."""
    step, block = 65, 65 * 16_384
    raw = bytearray()
    if len(listed) % step == 0 and not listed[step - 1 :: step].strip(b"\n"):
        try:
            for at in range(0, len(listed), block):
                hexed = listed[at : at + block].replace(b"\n", b"")
                if hexed != hexed.lower():
                    raise ValueError("upper-case hex")
                raw += bytes.fromhex(hexed.decode("ascii"))
            return raw
        except (ValueError, UnicodeDecodeError):
            raw.clear()
    for i in parse_member_list(listed):
        raw += bytes.fromhex(i)
    return raw


class _Rows:
    """Member rows (provenance and text, no verdicts yet) appended to the spill file; texts are
    read as every part of keel reads them (`keel.ledger.texts`: None when redacted)."""

    def __init__(self, ledger: Ledger, spill: Path) -> None:
        self.ledger = ledger
        self.writer = pa.ipc.new_file(str(spill), _SPILL)
        self.redacted = 0
        self.by_origin: Counter[str] = Counter()
        self.producers: Counter[str] = Counter()

    def add(self, found: Sequence[Located]) -> None:
        if not found:
            return
        records = [loc.entry for loc in found if isinstance(loc.entry, Record)]
        judged = [Judged(loc.id, loc.index, r) for loc, r in zip(found, records, strict=True)]
        texts = view_texts(self.ledger, judged)
        producers = [r.producer for r in records]
        self.redacted += sum(t is None for t in texts)
        self.by_origin.update(r.origin for r in records)
        self.producers.update(
            p.model if p.version is None else f"{p.model} {p.version}"
            for p in producers
            if p is not None
        )
        cols: dict[str, list[Any]] = {
            "id": [loc.id for loc in found],
            "text": texts,
            "origin": [r.origin for r in records],
            "author": [r.author for r in records],
            "producer_model": [None if p is None else p.model for p in producers],
            "producer_version": [None if p is None else p.version for p in producers],
            "generation": [r.generation for r in records],
            "parents": [list(r.parents) for r in records],
            "payload_type": [r.payload.type for r in records],
            "payload_sha256": [r.payload.sha256 for r in records],
            "index": [loc.index for loc in found],
            "redacted": [t is None for t in texts],
        }
        self.writer.write_batch(pa.RecordBatch.from_pydict(cols, schema=_SPILL))

    def close(self) -> None:
        self.writer.close()


# -- writing: the spill, completed, to the chosen format -----------------------------------


def _write(
    scan: _Scan,
    fmt: ExportFormat,
    hf: ModuleType | None,
    target: Path,
    staging: Path,
    work: Path,
    croissant: bool,
    license: str | None,
) -> ExportReport:
    """Complete each spilled row (reason, gate, expert verdicts), send it to the data file or to
    redacted.jsonl, then write Croissant and the manifest."""
    policy = scan.mix_entry.policy
    gate = policy.get("gate")
    by_reason: Counter[str] = Counter()
    rows = 0
    reviewed = sum(1 for v in scan.expert.values() if v)
    with ExitStack() as stack:
        sinks = _sinks(fmt, staging, work, croissant, stack)
        red = stack.enter_context((staging / REDACTED).open("wb"))
        source = pa.ipc.open_file(stack.enter_context(pa.OSFile(str(scan.spill))))
        for i in range(source.num_record_batches):
            batch = source.get_batch(i)
            done = _complete(batch, scan, gate, by_reason)
            redacted = batch.column("redacted")
            kept = done.filter(pc.invert(redacted))
            rows += kept.num_rows
            for sink in sinks:
                sink(kept)
            for row in done.filter(redacted).drop_columns(["text"]).to_pylist():
                digest = row["payload_sha256"]
                what = scan.redactions.get(digest)
                row["redaction"] = None if what is None else {"id": what[0], "reason": what[1]}
                red.write(orjson.dumps(row) + b"\n")
    if hf is not None:
        _save_hf(hf, work / "data.arrow", staging)
    facts = _facts(scan, by_reason, rows, reviewed)
    if croissant:
        meta = croissant_metadata(
            facts,
            DataFile(PARQUET, "application/x-parquet", sha256_file(staging / PARQUET)),
            SCHEMA,
            published=datetime.datetime.now(datetime.UTC).date(),
            license=license,
        )
        (staging / CROISSANT).write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    files = sorted(p.name for p in staging.iterdir())
    manifest = _manifest(scan, facts, fmt, staging, files, license)
    (staging / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return ExportReport(target, fmt, facts, tuple(sorted([*files, MANIFEST])), written=True)


def _complete(
    batch: pa.RecordBatch, scan: _Scan, gate: JSON, by_reason: Counter[str]
) -> pa.RecordBatch:
    """A spilled batch with its reason, gate and expert_verdicts columns, in `SCHEMA` order.
    Members no expert judged (most of them) take their reason from their origin alone."""
    ids = batch.column("id").to_pylist()
    origins = batch.column("origin").to_pylist()
    reasons: list[str] = [_reason(o, (), scan.mix_index, gate) for o in origins]
    offsets = [0]
    verdicts: list[dict[str, JSON]] = []
    for i, rid in enumerate(ids):
        seen = scan.expert.get(rid, ())
        if seen:
            reasons[i] = _reason(origins[i], seen, scan.mix_index, gate)
            verdicts += [
                {
                    "reviewer": v.reviewer,
                    "label": v.label,
                    "score": v.score,
                    "round": v.round,
                    "after_mix": v.index > scan.mix_index,
                }
                for v in seen
            ]
        offsets.append(len(verdicts))
    by_reason.update(reasons)
    gated = "ungated" if gate == "none" else "accepted"
    extra = {
        "reason": pa.array(reasons, pa.string()),
        "gate": pa.array([gated if r == "gate" else None for r in reasons], pa.string()),
        "expert_verdicts": pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()), pa.array(verdicts, VERDICT)
        ),
    }
    arrays = [extra[f.name] if f.name in extra else batch.column(f.name) for f in SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _reason(origin: str, seen: Sequence[_Expert], mix_index: int, gate: JSON) -> Reason:
    """Why a member is in its mix, from the log before the mix entry: a mix logged without a
    keel policy (no gate in it) lists its members; otherwise a non-synthetic member is verified
    human data, and a synthetic member with an expert decision was adopted (a rejected one is
    never a member; `keel.mix.build`), one without passed the gate."""
    if gate is None:
        return "listed"
    if origin != "synthetic":
        return "verified-human"
    if any(v.decides and v.index < mix_index for v in seen):
        return "expert-adopted"
    return "gate"


Sink = Callable[[pa.RecordBatch], None]


def _sinks(
    fmt: ExportFormat, staging: Path, work: Path, croissant: bool, stack: ExitStack
) -> list[Sink]:
    """Writers of completed batches: JSONL line by line, Parquet row group by row group, an
    Arrow stream for `datasets` (hf); and with Croissant, the Parquet file it describes."""
    sinks: list[Sink] = []
    if fmt == "jsonl":
        f = stack.enter_context((staging / JSONL).open("wb"))

        def jsonl(batch: pa.RecordBatch) -> None:
            for row in batch.to_pylist():
                f.write(orjson.dumps(row) + b"\n")

        sinks.append(jsonl)
    if fmt == "parquet" or croissant:
        pw = stack.enter_context(pq.ParquetWriter(str(staging / PARQUET), SCHEMA))
        sinks.append(pw.write_batch)
    if fmt == "hf":
        aw = stack.enter_context(pa.ipc.new_stream(str(work / "data.arrow"), SCHEMA))
        sinks.append(aw.write_batch)
    return sinks


def _save_hf(hf: ModuleType, arrow: Path, staging: Path) -> None:
    """Write the `datasets` folder (`save_to_disk`) from the Arrow stream, without the progress
    bars `datasets` draws by default."""
    shown = hf.is_progress_bar_enabled()
    hf.disable_progress_bars()
    try:
        ds = hf.Dataset.from_file(str(arrow), in_memory=False)
        ds.save_to_disk(str(staging))
        del ds
    finally:
        if shown:
            hf.enable_progress_bars()


def _facts(scan: _Scan, by_reason: Mapping[str, int], rows: int, reviewed: int) -> MixFacts:
    return MixFacts(
        mix_id=scan.mix_id,
        mix_index=scan.mix_index,
        generation=scan.mix_entry.generation,
        origin=scan.origin,
        checkpoint_size=scan.checkpoint_size,
        checkpoint_root=scan.checkpoint_root,
        members=scan.members,
        rows=rows,
        redacted=scan.redacted,
        by_origin=dict(sorted(scan.by_origin.items())),
        by_reason=dict(sorted(by_reason.items())),
        producers=dict(sorted(scan.producers.items())),
        reviewed=reviewed,
        expert_verdicts=sum(len(v) for v in scan.expert.values()),
        rounds=len({v.round for vs in scan.expert.values() for v in vs if v.round}),
        policy=scan.mix_entry.policy,
    )


def _manifest(
    scan: _Scan,
    facts: MixFacts,
    fmt: ExportFormat,
    staging: Path,
    files: Sequence[str],
    license: str | None,
) -> dict[str, JSON]:
    """keel-export.json: what was exported, from which ledger state, and every file's digest."""
    return {
        "keel_export": 1,
        "keel_version": __version__,
        "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "format": fmt,
        "mix": {
            "id": scan.mix_id,
            "index": scan.mix_index,
            "count": scan.mix_entry.count,
            "generation": scan.mix_entry.generation,
            "members_sha256": scan.mix_entry.members.sha256,
            "policy": dict(scan.mix_entry.policy),
        },
        "ledger": {
            "origin": scan.origin,
            "checkpoint": {
                "size": scan.checkpoint_size,
                "root": scan.checkpoint_root,
                "note": scan.note,
            },
        },
        "receipt": RECEIPT,
        "mix_entry": MIX_ENTRY,
        "members_file": MEMBERS,
        "redacted_file": REDACTED,
        "croissant": CROISSANT if CROISSANT in files else None,
        "license": license,
        "counts": {k: v for k, v in facts.to_json().items() if k not in ("mix", "mix_index")},
        "columns": [
            {"name": f.name, "type": str(f.type), "description": _about(f)} for f in SCHEMA
        ],
        "files": [_file(staging, name) for name in _walk(staging, files)],
    }


def _about(f: pa.Field) -> str:
    return str((f.metadata or {}).get(b"description", b"").decode())


def _walk(staging: Path, names: Sequence[str]) -> Iterator[str]:
    for name in names:
        p = staging / name
        if p.is_dir():
            yield from (str(q.relative_to(staging)) for q in sorted(p.rglob("*")) if q.is_file())
        else:
            yield name


def _file(staging: Path, name: str) -> dict[str, JSON]:
    path = staging / name
    return {"path": name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _publish(staging: Path, target: Path) -> None:
    """Flush every file to disk, then rename the staging folder to `target` (refused if
    something appeared there meanwhile)."""
    for p in staging.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(staging, 0o777 & ~mask)
    if target.exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"{target} appeared while exporting: keel never overwrites it")
    os.rename(staging, target)


# -- checks ----------------------------------------------------------------------------


def _format(value: str) -> ExportFormat:
    for f in FORMATS:
        if value == f:
            return f
    raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {value!r}")


def _mix(ledger: Ledger, ref: str) -> Located:
    loc = ledger.locate(ref)
    if not isinstance(loc.entry, Mix):
        raise InputError(f"{ref} is a {loc.entry.kind}, not a mix: give a mix id")
    return loc


def _datasets() -> ModuleType:
    """The `datasets` package (the [hf] extra), imported on first use."""
    return require(
        "datasets",
        "--format hf needs the Hugging Face datasets package: pip install 'keel[hf]'",
        InputError,
    )
