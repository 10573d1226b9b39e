"""Read views of a ledger: its records with the verdicts on each, read once, in log order.

Expert review (which records to review), mixing (which records to train on), the judge commands
and the loop need the same view: every record, its AI verdicts and its expert verdicts.
Expert verdicts are read as: adopted when the score is ≥ 0.5 (when a score is given), else when
the label is ``accept``; rejected when the label is ``reject`` or ``degenerate``; a
``degenerate`` label also flags the record's descendants for lineage pruning. When several
experts judged a record, the latest verdict in the log stands (a later review supersedes an
earlier one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from keel.errors import NotFoundError
from keel.ledger.log import Ledger
from keel.records import EntryId, Record, Verdict

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
    data = ledger.payloads([item.record.payload.sha256 for item in items])
    return [None if d is None else d.decode("utf-8", "replace") for d in data]
