"""The expert step: a budgeted review sample per generation, decisions logged as verdicts.

`Reviewer` is the interface; `SimulatedPanel` the one implementation here (answers from a
known ground truth with an error rate, plainly labelled simulated). `choose_for_review` picks
where judges disagree or are least reliable, plus a random share that keeps anchors unbiased;
`review_generation` runs the step on a ledger. `Snapshot` is the ledger's records with their
AI and expert verdicts, shared with `keel.mix`.
"""

from keel.experts.review import (
    RUBRIC_PREFIX,
    Decision,
    Reviewer,
    ReviewItem,
    ReviewOutcome,
    ReviewReason,
    ReviewSample,
    SimulatedPanel,
    Truth,
    choose_for_review,
    decision_verdicts,
    review_generation,
    uncertainty,
)
from keel.experts.snapshot import (
    ACCEPT,
    DEGENERATE,
    REJECT,
    Judged,
    Snapshot,
    ai_vote,
    expert_decision,
    texts,
    votes,
)

__all__ = [
    "ACCEPT",
    "DEGENERATE",
    "REJECT",
    "RUBRIC_PREFIX",
    "Decision",
    "Judged",
    "ReviewItem",
    "ReviewOutcome",
    "ReviewReason",
    "ReviewSample",
    "Reviewer",
    "SimulatedPanel",
    "Snapshot",
    "Truth",
    "ai_vote",
    "choose_for_review",
    "decision_verdicts",
    "expert_decision",
    "review_generation",
    "texts",
    "uncertainty",
    "votes",
]
