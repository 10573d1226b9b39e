"""Correction with human anchors, checked against ppi-python, truescore and crowd-kit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import truescore
from crowdkit.aggregation import DawidSkene as CrowdDS
from judge_tables import synthetic
from ppi_py import ppi_mean_ci, ppi_mean_pointestimate

from keel.errors import InputError
from keel.judges import (
    JudgeTable,
    anchor_budget,
    choose_rule,
    correction,
    dawid_skene,
    ppi_mean,
    rogan_gladen,
)


def split(
    seed: int = 0, n_anchor: int = 150, n_pool: int = 3000, fpr: float = 0.35
) -> tuple[np.ndarray, ...]:
    """Anchor labels and verdicts, pool verdicts and the pool's hidden labels."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n_anchor + n_pool) < 0.65).astype(float)
    f = np.where(y == 1, rng.random(y.size) < 0.9, rng.random(y.size) < fpr).astype(float)
    return y[:n_anchor], f[:n_anchor], f[n_anchor:], y[n_anchor:]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ppi_matches_ppi_python(seed: int) -> None:
    y, f, fu, _ = split(seed)
    got = ppi_mean(y, f, fu)
    assert got.estimate is not None
    lo, hi = ppi_mean_ci(y, f, fu, alpha=0.05)
    point = ppi_mean_pointestimate(y, f, fu)
    assert got.estimate.value == pytest.approx(float(np.ravel(point)[0]), rel=1e-9)
    assert (got.estimate.lo, got.estimate.hi) == pytest.approx(
        (float(np.ravel(lo)[0]), float(np.ravel(hi)[0])), rel=1e-9
    )


def test_rogan_gladen_matches_truescore_and_refuses_a_chance_judge() -> None:
    y, f, fu, _ = split(3)
    got = rogan_gladen(y, f, fu)
    ref = truescore.rogan_gladen_estimate(
        np.concatenate([f, fu]).astype(int), y.astype(int), np.arange(y.size)
    )
    assert got.estimate is not None
    assert (got.estimate.value, got.estimate.lo, got.estimate.hi) == pytest.approx(
        (ref.point, ref.low, ref.high)
    )
    flipped = rogan_gladen(y, 1 - f, 1 - fu)
    assert flipped.estimate is None
    assert flipped.refused is not None and "Youden" in flipped.refused


def test_corrected_intervals_cover_the_truth_the_judge_misses() -> None:
    """Over 200 simulated pools, both intervals cover the true share about 95% of the time,
    while the lenient judge's raw acceptance rate is far off."""
    hits = {"ppi": 0, "rg": 0}
    for seed in range(200):
        y, f, fu, truth = split(seed, n_anchor=200, n_pool=5000, fpr=0.6)
        for key, share in (("ppi", ppi_mean(y, f, fu)), ("rg", rogan_gladen(y, f, fu))):
            assert share.estimate is not None
            hits[key] += share.estimate.lo <= truth.mean() <= share.estimate.hi
        assert fu.mean() - truth.mean() > 0.1
    assert hits["ppi"] >= 180 and hits["rg"] >= 180


