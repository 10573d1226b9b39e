"""Everything an entry depends on: the walk from a policy checkpoint, a mix or a run back to the
records, pairs and judges behind it.

`trace` walks breadth-first from any entry through what it references (a run's mix and `uses`,
a mix's members, a record's parents, a verdict's or a preference's records), collecting the
judges named on the way: from a policy checkpoint it reaches the completions, the prompts, the
reward model's run, its pairs' mix, the preference entries and the judges that made them (and,
for a corrected fit, the anchors' expert preferences). The other judgements of the records it
reaches (verdicts, other judges' preferences) are listed apart: they are about those records,
but the start does not depend on them. `Ledger.lineage` is the narrower walk over a record's
parents, with the verdicts on each.
"""

from __future__ import annotations

from dataclasses import dataclass

from keel.errors import NotFoundError
from keel.ledger.log import Ledger, Located
from keel.records import EntryId, Mix, Record, parse_member_list, references


@dataclass(frozen=True, slots=True)
class Traced:
    """An entry reached by `trace`, `depth` references away from the start."""

    located: Located
    depth: int


@dataclass(frozen=True, slots=True)
class Trace:
    """What an entry depends on (breadth-first, nearest first), the judges named on the way,
    and the other judgements of the records reached (entries that judge them but that the start
    does not depend on: another judge's preferences on the same responses, expert verdicts)."""

    start: Located
    reached: tuple[Traced, ...]
    judges: tuple[str, ...]
    judgements: tuple[Located, ...]

    def of_kind(self, kind: str) -> list[Located]:
        return [t.located for t in self.reached if t.located.entry.kind == kind]


JUDGEMENTS = frozenset({"verdict", "preference"})
"""Kinds of the entries that judge a record."""


def trace(ledger: Ledger, ref: str) -> Trace:
    """Walk from `ref` (an id, id prefix or external id) through everything it depends on
    (module docstring), then collect the judgements of every record reached; one snapshot."""
    with ledger.snapshot():
        start = ledger.locate(ref)
        seen = {start.id}
        queue: list[tuple[Located, int]] = [(start, 0)]
        reached: list[Traced] = []
        judges: dict[str, None] = {}
        while queue:
            loc, depth = queue.pop(0)
            entry = loc.entry
            judge = getattr(entry, "judge", None)
            if isinstance(judge, str):
                judges[judge] = None
            ids = list(references(entry))
            if isinstance(entry, Mix):
                ids += parse_member_list(ledger.payload(entry.members.sha256))
            for f in (_locate(ledger, i) for i in ids if i not in seen):
                if f is not None and f.id not in seen:
                    seen.add(f.id)
                    reached.append(Traced(f, depth + 1))
                    queue.append((f, depth + 1))
        others: dict[EntryId, Located] = {}
        for t in reached:
            if isinstance(t.located.entry, Record):
                for j in ledger.refs_to(t.located):
                    if j.entry.kind in JUDGEMENTS and j.id not in seen:
                        others[j.id] = j
        return Trace(start, tuple(reached), tuple(judges), tuple(others.values()))


def _locate(ledger: Ledger, ref: EntryId) -> Located | None:
    try:
        return ledger.locate(ref)
    except NotFoundError:
        return None
