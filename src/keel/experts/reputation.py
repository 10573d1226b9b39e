"""Reviewer reputation that anyone can recompute from the ledger's decisions.

A pure function of the expert decisions (`Review`: reviewer, item, adopt, seconds) and the
round's gold items (item → the right decision); it reads no ledger and does no I/O. Figures
per reviewer (`ReviewerScore`):

- **gold accuracy**: correct/n on the gold items the reviewer decided, and its cautious bound
  `gold_lower`, the 5% quantile of the posterior Beta(1 + correct, 1 + wrong) of the accuracy
  under a uniform Beta(1, 1) prior (the Bayesian one-sided 95% lower bound; Gelman et al.,
  Bayesian Data Analysis, 3rd ed., §2.4). NaN without gold items.
- **Dawid–Skene accuracy** `ds_accuracy` = π·Se + (1 − π)·Sp, the prior-weighted mean of the
  reviewer's sensitivity and specificity from binary Dawid–Skene EM (Dawid & Skene 1979,
  Appl. Stat. 28:20; `keel.judges.correct.dawid_skene`), π the estimated share of items to
  adopt: the chance that the reviewer's decision equals the latent truth. EM runs over the
  items with overlap (≥ 2 decisions) plus the gold items, which are clamped to their gold
  decision (anchors). NaN for a reviewer with no decision on such an item.
- **peer**: the Correlated Agreement score (Shnayder, Agarwal, Frongillo & Parkes 2016,
  "Informed Truthfulness in Multi-Task Peer Prediction", EC'16) with binary signals. From
  every ordered pair of distinct reviewers on every item both decided, the pooled joint
  P(x, y) and marginals give Δ(x, y) = P(x, y) − P(x)·P(y) and the scoring matrix
  S(x, y) = 1 if Δ(x, y) > 0 else 0 (signs computed exactly, from integer counts). Reviewer
  i's score is the mean over its (item t, peer j) pairs of

      S(r_i(t), r_j(t)) − Σ_{x,y} S(x, y)·f_i(x)·f_j(y),

  f_i and f_j the label frequencies of i and j on their other items (all their decisions but
  t). The second term is the expected penalty of the mechanism's random penalty tasks, so the
  score has no random draw; it is near 0 for a reviewer whose decisions carry no information
  (a constant or a coin flip) and positive for an informative one. Pairs where either reviewer
  has no other item are left out; NaN when none remains.
- **median_seconds** over the decisions with a logged time, and **too_fast** when it is below
  `fast_seconds`: a first flag for a closer look, not a verdict (a reviewer may be fast on
  easy items).
- **weight** = max(2·a − 1, 0), a = `gold_lower` when the reviewer has gold items, else
  `ds_accuracy` (NaN → 0): the weighting keel's review sampler gives judges
  (`keel.experts.review.uncertainty`, w = max(2r − 1, 0)). 2a − 1 is the reviewer's margin over
  chance, so a reviewer at chance (a = ½) or worse carries no weight, and a perfect one 1.

Across reviewers (`Reputation`):

- **alpha**: Krippendorff's α for binary nominal data over every item with ≥ 2 decisions,
  α = 1 − (n − 1)·o₀₁/(2·n₀·n₁) in the coincidence-matrix form (Krippendorff 2011, "Computing
  Krippendorff's alpha-reliability"; `keel.judges.agreement.krippendorff_alpha`).
- **kappa**: Cohen's κ = (p_o − p_e)/(1 − p_e) for every pair of reviewers sharing at least
  `min_shared` items (Cohen 1960, Educ. Psychol. Meas. 20:37;
  `keel.judges.agreement.cohen_kappa`).

Determinism: the same entries give the same numbers. Reviewers and items are indexed in
sorted order of their ids (Python string order), so the order of `reviews` does not matter,
except that when one reviewer decided one item more than once the latest decision in the
sequence stands (the ledger's order, as in `keel.experts.votes`). Dawid–Skene starts from the
majority-vote shares and runs exactly `DS_ITERATIONS` EM steps (no convergence test), so a
reimplementation of the same steps gets the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from keel.errors import InputError
from keel.judges.agreement import cohen_kappa, krippendorff_alpha, krippendorff_features
from keel.judges.correct import dawid_skene
from keel.judges.stats import num, safe_div

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

DS_ITERATIONS = 50
"""Dawid–Skene EM steps, fixed (run with tol = −∞) so that the figures do not depend on a
stopping rule."""
GOLD_QUANTILE = 0.05
"""The quantile of the Beta posterior reported as `gold_lower`."""


@dataclass(frozen=True, slots=True)
class Review:
    """One expert decision as the ledger holds it."""

    reviewer: str
    item: str  # the record id reviewed
    adopt: bool  # accept (True) or reject/degenerate (False)
    seconds: float | None = None  # time the reviewer spent on it, when logged


@dataclass(frozen=True, slots=True)
class ReviewerScore:
    """One reviewer's figures (module docstring for each formula); NaN where undefined."""

    reviewer: str
    n: int
    gold_n: int
    gold_correct: int
    gold_accuracy: float
    gold_lower: float
    ds_accuracy: float
    peer: float
    median_seconds: float
    too_fast: bool
    weight: float

    def to_json(self) -> dict[str, object]:
        return {
            "reviewer": self.reviewer,
            "n": self.n,
            "gold_n": self.gold_n,
            "gold_correct": self.gold_correct,
            "gold_accuracy": num(self.gold_accuracy),
            "gold_lower": num(self.gold_lower),
            "ds_accuracy": num(self.ds_accuracy),
            "peer": num(self.peer),
            "median_seconds": num(self.median_seconds),
            "too_fast": self.too_fast,
            "weight": num(self.weight),
        }