def crowd(verdicts: np.ndarray) -> pd.DataFrame:
    rows = [
        {"task": i, "worker": f"w{j}", "label": int(verdicts[j, i])}
        for j in range(verdicts.shape[0])
        for i in range(verdicts.shape[1])
        if not np.isnan(verdicts[j, i])
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("anchored", [False, True])
def test_dawid_skene_matches_crowd_kit(anchored: bool) -> None:
    t = synthetic(n=300, judges=4, seed=7, missing=0.1)
    v = t.verdicts[:, :, 0]
    anchors = np.full(300, np.nan)
    if anchored:
        anchors[:40] = t.human[:40]
    ours = dawid_skene(v, anchors)
    gold = pd.Series(t.human[:40].astype(int), index=range(40)) if anchored else None
    model = CrowdDS(n_iter=100, tol=1e-5)
    model.fit(crowd(v), gold)
    probas = model.probas_.sort_index()
    seen = ~np.isnan(v).all(axis=0)
    np.testing.assert_allclose(ours.posterior[seen], probas[1].to_numpy(), atol=1e-6)
    if anchored:
        np.testing.assert_array_equal(ours.posterior[:40], t.human[:40])


@pytest.mark.parametrize(("target", "se", "sp"), [(0.02, 0.9, 0.8), (0.05, 0.7, 0.6)])
def test_anchor_budget_matches_truescore(target: float, se: float, sp: float) -> None:
    got = anchor_budget(5000, target=target, prevalence=0.6, sensitivity=se, specificity=sp)
    ref = truescore.required_gold_labels(
        5000, target_half_width=target, true_rate=0.6, sensitivity=se, specificity=sp
    )
    assert got.anchors == ref.required_gold
    assert got.half_width == pytest.approx(ref.achieved_half_width)
    assert got.without_judge == ref.gold_only_required


def test_budget_unreachable_says_so() -> None:
    got = anchor_budget(50, target=0.001, prevalence=0.5, sensitivity=0.9, specificity=0.9)
    assert got.anchors is None and got.half_width > 0.001


def test_rule_reaches_target_precision_with_a_lower_bound() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(2000) < 0.5).astype(float)
    strict = np.where(y == 1, rng.random(2000) < 0.6, rng.random(2000) < 0.02).astype(float)
    loose = np.where(y == 1, rng.random(2000) < 0.95, rng.random(2000) < 0.4).astype(float)
    v = np.stack([strict, loose])
    best, rules = choose_rule(("strict", "loose"), y[:1000], v[:, :1000], v[:, 1000:],
                              target_precision=0.9)  # fmt: skip
    assert best is not None and best.lower_bound >= 0.9
    assert "strict" in best.describe()
    assert all(r.lower_bound <= r.precision for r in rules if r.kept_anchors)
    none, _ = choose_rule(("loose",), y[:1000], v[1:, :1000], v[1:, 1000:],
                          target_precision=0.99)  # fmt: skip
    assert none is None


def test_score_thresholds_come_from_the_anchors_and_apply_to_the_pool() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(3000) < 0.5).astype(float)
    score = np.clip(0.3 * y + rng.normal(0.35, 0.15, 3000), 0, 1)[None, :]
    verdict = (score >= 0.5).astype(float)
    best, rules = choose_rule(
        ("scorer",), y[:500], verdict[:, :500], verdict[:, 500:], target_precision=0.85,
        anchor_scores=score[:, :500], pool_scores=score[:, 500:],
    )  # fmt: skip
    thresholds = [r for r in rules if r.kind == "threshold"]
    deciles = np.quantile(score[0, :500], [q / 10 for q in range(1, 10)], method="lower")
    assert sorted(r.value for r in thresholds) == sorted(np.unique(deciles).tolist())
    assert best is not None and best.kind == "threshold" and best.lower_bound >= 0.85
    kept = score[0, 500:] >= best.value
    assert y[500:][kept].mean() >= 0.85  # the pool's true precision holds too


def test_correction_on_real_data_covers_the_hidden_truth(triviaqa: JudgeTable) -> None:
    c = correction(triviaqa, anchor_sample=300, seed=1, target_precision=0.9)
    assert c.n_anchors == 300 and c.hidden_truth is not None
    covered = 0
    for j in c.judges:
        assert j.ppi.estimate is not None
        covered += j.ppi.estimate.lo <= c.hidden_truth <= j.ppi.estimate.hi
    assert covered >= 9
    assert abs(c.dawid_skene_share - c.hidden_truth) < 0.05
    assert c.rule is not None and c.rule.lower_bound >= 0.9


def test_correction_needs_anchors_and_a_pool() -> None:
    t = synthetic(n=50)
    with pytest.raises(InputError, match="at least 2 anchors"):
        correction(t)
    with pytest.raises(InputError, match="anchor-sample"):
        correction(t, anchor_sample=50)


def test_fully_labelled_data_points_to_anchor_sample(triviaqa: JudgeTable) -> None:
    """Every real row has a human label: no pool to correct, so the error says how to check
    the correction instead (hide all but N labels with --anchor-sample N)."""
    with pytest.raises(InputError) as caught:
        correction(triviaqa)
    message = str(caught.value)
    assert "every one of the 3600 items has a human label" in message
    assert "--anchor-sample N (2 to 3599)" in message
    small = synthetic(n=50)
    with pytest.raises(InputError, match=r"--anchor-sample N \(2 to 49\)"):
        correction(small)
