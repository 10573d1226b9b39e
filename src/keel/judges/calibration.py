"""Calibration of judge scores against binary human labels: curve, ECE and Brier score.

Scores already in [0, 1] are read as probabilities of "acceptable"; other scales are mapped
to [0, 1] by the judge's observed minimum and maximum. Bins are (b/B, (b+1)/B], the first
one closed at 0 (as scikit-learn's `calibration_curve` with the uniform strategy).
"""

from __future__ import annotations

import numpy as np

from keel.judges.stats import Floats, Sums, safe_div


def score_bins(bins: int) -> Floats:
    """Bin edges 0, 1/B, ..., 1."""
    return np.linspace(0.0, 1.0, bins + 1)


def unit_scores(scores: Floats) -> Floats:
    """Each judge's scores (axis 0) on [0, 1]: unchanged when already there, else min-max."""
    out = scores.copy()
    for j in range(scores.shape[0]):
        s = scores[j]
        if np.isnan(s).all():
            continue
        lo, hi = np.nanmin(s), np.nanmax(s)
        if lo < 0 or hi > 1:
            out[j] = (s - lo) / (hi - lo) if hi > lo else np.where(np.isnan(s), np.nan, 0.5)
    return out


def calibration_features(scores: Floats, human: Floats, bins: int) -> dict[str, Floats]:
    """Per-item sums for calibration: counts, squared errors, and per-bin n, Σscore, Σlabel."""
    s = unit_scores(scores)  # (J, N, R)
    ok = ~np.isnan(s) & ~np.isnan(human)[None, :, None]
    y = np.broadcast_to(np.nan_to_num(human)[None, :, None], s.shape)
    s0 = np.where(ok, s, 0.0)
    b = np.clip(np.searchsorted(score_bins(bins)[1:-1], s0, side="left"), 0, bins - 1)
    onehot = (b[..., None] == np.arange(bins)) & ok[..., None]  # (J, N, R, bins)
    per_bin = np.stack(
        [onehot.sum(2), (onehot * s0[..., None]).sum(2), (onehot * y[..., None]).sum(2)], axis=-1
    )  # (J, N, bins, 3)
    return {
        "cal_n": ok.sum(2).T.astype(np.float64),
        "cal_sq": np.where(ok, (s0 - y) ** 2, 0.0).sum(2).T,
        "cal_bins": per_bin.transpose(1, 0, 2, 3).astype(np.float64),
    }


def calibration_figures(s: Sums) -> dict[str, Floats]:
    """Brier = mean (score - label)² (Brier 1950, Mon. Weather Rev. 78:1);
    ECE = Σ_b (n_b/n)·|mean score_b - share accepted_b| (Naeini et al. 2015, AAAI)."""
    n = s["cal_n"]
    nb, sb, yb = (s["cal_bins"][..., k] for k in range(3))
    mean_score, accepted = safe_div(sb, nb), safe_div(yb, nb)
    gap = np.where(nb > 0, np.abs(np.nan_to_num(mean_score - accepted)), 0.0)
    return {
        "cal_n": n,
        "brier": safe_div(s["cal_sq"], n),
        "ece": safe_div((nb * gap).sum(axis=-1), n),
        "cal_bin_n": nb,
        "cal_mean_score": mean_score,
        "cal_accepted": accepted,
    }