@dataclass(frozen=True, slots=True)
class Reputation:
    """Every reviewer's score, and agreement across reviewers, computed from the first `covers`
    entries of the ledger."""

    covers: int
    reviewers: tuple[ReviewerScore, ...]
    alpha: float
    kappa: tuple[tuple[str, str, int, float], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "covers": self.covers,
            "alpha": num(self.alpha),
            "reviewers": [r.to_json() for r in self.reviewers],
            "kappa": [
                {"a": a, "b": b, "n_shared": n, "kappa": num(k)} for a, b, n, k in self.kappa
            ],
        }


# -- the one entry point ---------------------------------------------------------------------
def reputation(
    reviews: Sequence[Review],
    gold: Mapping[str, bool] = {},
    *,
    covers: int,
    fast_seconds: float = 3.0,
    min_shared: int = 10,
) -> Reputation:
    """Every reviewer's reputation from the decisions `reviews` and the gold decisions `gold`
    (item → adopt), as of a ledger of `covers` entries (module docstring for the figures)."""
    _check(reviews, gold, covers, fast_seconds, min_shared)
    d = _decisions(reviews, gold)
    gold_n, gold_correct = _gold_counts(d)
    lower = _gold_lower(gold_correct, gold_n)
    ds = _ds_accuracy(d)
    pair = _pair_counts(d)
    peer = _correlated_agreement(d, pair)
    medians = _median_seconds(d)
    gold_acc = safe_div(gold_correct.astype(np.float64), gold_n.astype(np.float64))
    a = np.nan_to_num(np.where(gold_n > 0, lower, ds), nan=0.0)
    weight = np.maximum(2 * a - 1, 0.0)
    scores = tuple(
        ReviewerScore(
            reviewer=name,
            n=int(d.n[i]),
            gold_n=int(gold_n[i]),
            gold_correct=int(gold_correct[i]),
            gold_accuracy=float(gold_acc[i]),
            gold_lower=float(lower[i]),
            ds_accuracy=float(ds[i]),
            peer=float(peer[i]),
            median_seconds=float(medians[i]),
            too_fast=bool(medians[i] < fast_seconds),
            weight=float(weight[i]),
        )
        for i, name in enumerate(d.reviewers)
    )
    return Reputation(covers, scores, _alpha(d), _kappas(d, pair, min_shared))


def _check(
    reviews: Sequence[Review],
    gold: Mapping[str, bool],
    covers: int,
    fast_seconds: float,
    min_shared: int,
) -> None:
    if len(reviews) == 0:
        raise InputError(
            "no reviews to score: reputation needs at least one expert decision "
            "(run a review round first, or check that the ledger holds expert verdicts)"
        )
    if isinstance(covers, bool) or not isinstance(covers, int) or covers < 0:
        raise InputError(f"covers must be the ledger's size, an integer ≥ 0 (got {covers!r})")
    if not math.isfinite(fast_seconds) or fast_seconds < 0:
        raise InputError(f"fast_seconds must be a finite number ≥ 0 (got {fast_seconds!r})")
    if isinstance(min_shared, bool) or not isinstance(min_shared, int) or min_shared < 1:
        raise InputError(f"min_shared must be an integer ≥ 1 (got {min_shared!r})")
    for k, r in enumerate(reviews):
        if not isinstance(r, Review):
            raise InputError(f"review {k} is a {type(r).__name__}, not a Review")
        if not isinstance(r.reviewer, str) or not r.reviewer:
            raise InputError(f"review {k} has no reviewer id: give each decision its reviewer")
        if not isinstance(r.item, str) or not r.item:
            raise InputError(f"review {k} (by {r.reviewer}) has no item: give the record id")
        if not isinstance(r.adopt, bool | np.bool_):
            raise InputError(f"review {k} (by {r.reviewer}): adopt must be True or False")
        s = r.seconds
        if s is not None and (isinstance(s, bool) or not math.isfinite(s) or s < 0):
            raise InputError(
                f"review {k} (by {r.reviewer}): seconds must be a finite number ≥ 0 or None "
                f"(got {s!r})"
            )
    for item, right in gold.items():
        if not isinstance(right, bool | np.bool_):
            raise InputError(f"gold item {item!r}: the right decision must be True or False")


