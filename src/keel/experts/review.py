"""The expert step: choose a budgeted sample of a generation, have it reviewed, log the verdicts.

`Reviewer` is the interface (a batch of items in, one decision per item out); `SimulatedPanel`
is the one implementation here, a panel answering from a known ground truth with a set error
rate, whose ids and rationales say that it is simulated. A real review interface implements
the same protocol.

Choosing the sample (`choose_for_review`): a share `random_share` of the budget (at least one
item) is drawn uniformly at random; the rest goes to the items with the highest uncertainty

    u_i = 1 − |Σ_j w_j·(2·v_ij − 1)| / J,   w_j = max(2·r_j − 1, 0),

where v_ij is judge j's vote on item i (1 accept, 0 reject; a missing vote counts 0 in the sum),
r_j the judge's reliability from the audit (e.g. balanced accuracy; 1 by default) and J the
number of judges. u is 0 when every reliable judge agrees, 1 when they split evenly, and grows
as judges become less reliable (a judge at chance, r = ½, carries no weight), so one formula
covers "where judges disagree most" and "where they are least reliable" (uncertainty sampling,
Lewis & Gale 1994). The random share is what keeps the anchors unbiased: a correction such as
PPI++ (Angelopoulos et al. 2023) or a precision bound on the anchors is valid only for anchors
drawn at random from the pool, and targeted items over-represent the hard cases. Each expert
verdict records why its item was chosen in its rubric (``keel-review/random`` or
``keel-review/uncertain``), so that mixing can use the random anchors alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from keel.errors import ConfigError, InputError
from keel.experts.votes import Floats, votes
from keel.ledger import ACCEPT, DEGENERATE, REJECT, Appended, Ledger, Snapshot, texts
from keel.records import EntryId, Verdict, verdict

ReviewReason = Literal["random", "uncertain"]
Truth = Literal["accept", "reject", "degenerate"]
RUBRIC_PREFIX = "keel-review/"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A record sent to review: its id, text, why it was chosen and its uncertainty u."""

    record: EntryId
    text: str
    reason: ReviewReason
    uncertainty: float


@dataclass(frozen=True, slots=True)
class Decision:
    """An expert's decision on one item: adopt or reject, an optional corrected label (the label
    ``degenerate`` flags the record's descendants for pruning), a rationale and who decided."""

    record: EntryId
    adopt: bool
    reviewer: str
    rationale: str
    label: str | None = None


class Reviewer(Protocol):
    """Anything that reviews a batch of items and returns one decision per item."""

    def review(self, items: Sequence[ReviewItem]) -> list[Decision]: ...


def _unit(seed: int, salt: str, record: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, salt, record): the same item always gets the
    same answer, whatever batch it comes in (so a resumed run decides identically)."""
    digest = hashlib.sha256(f"{seed}:{salt}:{record}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True, slots=True)
class SimulatedPanel:
    """A SIMULATED expert panel: each answer is the ground truth `truth(item)`, flipped with
    probability `error_rate` (accept <-> reject; a flipped degenerate item is adopted), and
    attributed to one of `size` simulated reviewers. Deterministic per (seed, record)."""

    truth: Callable[[ReviewItem], Truth]
    error_rate: float = 0.05
    size: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ConfigError(f"the panel's error_rate must be in [0, 1], got {self.error_rate}")
        if self.size < 1:
            raise ConfigError(f"the panel needs at least 1 reviewer, got size={self.size}")

    def review(self, items: Sequence[ReviewItem]) -> list[Decision]:
        out = []
        for item in items:
            truth = self.truth(item)
            if truth not in (ACCEPT, REJECT, DEGENERATE):
                raise InputError(
                    f"ground truth for {item.record} must be accept, reject or degenerate, "
                    f"got {truth!r}"
                )
            wrong = _unit(self.seed, "error", item.record) < self.error_rate
            adopt = (truth == ACCEPT) != wrong
            label = ACCEPT if adopt else (truth if truth != ACCEPT else REJECT)
            who = 1 + int(_unit(self.seed, "reviewer", item.record) * self.size)
            out.append(
                Decision(
                    item.record,
                    adopt,
                    f"simulated-expert-{who}",
                    f"SIMULATED review, not a human judgement: answered {label} from the known "
                    f"ground truth with a {self.error_rate:g} error rate (panel seed {self.seed})",
                    label,
                )
            )
        return out


# -- choosing the sample ---------------------------------------------------------------------
def uncertainty(votes: Floats, reliability: Floats | None = None) -> Floats:
    """u_i = 1 − |Σ_j w_j·(2·v_ij − 1)| / J with w_j = max(2·r_j − 1, 0) (module docstring);
    `votes` is (judges × items), NaN where a judge gave no vote."""
    n_judges = votes.shape[0]
    if n_judges == 0:
        return np.ones(votes.shape[1])
    r = np.ones(n_judges) if reliability is None else np.asarray(reliability, dtype=np.float64)
    if r.shape != (n_judges,) or np.any((r < 0) | (r > 1)):
        raise InputError(f"give one reliability in [0, 1] per judge ({n_judges}), got {r}")
    w = np.maximum(2 * r - 1, 0.0)
    margin = np.nan_to_num(2 * votes - 1) * w[:, None]
    out: Floats = 1 - np.abs(margin.sum(axis=0)) / n_judges
    return out


@dataclass(frozen=True, slots=True)
class ReviewSample:
    """Positions chosen (into the candidates), why each was chosen, and every candidate's u."""

    positions: tuple[int, ...]
    reasons: tuple[ReviewReason, ...]
    uncertainty: Floats = field(repr=False)


