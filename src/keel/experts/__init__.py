"""The expert step: a budgeted review sample per generation, decisions logged as verdicts.

`Reviewer` is the interface; `SimulatedPanel` the one implementation here (answers from a
known ground truth with an error rate, plainly labelled simulated). `choose_for_review` picks
where judges disagree or are least reliable, plus a random share that keeps anchors unbiased;
`review_generation` runs the step on a ledger (whose records and verdicts it reads through
`keel.ledger.Snapshot`).
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
from keel.experts.votes import ai_vote, votes

__all__ = [
    "RUBRIC_PREFIX",
    "Decision",
    "ReviewItem",
    "ReviewOutcome",
    "ReviewReason",
    "ReviewSample",
    "Reviewer",
    "SimulatedPanel",
    "Truth",
    "ai_vote",
    "choose_for_review",
    "decision_verdicts",
    "review_generation",
    "uncertainty",
    "votes",
]
