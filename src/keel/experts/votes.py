"""AI verdicts as votes: the judges × records matrices that review sampling and mixing read."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from keel.ledger import ACCEPT, REJECT, Judged
from keel.records import Verdict

Floats = npt.NDArray[np.float64]


def ai_vote(v: Verdict) -> float:
    """An AI verdict as a vote: 1.0 accept, 0.0 reject, NaN for any other label."""
    label = (v.label or "").strip().lower()
    return 1.0 if label == ACCEPT else 0.0 if label == REJECT else float("nan")


def votes(items: Sequence[Judged], judges: Sequence[str]) -> tuple[Floats, Floats]:
    """(judges × items) AI votes (1/0/NaN) and scores (NaN where none); a judge's latest verdict
    on an item stands."""
    row = {name: k for k, name in enumerate(judges)}
    v = np.full((len(judges), len(items)), np.nan)
    s = np.full((len(judges), len(items)), np.nan)
    for i, item in enumerate(items):
        for verdict in item.ai:
            k = row.get(verdict.judge)
            if k is not None:
                v[k, i] = ai_vote(verdict)
                s[k, i] = np.nan if verdict.score is None else verdict.score
    return v, s