# -- decisions as index arrays ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Decisions:
    """Each reviewer's latest decision per item, as arrays sorted by reviewer then item index
    (`gold`: the item's gold decision, NaN if none); counts per reviewer (`n`, `ones`) and per
    item; `matrix` is (reviewers × items with ≥ 2 decisions or gold, in item order) 1/0/NaN and
    `anchors` the gold decision of each of its columns (NaN if none)."""

    reviewers: tuple[str, ...]
    r: Ints
    i: Ints
    adopt: Floats
    seconds: Floats
    gold: Floats
    n: Ints
    ones: Ints
    per_item: Ints
    ones_per_item: Ints
    matrix: Floats
    anchors: Floats


def _decisions(reviews: Sequence[Review], gold: Mapping[str, bool]) -> _Decisions:
    reviewers = tuple(sorted({r.reviewer for r in reviews}))
    items = sorted({r.item for r in reviews})
    r_of = {name: k for k, name in enumerate(reviewers)}
    i_of = {name: k for k, name in enumerate(items)}
    n_r, n_i = len(reviewers), len(items)
    r = np.fromiter((r_of[x.reviewer] for x in reviews), np.int64, len(reviews))
    i = np.fromiter((i_of[x.item] for x in reviews), np.int64, len(reviews))
    adopt = np.fromiter((bool(x.adopt) for x in reviews), np.float64, len(reviews))
    seconds = np.fromiter(
        (math.nan if x.seconds is None else float(x.seconds) for x in reviews),
        np.float64,
        len(reviews),
    )
    key = r * n_i + i
    _, last = np.unique(key[::-1], return_index=True)  # sorted by key: reviewer, then item
    keep = len(reviews) - 1 - last
    r, i, adopt, seconds = r[keep], i[keep], adopt[keep], seconds[keep]
    right = np.full(n_i, np.nan)
    for name, value in gold.items():
        k = i_of.get(name)
        if k is not None:
            right[k] = float(bool(value))
    n = np.bincount(r, minlength=n_r)
    ones = np.bincount(r, weights=adopt, minlength=n_r).astype(np.int64)
    per_item = np.bincount(i, minlength=n_i)
    ones_per_item = np.bincount(i, weights=adopt, minlength=n_i).astype(np.int64)
    columns = np.flatnonzero((per_item >= 2) | ~np.isnan(right))
    col_of = np.full(n_i, -1)
    col_of[columns] = np.arange(columns.size)
    matrix = np.full((n_r, columns.size), np.nan)
    in_matrix = col_of[i] >= 0
    matrix[r[in_matrix], col_of[i[in_matrix]]] = adopt[in_matrix]
    return _Decisions(
        reviewers,
        r,
        i,
        adopt,
        seconds,
        right[i],
        n,
        ones,
        per_item,
        ones_per_item,
        matrix,
        right[columns],
    )


# -- the figures -----------------------------------------------------------------------------
def _gold_counts(d: _Decisions) -> tuple[Ints, Ints]:
    on_gold = ~np.isnan(d.gold)
    n_r = len(d.reviewers)
    gold_n = np.bincount(d.r[on_gold], minlength=n_r)
    hits = (d.adopt[on_gold] == d.gold[on_gold]).astype(np.float64)
    gold_correct = np.bincount(d.r[on_gold], weights=hits, minlength=n_r).astype(np.int64)
    return gold_n, gold_correct


def _gold_lower(correct: Ints, n: Ints) -> Floats:
    """The GOLD_QUANTILE quantile of Beta(1 + correct, 1 + wrong); NaN where n = 0."""
    lower = np.asarray(sps.beta.ppf(GOLD_QUANTILE, 1 + correct, 1 + n - correct), np.float64)
    out: Floats = np.where(n > 0, lower, np.nan)
    return out


def _ds_accuracy(d: _Decisions) -> Floats:
    """π·Se + (1 − π)·Sp per reviewer from DS_ITERATIONS steps of Dawid–Skene, gold clamped."""
    out = np.full(len(d.reviewers), np.nan)
    if d.matrix.shape[1] == 0:
        return out
    fit = dawid_skene(d.matrix, d.anchors, max_iter=DS_ITERATIONS, tol=-math.inf)
    acc = fit.prior * fit.sensitivity + (1 - fit.prior) * fit.specificity
    seen = (~np.isnan(d.matrix)).any(axis=1)
    out[seen] = acc[seen]
    return out


