"""Scores: calibration curve, ECE and Brier against scikit-learn; weighted κ likewise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, cohen_kappa_score

from keel.judges import JudgeTable, audit


def scored(seed: int = 0, n: int = 500) -> JudgeTable:
    """One judge whose probability-like score rises with the human label."""
    rng = np.random.default_rng(seed)
    human = (rng.random(n) < 0.55).astype(float)
    score = np.clip(human * 0.5 + rng.random(n) * 0.6, 0, 1)[None, :, None]
    return JudgeTable(
        "scored", tuple(map(str, range(n))), ("s",), human, (score >= 0.5).astype(float),
        scores=score,
    )  # fmt: skip


def test_calibration_matches_sklearn() -> None:
    t = scored()
    p = audit(t, n_resamples=50).profiles[0]
    assert t.scores is not None
    s, y = t.scores[0, :, 0], t.human
    assert p.figures["brier"].value == pytest.approx(brier_score_loss(y, s))
    frac, mean = calibration_curve(y, s, n_bins=10, strategy="uniform")
    assert [b.accepted for b in p.calibration] == pytest.approx(frac.tolist())
    assert [b.mean_score for b in p.calibration] == pytest.approx(mean.tolist())
    counts = np.array([b.n for b in p.calibration])
    ece = float((counts * np.abs(frac - mean)).sum() / counts.sum())
    assert p.figures["ece"].value == pytest.approx(ece)
    assert p.figures["brier"].lo <= p.figures["brier"].value <= p.figures["brier"].hi


def test_weighted_kappa_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    n = 400
    hs = rng.integers(1, 6, n).astype(float)
    js = np.clip(hs + rng.integers(-1, 2, n), 1, 5)
    t = JudgeTable(
        "ordinal",
        tuple(map(str, range(n))),
        ("j",),
        (hs >= 3).astype(float),
        (js >= 3).astype(float)[None, :, None],
        scores=js[None, :, None],
        human_scores=hs,
    )
    p = audit(t, n_resamples=50).profiles[0]
    expected = cohen_kappa_score(js.astype(int), hs.astype(int), weights="quadratic")
    assert p.figures["weighted_kappa"].value == pytest.approx(expected)
