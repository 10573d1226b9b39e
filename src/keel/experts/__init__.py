"""Expert review: real reviewers in rounds on the ledger, the simulated panel, reputation.

- Rounds (`rounds.py`): enrol reviewers, open a round (a sample drawn with known inclusion
  probabilities, reviewers assigned, gold answers committed), decide (signed verdicts), close
  (gold revealed); `reputation_of` recomputes every reviewer's reputation from the log.
- The web app people review in: `keel.experts.web` (the `[web]` extra); who may log in:
  `access.py`.
- The loop's expert step (`review.py`): `Reviewer` is the interface, `SimulatedPanel` a panel
  answering from a known ground truth with an error rate, plainly labelled simulated;
  `choose_for_review` and `review_generation` run it on a ledger.
- Reputation (`reputation.py`): gold accuracy, Dawid–Skene, peer prediction, agreement.
- Reviews made in Argilla or Label Studio, logged as expert verdicts (`imports.py`).

The package loads its modules on first use (`keel._lazy`): they bring numpy and scipy.
"""

from typing import TYPE_CHECKING

from keel._lazy import lazy

if TYPE_CHECKING:
    from keel.experts.access import Access, Person, Session, access_path
    from keel.experts.imports import (
        ImportedReview,
        ImportRefusedError,
        ImportReport,
        import_reviews,
        read_export,
    )
    from keel.experts.reputation import Reputation, Review, ReviewerScore, reputation
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
    from keel.experts.rounds import (
        Drawn,
        Opened,
        RoundState,
        assign,
        close_round,
        decision,
        draw,
        enrol,
        enrolments,
        inclusion_probabilities,
        load_round,
        open_round,
        reputation_of,
        rounds,
        sign,
        submit,
    )
    from keel.experts.votes import ai_vote, votes

__all__ = [
    "RUBRIC_PREFIX",
    "Access",
    "Decision",
    "Drawn",
    "ImportRefusedError",
    "ImportReport",
    "ImportedReview",
    "Opened",
    "Person",
    "Reputation",
    "Review",
    "ReviewItem",
    "ReviewOutcome",
    "ReviewReason",
    "ReviewSample",
    "Reviewer",
    "ReviewerScore",
    "RoundState",
    "Session",
    "SimulatedPanel",
    "Truth",
    "access_path",
    "ai_vote",
    "assign",
    "choose_for_review",
    "close_round",
    "decision",
    "decision_verdicts",
    "draw",
    "enrol",
    "enrolments",
    "import_reviews",
    "inclusion_probabilities",
    "load_round",
    "open_round",
    "read_export",
    "reputation",
    "reputation_of",
    "review_generation",
    "rounds",
    "sign",
    "submit",
    "uncertainty",
    "votes",
]

lazy(
    __name__,
    {
        "access": ("Access", "Person", "Session", "access_path"),
        "imports": (
            "ImportRefusedError",
            "ImportReport",
            "ImportedReview",
            "import_reviews",
            "read_export",
        ),
        "reputation": ("Reputation", "Review", "ReviewerScore", "reputation"),
        "review": (
            "RUBRIC_PREFIX",
            "Decision",
            "Reviewer",
            "ReviewItem",
            "ReviewOutcome",
            "ReviewReason",
            "ReviewSample",
            "SimulatedPanel",
            "Truth",
            "choose_for_review",
            "decision_verdicts",
            "review_generation",
            "uncertainty",
        ),
        "rounds": (
            "Drawn",
            "Opened",
            "RoundState",
            "assign",
            "close_round",
            "decision",
            "draw",
            "enrol",
            "enrolments",
            "inclusion_probabilities",
            "load_round",
            "open_round",
            "reputation_of",
            "rounds",
            "sign",
            "submit",
        ),
        "votes": ("ai_vote", "votes"),
    },
)
