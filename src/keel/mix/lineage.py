"""Lineage pruning: a record descending from a degenerate record is left out of the mix.

A record is flagged degenerate when its standing expert verdict has the label ``degenerate``
(see `keel.ledger.Snapshot`) or when a policy names it (`flagged`). A record is tainted when it
is flagged or any of its parents is tainted. Passes in log order decide it: a parent is
normally logged before its children, so one pass suffices; passes repeat until nothing changes
for parents logged later (appended with unknown references allowed). Parents the ledger does
not hold are not evidence either way.
"""

from __future__ import annotations

from collections.abc import Collection

from keel.ledger import Snapshot
from keel.records import EntryId


def tainted(snapshot: Snapshot, flagged: Collection[EntryId] = ()) -> frozenset[EntryId]:
    """The records that are degenerate, named in `flagged`, or descend from one."""
    out: set[EntryId] = {j.id for j in snapshot.records if j.degenerate or j.id in flagged}
    changed = True
    while changed:
        before = len(out)
        for j in snapshot.records:
            if j.id not in out and any(p in out for p in j.record.parents):
                out.add(j.id)
        changed = len(out) > before
    return frozenset(out)
