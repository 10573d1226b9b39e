"""Read views of a ledger: its records with the verdicts on each, read once, in log order.

Expert review (which records to review), mixing (which records to train on), the judge commands
and the loop need the same view: every record, its AI verdicts and its expert verdicts.
Expert verdicts are read as: adopted when the score is ≥ 0.5 (when a score is given), else when
the label is ``accept``; rejected when the label is ``reject`` or ``degenerate``; a
``degenerate`` label also flags the record's descendants for lineage pruning. When several
experts judged a record, the latest verdict in the log stands (a later review supersedes an
earlier one).

A reader of the records alone (the collapse watch of a ledger's generations) needs less:
`record_fields` reads a few fields of every record in one pass over the log, and
`payload_texts` their texts in one pass over the payloads (or by key, when few are wanted).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import cast

import orjson

from keel.errors import NotFoundError, VerificationError
from keel.ledger.log import Ledger
from keel.records import (
    ENTRY_VERSION,
    MAX_SAFE_INT,
    ORIGINS,
    EntryId,
    Origin,
    PayloadType,
    Record,
    Verdict,
    parse_entry,
)

ACCEPT, REJECT, DEGENERATE = "accept", "reject", "degenerate"


@dataclass(frozen=True, slots=True)
class Judged:
    """A record as the ledger holds it, with the AI and expert verdicts on it (log order)."""

    id: EntryId
    index: int
    record: Record
    ai: tuple[Verdict, ...] = ()
    expert: tuple[Verdict, ...] = ()

    @property
    def adopted(self) -> bool | None:
        """The standing expert decision: True adopted, False rejected, None not reviewed."""
        for v in reversed(self.expert):
            decision = expert_decision(v)
            if decision is not None:
                return decision
        return None

    @property
    def degenerate(self) -> bool:
        """True when the standing expert verdict labels the record degenerate."""
        for v in reversed(self.expert):
            if expert_decision(v) is not None:
                return (v.label or "").strip().lower() == DEGENERATE
        return False


def expert_decision(v: Verdict) -> bool | None:
    """Adopt (True), reject (False) or unreadable (None), as the module docstring says."""
    if v.score is not None:
        return v.score >= 0.5
    label = (v.label or "").strip().lower()
    if label == ACCEPT:
        return True
    if label in (REJECT, DEGENERATE):
        return False
    return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every record of a ledger with its verdicts, in log order, and an index by id; `size` is
    the number of log entries read."""

    records: tuple[Judged, ...]
    by_id: Mapping[EntryId, int]
    size: int = 0
    pending: Mapping[EntryId, tuple[tuple[Verdict, ...], tuple[Verdict, ...]]] = field(
        default_factory=dict
    )
    """(AI, expert) verdicts on records not in the log yet, kept until their record arrives."""

    @classmethod
    def load(cls, ledger: Ledger, base: Snapshot | None = None) -> Snapshot:
        """Read the log once (records first seen, verdicts attached to their record); with
        `base`, a snapshot of the same ledger taken earlier, read only the entries after it."""
        records = list(base.records) if base else []
        by_id = dict(base.by_id) if base else {}
        pending = dict(base.pending) if base else {}
        size = base.size if base else 0
        with ledger.snapshot():
            located = list(ledger.iter_located(size))
        for loc in located:
            e = loc.entry
            size = loc.index + 1
            if isinstance(e, Record) and loc.id not in by_id:
                by_id[loc.id] = len(records)
                records.append(Judged(loc.id, loc.index, e, *pending.pop(loc.id, ((), ()))))
            elif isinstance(e, Verdict):
                pos = by_id.get(e.record)
                if pos is None:
                    ai, expert = pending.get(e.record, ((), ()))
                else:
                    ai, expert = records[pos].ai, records[pos].expert
                if e.judge_kind == "expert":
                    expert = (*expert, e)
                else:
                    ai = (*ai, e)
                if pos is None:
                    pending[e.record] = (ai, expert)
                else:
                    records[pos] = replace(records[pos], ai=ai, expert=expert)
        return cls(tuple(records), by_id, size, pending)

    def get(self, ref: EntryId) -> Judged:
        pos = self.by_id.get(ref)
        if pos is None:
            raise NotFoundError(f"no record {ref} in this ledger snapshot")
        return self.records[pos]

    def judges(self, items: Iterable[Judged]) -> tuple[str, ...]:
        """The AI judges that gave a verdict on any of `items`, sorted by id."""
        return tuple(sorted({v.judge for j in items for v in j.ai}))