def choose_for_review(
    votes: Floats,
    budget: int,
    *,
    reliability: Floats | None = None,
    random_share: float = 0.25,
    seed: int = 0,
) -> ReviewSample:
    """`budget` items of the (judges × items) `votes`: ceil(random_share·budget) at random (at
    least 1), the rest by decreasing uncertainty (ties in random order)."""
    if budget < 0:
        raise InputError(f"the review budget must be ≥ 0, got {budget}")
    if not 0.0 < random_share <= 1.0:
        raise ConfigError(f"random_share must be in (0, 1], got {random_share}")
    u = uncertainty(votes, reliability)
    n = u.size
    budget = min(budget, n)
    rng = np.random.default_rng(seed)
    n_random = min(budget, max(1, math.ceil(random_share * budget))) if budget else 0
    chosen = rng.choice(n, n_random, replace=False) if n_random else np.zeros(0, np.int64)
    rest = np.setdiff1d(np.arange(n), chosen)
    order = rest[np.lexsort((rng.random(rest.size), -u[rest]))][: budget - n_random]
    positions = [int(i) for i in chosen] + [int(i) for i in order]
    random_: list[ReviewReason] = ["random"] * n_random
    uncertain: list[ReviewReason] = ["uncertain"] * len(order)
    return ReviewSample(tuple(positions), (*random_, *uncertain), u)


# -- the step on a ledger --------------------------------------------------------------------
def decision_verdicts(
    items: Sequence[ReviewItem], decisions: Sequence[Decision]
) -> list[tuple[Verdict, bytes | None]]:
    """Expert verdict entries for decisions: label (corrected label, else accept/reject), score
    1 adopt / 0 reject, the rationale as payload, and the rubric ``keel-review/<reason>``."""
    reason = {i.record: i.reason for i in items}
    out = []
    for d in decisions:
        if d.record not in reason:
            raise InputError(f"the reviewer decided on {d.record}, which was not sent to review")
        out.append(
            verdict(
                d.record,
                d.reviewer,
                "expert",
                label=d.label or (ACCEPT if d.adopt else REJECT),
                score=1.0 if d.adopt else 0.0,
                rubric=RUBRIC_PREFIX + reason[d.record],
                rationale=d.rationale,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """What one expert step did: the items sent, the decisions, the verdicts appended."""

    generation: int | None
    already_reviewed: int
    items: tuple[ReviewItem, ...]
    decisions: tuple[Decision, ...]
    appended: tuple[Appended, ...]


def review_generation(
    ledger: Ledger,
    reviewer: Reviewer,
    *,
    budget: int,
    generation: int | None = None,
    reliability: Mapping[str, float] | None = None,
    random_share: float = 0.25,
    seed: int = 0,
    snapshot: Snapshot | None = None,
) -> ReviewOutcome:
    """Send up to `budget` synthetic records of `generation` (all generations when None) to
    `reviewer` and log the decisions as expert verdicts. Records already reviewed count
    against the budget, so re-running a finished step adds nothing (resumable). `snapshot`,
    an earlier snapshot of the ledger, saves reading the entries it already holds."""
    snap = Snapshot.load(ledger, snapshot)
    scope = [
        j
        for j in snap.records
        if j.record.origin == "synthetic"
        and (generation is None or j.record.generation == generation)
    ]
    done = sum(1 for j in scope if j.adopted is not None)
    fresh = [j for j in scope if j.adopted is None]
    text = texts(ledger, fresh)
    fresh = [j for j, t in zip(fresh, text, strict=True) if t is not None]
    text_of = {j.id: t for j, t in zip(fresh, text, strict=True) if t is not None}
    judges = snap.judges(fresh)
    v, _ = votes(fresh, judges)
    rel = None
    if reliability is not None:
        missing = [name for name in judges if name not in reliability]
        if missing:
            raise InputError(f"no reliability given for judge(s) {', '.join(missing)}")
        rel = np.array([reliability[name] for name in judges])
    sample = choose_for_review(
        v, max(budget - done, 0), reliability=rel, random_share=random_share, seed=seed
    )
    items = tuple(
        ReviewItem(fresh[p].id, text_of[fresh[p].id], why, float(sample.uncertainty[p]))
        for p, why in zip(sample.positions, sample.reasons, strict=True)
    )
    decisions = tuple(reviewer.review(items)) if items else ()
    if len(decisions) != len(items):
        raise InputError(f"the reviewer returned {len(decisions)} decisions for {len(items)} items")
    appended = tuple(ledger.append(decision_verdicts(items, decisions))) if decisions else ()
    return ReviewOutcome(generation, done, items, decisions, appended)
