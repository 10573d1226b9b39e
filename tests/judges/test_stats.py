"""The bootstrap over distinct rows: exact compression, both ways of drawing counts, and the
same intervals as a plain item-level bootstrap within Monte Carlo error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from judge_tables import synthetic

from keel.judges import audit
from keel.judges.agreement import cohen_kappa
from keel.judges.stats import Floats, Sums, bootstrap, distinct_rows, resample_counts


def test_distinct_rows_counts_each_combination_with_nan_as_a_value() -> None:
    a = np.array([1.0, np.nan, 1.0, 0.0, np.nan, 1.0])
    b = np.array([2, 3, 2, 2, 3, 5])
    rows, weights = distinct_rows([a, b])
    filled = np.nan_to_num(a, nan=-1.0)
    combos = sorted(zip(filled[rows].tolist(), b[rows].tolist(), weights.tolist(), strict=True))
    assert combos == [(-1.0, 3, 2), (0.0, 2, 1), (1.0, 2, 2), (1.0, 5, 1)]
    scores = np.array([0.25, 0.5, 0.25, 1 / 3])
    rows, weights = distinct_rows([scores])
    pairs = sorted(zip(scores[rows].tolist(), weights.tolist(), strict=True))
    assert pairs == [(0.25, 2), (1 / 3, 1), (0.5, 1)]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_distinct_rows_ignore_row_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cols = [rng.integers(0, 3, 50).astype(float), rng.integers(-1, 4, 50)]
    cols[0][rng.random(50) < 0.2] = np.nan
    perm = rng.permutation(50)
    r1, w1 = distinct_rows(cols)
    r2, w2 = distinct_rows([c[perm] for c in cols])
    np.testing.assert_array_equal(w1, w2)
    for c in cols:
        np.testing.assert_array_equal(c[r1], c[perm][r2])


@pytest.mark.parametrize("n_patterns", [5, 900])  # multinomial over patterns; draws per item
def test_counts_have_the_item_bootstrap_moments(n_patterns: int) -> None:
    """Counts per pattern of n items drawn with replacement: mean w, variance n·p(1-p),
    covariance -n·p·q (p = w/n), whichever way they are drawn."""
    weights = np.resize(np.array([1, 2, 3], np.int64), n_patterns)
    n = int(weights.sum())
    counts = np.concatenate(list(resample_counts(weights, 4000, seed=1)))
    assert counts.shape == (4000, n_patterns) and (counts.sum(axis=1) == n).all()
    p = weights / n
    head = counts[:, :5]
    se = np.sqrt(n * p[:5] * (1 - p[:5]) / 4000)
    assert np.abs(head.mean(axis=0) - weights[:5]).max() < 5 * se.max()
    np.testing.assert_allclose(head.var(axis=0), n * p[:5] * (1 - p[:5]), rtol=0.1)
    cov = np.cov(head[:, 0], head[:, 1])[0, 1]
    assert cov == pytest.approx(-n * p[0] * p[1], rel=0.15, abs=0.05)


def _accuracy_and_kappa(s: Sums) -> dict[str, Floats]:
    tp, fp, fn, tn = (s["cells"][..., k] for k in range(4))
    return {"accuracy": (tp + tn) / (tp + fp + fn + tn), "kappa": cohen_kappa(tp, fp, fn, tn)}


def test_weighted_rows_give_the_same_intervals_as_the_rows_they_stand_for() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, 300)
    cells = np.eye(4)[codes]
    _, first, counts = np.unique(codes, return_index=True, return_counts=True)
    order = np.argsort(first)  # patterns are numbered in the order they first occur
    rows, weights = first[order], counts[order]
    full = bootstrap({"cells": cells}, _accuracy_and_kappa, n_resamples=500, seed=4)
    short = bootstrap({"cells": cells[rows]}, _accuracy_and_kappa, weights=weights,
                      n_resamples=500, seed=4)  # fmt: skip
    for k in ("accuracy", "kappa"):
        assert full.value[k] == short.value[k]
        assert (full.lo[k], full.hi[k]) == pytest.approx((short.lo[k], short.hi[k]))


def test_compressed_bootstrap_matches_a_plain_item_bootstrap() -> None:
    """κ's interval from the audit (4 patterns per judge) against fancy-indexed item resamples:
    the same point value, the same bounds within Monte Carlo error."""
    t = synthetic(n=400, judges=1, seed=9)
    a = audit(t, n_resamples=4000, seed=2).profiles[0].figures["kappa"]
    v, h = t.verdicts[0, :, 0], t.human
    rng = np.random.default_rng(7)
    idx = rng.integers(0, v.size, (4000, v.size))
    vv, hh = v[idx], h[idx]
    cells = [((vv == x) & (hh == y)).sum(axis=1).astype(float) for x, y in
             ((1, 1), (1, 0), (0, 1), (0, 0))]  # fmt: skip
    ref = cohen_kappa(*cells)
    point = cohen_kappa(*(np.array([float(((v == x) & (h == y)).sum())]) for x, y in
                          ((1, 1), (1, 0), (0, 1), (0, 0))))  # fmt: skip
    assert a.value == pytest.approx(float(point[0]), abs=1e-12)
    lo, hi = np.quantile(ref, [0.025, 0.975])
    spread = hi - lo
    assert a.lo == pytest.approx(lo, abs=0.05 * spread)
    assert a.hi == pytest.approx(hi, abs=0.05 * spread)


def test_continuous_features_fall_back_to_item_draws_with_the_same_distribution() -> None:
    """Unique rows (continuous values) take the item-level path; its interval of a mean matches
    the normal-theory one."""
    rng = np.random.default_rng(3)
    x = rng.random(2000)
    boot = bootstrap(
        {"x": x, "n": np.ones(2000)},
        lambda s: {"mean": s["x"] / s["n"]},
        n_resamples=2000,
        seed=5,
    )
    half = 1.96 * x.std() / np.sqrt(x.size)
    assert boot.value["mean"] == pytest.approx(x.mean())
    assert boot.lo["mean"] == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert boot.hi["mean"] == pytest.approx(x.mean() + half, abs=0.1 * half)
