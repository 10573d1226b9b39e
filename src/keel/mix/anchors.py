"""The expert anchors of a generation: which reviewed records count, what was decided on each,
and how much each weighs in the estimates that use them (the gate's precision bound).

**Standing decision.** Each reviewer's latest readable expert verdict on a record is their
decision; the record's decision is the reputation-weighted vote

    adopted  ⇔  Σ_r w_r·(2·d_r − 1) > 0,

w_r the reviewer's reputation weight (`keel.experts.reputation`: max(2·a − 1, 0), a their
cautious accuracy), d_r 1 for adopt and 0 for reject. Reviewers without a weight (no
reputation yet, or all at weight 0) count 1 each; a tie keeps the latest decision. With one
reviewer per record this is their decision, as `keel.ledger.Judged.adopted` has it.

**Design weight.** A record drawn by a keel review round carries its inclusion probability
π_i (`keel.records.RoundItem.p`) and weighs 1/π_i (Horvitz & Thompson 1952); a random anchor
reviewed outside a round (the simulated panel's random share, a verdict logged by hand) is
taken as a uniform sample of the generation's N synthetic records, π = n_u/N for its n_u such
anchors. Ratios of weighted sums (Hájek 1971) are then consistent for the generation whatever
mix of rounds and uniform samples the anchors came from. Targeted records (chosen for their
uncertainty) count only when a round recorded their π; gold items (human records) never do;
reviews imported from other tools count only with `anchors = "all"`, which also drops the
weights (every reviewed record weighs 1: biased towards whatever the reviewers were shown).
With several rounds on one generation each record keeps the π of the round that drew it, an
approximation: the rounds' candidates shrink as records are decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from keel.experts import RUBRIC_PREFIX
from keel.ledger import Judged, Ledger, expert_decision
from keel.records import EntryId, Round

_TARGETED = (RUBRIC_PREFIX + "uncertain", RUBRIC_PREFIX + "gold")


@dataclass(frozen=True, slots=True)
class Anchors:
    """The anchors, in log order: each record, its standing decision, its design weight."""

    judged: tuple[Judged, ...]
    adopted: tuple[bool, ...]
    weights: tuple[float, ...]

    def labels(self) -> np.ndarray:
        return np.array([1.0 if a else 0.0 for a in self.adopted])

    def weight_array(self) -> np.ndarray:
        return np.array(self.weights, dtype=np.float64)


def standing(j: Judged, reputation: Mapping[str, float]) -> bool | None:
    """The record's decision (module docstring): a reputation-weighted vote of each reviewer's
    latest decision; None when no expert verdict is readable."""
    latest: dict[str, bool] = {}
    last: bool | None = None
    for v in j.expert:
        d = expert_decision(v)
        if d is not None:
            latest.pop(v.judge, None)
            latest[v.judge] = d
            last = d
    if len(latest) < 2:
        return last
    w = {r: reputation.get(r, 0.0) for r in latest}
    if not any(w.values()):
        w = dict.fromkeys(latest, 1.0)
    vote = sum(w[r] * (1.0 if d else -1.0) for r, d in latest.items())
    return last if vote == 0 else vote > 0


def round_inclusion(ledger: Ledger, reviewed: Sequence[Judged]) -> dict[EntryId, float]:
    """π of each reviewed record that a keel round drew (not as gold), from the first round
    named by its expert verdicts."""
    rounds: dict[str, Round | None] = {}
    out: dict[EntryId, float] = {}
    for j in reviewed:
        for v in j.expert:
            if v.round is None or j.id in out:
                continue
            if v.round not in rounds:
                entry = ledger.locate(v.round).entry
                rounds[v.round] = entry if isinstance(entry, Round) else None
            r = rounds[v.round]
            item = None if r is None else next((i for i in r.items if i.record == j.id), None)
            if item is not None and item.reason != "gold":
                out[j.id] = item.p
    return out


def _uniform(j: Judged) -> bool:
    """Reviewed without being chosen for it: no expert verdict says the record was targeted,
    gold, or imported from a tool whose sampling keel cannot know."""
    return not any(
        (v.rubric or "") in _TARGETED or (v.rubric or "").startswith("keel-import/")
        for v in j.expert
    )


def anchors(
    ledger: Ledger,
    reviewed: Sequence[Judged],
    population: int,
    *,
    weighted: bool = True,
    everything: bool = False,
    reputation: Mapping[str, float] | None = None,
) -> Anchors:
    """The anchors among `reviewed` (synthetic records of one generation with AI and expert
    verdicts), `population` the generation's synthetic records. `weighted`: round-drawn and
    uniform anchors with their design weights; else the uniform ones only, weight 1 each;
    `everything`: every reviewed record, weight 1 (module docstring)."""
    rep = reputation or {}
    pi = round_inclusion(ledger, reviewed) if weighted and not everything else {}
    uniform = [j for j in reviewed if j.id not in pi and _uniform(j)]
    u_weight = population / len(uniform) if uniform else 1.0
    chosen: list[tuple[Judged, bool, float]] = []
    for j in reviewed:
        decided = standing(j, rep)
        if decided is None:
            continue
        if everything:
            chosen.append((j, decided, 1.0))
        elif j.id in pi:
            chosen.append((j, decided, 1.0 / pi[j.id]))
        elif _uniform(j):
            chosen.append((j, decided, u_weight if weighted else 1.0))
    return Anchors(
        tuple(c[0] for c in chosen), tuple(c[1] for c in chosen), tuple(c[2] for c in chosen)
    )
