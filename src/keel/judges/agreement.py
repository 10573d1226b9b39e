"""Chance-corrected agreement from sums, so that one formula serves the point value and every
bootstrap resample (arrays broadcast over a leading resample axis).

Binary ratings: p_o is observed agreement, p_j and p_h the two raters' acceptance rates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from keel.judges.stats import safe_div

Floats = npt.NDArray[np.float64]


def _chance_corrected(p_o: Floats, p_e: Floats) -> Floats:
    return safe_div(p_o - p_e, 1 - p_e)


def cohen_kappa(tp: Floats, fp: Floats, fn: Floats, tn: Floats) -> Floats:
    """Cohen's κ = (p_o - p_e)/(1 - p_e), p_e = p_j·p_h + (1-p_j)(1-p_h) (Cohen 1960,
    Educ. Psychol. Meas. 20:37)."""
    n = tp + fp + fn + tn
    p_o, p_j, p_h = safe_div(tp + tn, n), safe_div(tp + fp, n), safe_div(tp + fn, n)
    return _chance_corrected(p_o, p_j * p_h + (1 - p_j) * (1 - p_h))


def scott_pi(tp: Floats, fp: Floats, fn: Floats, tn: Floats) -> Floats:
    """Scott's π: p_e = m² + (1-m)² with m = (p_j + p_h)/2, the pooled acceptance rate
    (Scott 1955, Public Opinion Quarterly 19:321)."""
    n = tp + fp + fn + tn
    m = safe_div(2 * tp + fp + fn, 2 * n)
    return _chance_corrected(safe_div(tp + tn, n), m * m + (1 - m) * (1 - m))


def gwet_ac1(tp: Floats, fp: Floats, fn: Floats, tn: Floats) -> Floats:
    """Gwet's AC1 for two categories: p_e = 2·m(1-m) with m the pooled acceptance rate
    (Gwet 2008, Br. J. Math. Stat. Psychol. 61:29); stays stable when one class dominates."""
    n = tp + fp + fn + tn
    m = safe_div(2 * tp + fp + fn, 2 * n)
    return _chance_corrected(safe_div(tp + tn, n), 2 * m * (1 - m))


def weighted_kappa(table: Floats) -> Floats:
    """Quadratic-weighted κ from a KxK contingency table (last two axes: judge, human):
    1 - Σ w·O / Σ w·E with w_ab = (a-b)²/(K-1)² and E the outer product of the marginals
    (Cohen 1968, Psychol. Bull. 70:213)."""
    k = table.shape[-1]
    a = np.arange(k, dtype=np.float64)
    w = (a[:, None] - a[None, :]) ** 2 / max(1, (k - 1) ** 2)
    n = table.sum(axis=(-2, -1))
    rows, cols = table.sum(axis=-1), table.sum(axis=-2)
    expected = safe_div(rows[..., :, None] * cols[..., None, :], n[..., None, None])
    return 1 - safe_div((w * table).sum(axis=(-2, -1)), (w * expected).sum(axis=(-2, -1)))


def krippendorff_features(ones: Floats, ratings: Floats) -> dict[str, Floats]:
    """Per-unit sums for binary Krippendorff's alpha from each unit's number of ratings and
    how many of them are 1 (a unit's ratings matter only through these two counts).

    A unit with m ≥ 2 ratings, n1 of them 1, adds n1 and m - n1 to the value counts and
    2·n1(m - n1)/(m - 1) to the disagreeing coincidences (Krippendorff 2011, "Computing
    Krippendorff's alpha-reliability", coincidence-matrix form).
    """
    pairable = ratings >= 2
    n1 = np.where(pairable, ones, 0.0)
    n0 = np.where(pairable, ratings - ones, 0.0)
    disagree = safe_div(2 * n1 * n0, ratings - 1)
    return {"alpha_n1": n1, "alpha_n0": n0, "alpha_d": np.nan_to_num(disagree)}


def krippendorff_alpha(n1: Floats, n0: Floats, disagree: Floats) -> Floats:
    """Binary nominal alpha = 1 - D_o/D_e = 1 - (n - 1)·o₀₁ / (2·n₀·n₁), n = n₀ + n₁ pairable values
    and o₀₁ + o₁₀ = `disagree` (Krippendorff 2011)."""
    n = n0 + n1
    return 1 - safe_div((n - 1) * disagree, 2 * n0 * n1)


def effective_judges(n: Floats, e: Floats, ee: Floats) -> tuple[Floats, Floats]:
    """Mean error correlation rho across judge pairs and the effective number of independent
    judges J / (1 + (J - 1)·rho) (Kish 1965 design effect for equicorrelated measurements).

    `n` counts items, `e[..., j]` sums judge j's error and `ee[..., j, k]` the products.
    """
    j = e.shape[-1]
    mean = safe_div(e, n[..., None])
    cov = safe_div(ee, n[..., None, None]) - mean[..., :, None] * mean[..., None, :]
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    denom = np.sqrt(np.clip(var[..., :, None] * var[..., None, :], 0, None))
    corr = safe_div(cov, denom)
    off = ~np.eye(j, dtype=bool)
    pairs = corr[..., off]
    with np.errstate(invalid="ignore"):
        counted = (~np.isnan(pairs)).sum(axis=-1)
        rho = safe_div(np.nansum(pairs, axis=-1), counted.astype(np.float64))
    return rho, safe_div(np.full_like(rho, float(j)), 1 + (j - 1) * rho)