def texts(ledger: Ledger, items: Sequence[Judged]) -> list[str | None]:
    """The UTF-8 text of each record's payload; None where its bytes were redacted or are absent
    (such a record cannot be reviewed or trained on)."""
    return payload_texts(ledger, [item.record.payload.sha256 for item in items])


RecordFields = tuple[int | None, Origin, PayloadType, str]
"""What a reader of generations needs of a record: (generation, origin, payload type, payload
digest). CPython's garbage collector stops tracking a tuple of strings and integers, so a list
of a million of them costs it nothing while the reader goes on."""


def fields_of(record: Record) -> RecordFields:
    """The `RecordFields` of a parsed record."""
    return record.generation, record.origin, record.payload.type, record.payload.sha256


def record_fields(ledger: Ledger) -> list[RecordFields]:
    """The `RecordFields` of every record of the log, in log order, each once (the records of
    `Snapshot.load`), in one pass over the entries' bytes. Each entry's JSON is parsed once;
    the fields read must have their plain form (else `parse_entry` reads the entry, with its
    error for one that is not a keel entry), and the other entries and fields are not read:
    `keel ledger verify` checks every entry. Run it inside `Ledger.snapshot()` with the reads
    that go with it."""
    seen: set[bytes] = set()
    out: list[RecordFields] = []
    for row in ledger.store.iter_entries():
        try:
            obj = orjson.loads(row.entry)
        except orjson.JSONDecodeError:
            obj = None
        fields = _plain_record(obj)
        if fields is None:
            if type(obj) is dict and obj.get("v") == ENTRY_VERSION and obj.get("kind") != "record":
                continue
            entry = parse_entry(row.entry)
            if not isinstance(entry, Record):
                continue
            fields = fields_of(entry)
        digest = hashlib.sha256(row.entry).digest()
        if digest not in seen:
            seen.add(digest)
            out.append(fields)
    return out


def _plain_record(obj: object) -> RecordFields | None:
    """The fields of a v1 record entry's JSON where each is of its plain type (a generation
    that `keel.records.loads` reads exactly); None otherwise."""
    if type(obj) is not dict or obj.get("v") != ENTRY_VERSION or obj.get("kind") != "record":
        return None
    origin, payload, g = obj.get("origin"), obj.get("payload"), obj.get("generation")
    if origin not in ORIGINS or type(origin) is not str or type(payload) is not dict:
        return None
    sha256, type_, size = payload.get("sha256"), payload.get("type"), payload.get("size")
    if type(sha256) is not str or type(type_) is not str or type(size) is not int:
        return None
    if g is not None and (type(g) is not int or not -MAX_SAFE_INT <= g <= MAX_SAFE_INT):
        return None
    return g, cast(Origin, origin), cast(PayloadType, type_), sha256


SCAN_SHARE = 4
"""`payload_texts` reads every stored payload in storage order (one pass) when it is asked for
at least one payload per this many log entries; fewer, it looks them up by key in batches."""


def payload_texts(ledger: Ledger, digests: Sequence[str]) -> list[str | None]:
    """The UTF-8 text of the payload with each digest (lower-case hex), in order; None where
    its bytes were redacted or are not held. The bytes read must hash to their digest
    (`VerificationError` otherwise). Run it inside `Ledger.snapshot()` with the reads that go
    with it."""
    found: Sequence[bytes | None]
    if len(digests) * SCAN_SHARE < ledger.size:
        found = ledger.payloads(digests)
    else:
        wanted = {bytes.fromhex(d) for d in digests}
        held = {
            row.digest.hex(): row.data
            for row in ledger.store.iter_payloads()
            if row.digest in wanted
        }
        found = [held.get(d) for d in digests]
    out: list[str | None] = []
    for digest, data in zip(digests, found, strict=True):
        if data is None:
            out.append(None)
        elif hashlib.sha256(data).hexdigest() == digest:
            out.append(data.decode("utf-8", "replace"))
        else:
            raise VerificationError(
                f"the stored bytes of payload {digest} do not match their digest: run "
                "`keel ledger verify` to find the damage"
            )
    return out
