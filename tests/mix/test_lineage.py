"""Lineage pruning on random record graphs: the tainted set is exactly the degenerate records
and their descendants, as the ledger's own lineage walk finds them."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from keel.ledger import Ledger, Snapshot
from keel.mix import MixPolicy, build_mix, tainted
from keel.records import text_record, verdict


@settings(max_examples=15, deadline=None)
@given(
    parents=st.lists(st.lists(st.integers(0, 30), max_size=3), min_size=2, max_size=25),
    bad=st.sets(st.integers(0, 24), max_size=3),
)
def test_tainted_is_degenerate_and_descendants(parents: list[list[int]], bad: set[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        led = Ledger.open(Path(tmp) / "k.db")
        ids: list[str] = []
        for i, ps in enumerate(parents):
            pids = sorted({ids[p % i] for p in ps}) if i else []
            origin = "human" if i == 0 else "synthetic"
            ids.append(led.append([text_record(f"text {i}", origin, parents=pids)])[0].id)
        flagged = {ids[b] for b in bad if b < len(ids)}
        led.append([verdict(r, "expert:x", "expert", label="degenerate") for r in flagged])
        got = tainted(Snapshot.load(led))
        expected = {
            r
            for r in ids
            if r in flagged or any(a.located.id in flagged for a in led.lineage(r).ancestors)
        }
        assert got == expected
        members = {
            m.id for m in build_mix(led, MixPolicy(alpha=0.0, size=100, gate="none")).members
        }
        assert not members & expected
        led.close()