@dataclass(frozen=True, slots=True)
class _Pairs:
    """(reviewers × reviewers) counts over shared items: `n[x][y]` where the row reviewer said
    x and the column reviewer y (1 adopt, 0 reject), and `shared` their sum."""

    n: tuple[tuple[Floats, Floats], tuple[Floats, Floats]]
    shared: Floats


def _pair_counts(d: _Decisions) -> _Pairs:
    seen = ~np.isnan(d.matrix)
    a = np.where(seen, d.matrix, 0.0)
    z = np.where(seen, 1 - d.matrix, 0.0)
    n11, n10, n00 = a @ a.T, a @ z.T, z @ z.T
    return _Pairs(((n00, n10.T), (n10, n11)), n11 + n10 + n10.T + n00)


def _scoring_matrix(pair: _Pairs) -> Ints:
    """S(x, y) = 1 if Δ(x, y) > 0, Δ = P(x, y) − P(x)·P(y) pooled over ordered pairs of distinct
    reviewers; the sign is taken of T²·Δ = T·N(x, y) − N(x)·N(y) in exact integers."""
    off = ~np.eye(pair.shared.shape[0], dtype=bool)
    counts = [[round(float(pair.n[x][y][off].sum())) for y in (0, 1)] for x in (0, 1)]
    total = sum(map(sum, counts))
    marg = [sum(row) for row in counts]
    return np.array(
        [[int(total * counts[x][y] - marg[x] * marg[y] > 0) for y in (0, 1)] for x in (0, 1)],
        dtype=np.int64,
    )


def _correlated_agreement(d: _Decisions, pair: _Pairs) -> Floats:
    """Each reviewer's mean Correlated Agreement score (module docstring). With X_x the 0/1
    matrix of "said x", c_ix = how often i said x overall, and sums over shared items t,
    Σ_t f_i(x)·f_j(y) = [c_ix·c_jy·shared − c_ix·(O·Y_yᵀ) − c_jy·(X_x·Oᵀ) + X_x·Y_yᵀ]_ij
    / ((n_i − 1)(n_j − 1)), since f_i(x) on i's items other than t is (c_ix − X_x[i, t])/(n_i − 1).
    """
    s = _scoring_matrix(pair)
    n = d.n.astype(np.float64)
    c = (n - d.ones, d.ones.astype(np.float64))
    row = (pair.n[0][0] + pair.n[0][1], pair.n[1][0] + pair.n[1][1])  # X_x·Oᵀ
    col = (pair.n[0][0] + pair.n[1][0], pair.n[0][1] + pair.n[1][1])  # O·Y_yᵀ
    bonus = np.zeros_like(pair.shared)
    expected = np.zeros_like(pair.shared)
    for x in (0, 1):
        for y in (0, 1):
            if s[x, y]:
                bonus += pair.n[x][y]
                expected += (
                    np.outer(c[x], c[y]) * pair.shared
                    - c[x][:, None] * col[y]
                    - c[y][None, :] * row[x]
                    + pair.n[x][y]
                )
    valid = (n >= 2)[:, None] & (n >= 2)[None, :] & ~np.eye(n.size, dtype=bool)
    others = np.outer(np.maximum(n - 1, 1), np.maximum(n - 1, 1))
    total = np.where(valid, bonus - expected / others, 0.0).sum(axis=1)
    count = np.where(valid, pair.shared, 0.0).sum(axis=1)
    return safe_div(total, count)


def _median_seconds(d: _Decisions) -> Floats:
    timed = ~np.isnan(d.seconds)
    r, s = d.r[timed], d.seconds[timed]
    bounds = np.searchsorted(r, np.arange(len(d.reviewers) + 1))  # d.r is sorted
    return np.array(
        [np.median(s[lo:hi]) if hi > lo else np.nan for lo, hi in pairwise(bounds)],
        dtype=np.float64,
    )


def _alpha(d: _Decisions) -> float:
    f = krippendorff_features(d.ones_per_item.astype(np.float64), d.per_item.astype(np.float64))
    value = krippendorff_alpha(
        np.asarray(f["alpha_n1"].sum()),
        np.asarray(f["alpha_n0"].sum()),
        np.asarray(f["alpha_d"].sum()),
    )
    return float(value)


def _kappas(
    d: _Decisions, pair: _Pairs, min_shared: int
) -> tuple[tuple[str, str, int, float], ...]:
    a, b = np.triu_indices(len(d.reviewers), k=1)
    shared = pair.shared[a, b]
    keep = shared >= min_shared
    a, b, shared = a[keep], b[keep], shared[keep]
    kappa = cohen_kappa(
        pair.n[1][1][a, b], pair.n[1][0][a, b], pair.n[0][1][a, b], pair.n[0][0][a, b]
    )
    return tuple(
        (d.reviewers[x], d.reviewers[y], round(float(m)), float(k))
        for x, y, m, k in zip(a, b, shared, kappa, strict=True)
    )
