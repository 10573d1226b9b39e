"""The judge audit: each judge's "evaluation personality" against human labels, with intervals.

Per judge, from its confusion cells against the human labels (tp: accepts a correct item,
fp: accepts a flawed one, fn: rejects a correct one, tn: rejects a flawed one; n = their sum):

- prevalence (base rate) = (tp + fn)/n; accuracy = (tp + tn)/n
- confirmation rate (TPR) = tp/(tp + fn); error-detection rate (TNR) = tn/(tn + fp)
- critical-bias ratio = detection/confirmation (> 1: a critic; Abdoli et al., arXiv 2509.10707)
- leniency = (tp + fp)/n - (tp + fn)/n, judge acceptance rate minus the human one
- balanced accuracy = (TPR + TNR)/2; Cohen's κ, Scott's π, Gwet's AC1 (see `agreement`)

and, where the data allow, per-category rates and their spread, the false-rejection rate on a
designated category, run-to-run flip rate, calibration, weighted κ and Kendall's τ of the
models the judges score. Across judges: Krippendorff's alpha of all judges and humans, the mean
error correlation and the effective number of independent judges, McNemar tests with Holm's
correction. Proportions without repeats get Wilson intervals, everything else an item-clustered
percentile bootstrap (`stats.bootstrap`).

Per group (`JudgeTable.group`, e.g. the exam-taker model whose answers are judged): accuracy
(percent agreement), κ and π within each group g, and their unweighted mean over the G groups
where each is defined, mean κ = (1/G)·Σ_g κ_g, beside the pooled figure. Thakur et al. 2024
("Judging the Judges", arXiv 2406.12624) measure alignment per exam-taker model and report the
mean. Pooling inflates agreement when base rates differ by group: chance agreement
p_e = p_j·p_h + (1-p_j)(1-p_h) then comes from the pooled acceptance rates, and as p² + (1-p)²
is convex, mixing groups lowers it below the groups' own (Jensen), crediting a judge for telling
the groups apart. One that accepts every answer of a strong model (humans accept 90%) and
rejects every answer of a weak one (10%) has κ_g = 0 in each, yet a pooled κ of 0.8.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from keel.errors import InputError
from keel.judges import agreement
from keel.judges.calibration import calibration_features, calibration_figures, score_bins
from keel.judges.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Bootstrapped,
    Estimate,
    Floats,
    Inputs,
    Ints,
    Statistic,
    Sums,
    bootstrap_inputs,
    merge_results,
    num,
    safe_div,
    stack_results,
    wilson,
)
from keel.judges.table import JudgeTable

# Thresholds of the one-line personality (docs/judges.md explains them).
CRITIC_RATIO = 1.5
LENIENCY = 0.10
NEAR_CHANCE_KAPPA = 0.20
UNSTABLE_FLIP = 0.10
UNEVEN_SPREAD = 0.10

Features = Callable[[Inputs], dict[str, Floats]]

ALL_CELLS = ("tp", "fp", "fn", "tn")
PROPORTIONS = {  # figure: (cells counted, cells it is a share of)
    "prevalence": (("tp", "fn"), ALL_CELLS),
    "accuracy": (("tp", "tn"), ALL_CELLS),
    "confirmation": (("tp",), ("tp", "fn")),
    "detection": (("tn",), ("tn", "fp")),
}
FIGURES = (
    "prevalence",
    "accuracy",
    "confirmation",
    "detection",
    "bias_ratio",
    "leniency",
    "balanced_accuracy",
    "kappa",
    "scott_pi",
    "gwet_ac1",
)
GROUP_FIGURES = ("accuracy", "kappa", "scott_pi")
"""Figures computed within each group and averaged over the groups (module docstring)."""


@dataclass(frozen=True, slots=True)
class CategoryFigures:
    """A judge's rates on the items of one category."""

    name: str
    n: int
    accuracy: Estimate
    confirmation: Estimate
    detection: Estimate


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """A judge's agreement with the humans on the items of one group."""

    name: str
    n: int
    accuracy: Estimate
    kappa: Estimate
    scott_pi: Estimate


@dataclass(frozen=True, slots=True)
class CalibrationBin:
    """One bin of a calibration curve: scores in (lo, hi], mean score, share humans accept."""

    lo: float
    hi: float
    n: int
    mean_score: float
    accepted: float


@dataclass(frozen=True, slots=True)
class JudgeProfile:
    """Everything the audit says about one judge."""

    judge: str
    n: int
    confusion: tuple[int, int, int, int]
    missing_verdicts: int
    missing_human: int
    figures: Mapping[str, Estimate]
    personality: str
    summary: str
    categories: tuple[CategoryFigures, ...] = ()
    calibration: tuple[CalibrationBin, ...] = ()
    run_accuracy: tuple[float, ...] = ()
    groups: tuple[GroupFigures, ...] = ()


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two judges: McNemar's exact test of their accuracy on the items both judged (first run),
    and Kendall's τ-b between their rankings of the subjects (NaN without ≥ 3 subjects)."""

    a: str
    b: str
    n: int
    only_a_right: int
    only_b_right: int
    p_value: float
    p_holm: float
    kendall_tau: float = math.nan
    kendall_p: float = math.nan

    def to_json(self) -> dict[str, object]:
        return {
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "only_a_right": self.only_a_right,
            "only_b_right": self.only_b_right,
            "p_value": self.p_value,
            "p_holm": self.p_holm,
            "kendall_tau": num(self.kendall_tau),
            "kendall_p": num(self.kendall_p),
        }


@dataclass(frozen=True, slots=True)
class Audit:
    """The whole audit of a judge table."""

    source: str
    n_items: int
    n_runs: int
    n_resamples: int
    seed: int
    profiles: tuple[JudgeProfile, ...]
    panel: Mapping[str, Estimate]
    comparisons: tuple[Comparison, ...]
    penalty_category: str | None = None
    notes: tuple[str, ...] = field(default=())
    blank_rows: int = 0
    group_by: str | None = None

    def profile(self, judge: str) -> JudgeProfile:
        for p in self.profiles:
            if p.judge == judge:
                return p
        raise InputError(f"no judge named {judge!r} in the audit")

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (NaN becomes null)."""
        return {
            "source": self.source,
            "n_items": self.n_items,
            "n_runs": self.n_runs,
            "blank_rows": self.blank_rows,
            "group_by": self.group_by,
            "bootstrap": {"resamples": self.n_resamples, "seed": self.seed, "level": 0.95},
            "penalty_category": self.penalty_category,
            "panel": {k: v.to_json() for k, v in self.panel.items()},
            "judges": [_profile_json(p) for p in self.profiles],
            "comparisons": [c.to_json() for c in self.comparisons],
            "notes": list(self.notes),
        }


def _profile_json(p: JudgeProfile) -> dict[str, object]:
    tp, fp, fn, tn = p.confusion
    return {
        "judge": p.judge,
        "personality": p.personality,
        "summary": p.summary,
        "n": p.n,
        "missing_verdicts": p.missing_verdicts,
        "missing_human": p.missing_human,
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
        "figures": {k: v.to_json() for k, v in p.figures.items()},
        "categories": [
            {
                "name": c.name,
                "n": c.n,
                "accuracy": c.accuracy.to_json(),
                "confirmation": c.confirmation.to_json(),
                "detection": c.detection.to_json(),
            }
            for c in p.categories
        ],
        "calibration": [
            {
                "lo": b.lo,
                "hi": b.hi,
                "n": b.n,
                "mean_score": b.mean_score,
                "accepted": num(b.accepted),
            }
            for b in p.calibration
        ],
        "run_accuracy": [num(x) for x in p.run_accuracy],
        "groups": [
            {"name": g.name, "n": g.n, **{k: getattr(g, k).to_json() for k in GROUP_FIGURES}}
            for g in p.groups
        ],
    }


# -- features: per-item sums whose weighted totals give every figure ------------------------
# Each group of figures is bootstrapped from the few per-item inputs it depends on, so items
# that agree on them share one feature row (stats.bootstrap_inputs). Groups are resampled
# independently: each figure's percentile interval needs only its own bootstrap distribution.
def _onehot(codes: Ints, k: int) -> Floats:
    out = np.zeros((codes.shape[0], k))
    ok = codes >= 0
    out[np.flatnonzero(ok), codes[ok]] = 1.0
    return out


def _cells(human: Floats, verdicts: Floats) -> Floats:
    """Per-item confusion cells (tp, fp, fn, tn) summed over runs; verdicts are (items, runs)."""
    obs = ~np.isnan(verdicts) & ~np.isnan(human)[:, None]
    acc1, acc0 = obs & (verdicts == 1), obs & (verdicts == 0)
    h1, h0 = (human == 1)[:, None], (human == 0)[:, None]
    pairs = ((acc1, h1), (acc1, h0), (acc0, h1), (acc0, h0))
    return np.stack([(a & h).sum(1) for a, h in pairs], axis=-1).astype(np.float64)


def _judge_features(n_categories: int, penalty: int | None, n_groups: int) -> Features:
    """One judge: confusion cells, per category, per group, and per run (flip rate, run
    accuracy)."""

    def features(x: Inputs) -> dict[str, Floats]:
        h, v = x["human"], x["verdicts"]
        f = {"cells": _cells(h, v)}
        if "category" in x:
            c = x["category"]
            member = _onehot(c, n_categories) if n_categories > 1 else (c == penalty)[:, None]
            f["cat"] = f["cells"][:, None, :] * member[:, :, None]
        if "group" in x:
            f["grp"] = f["cells"][:, None, :] * _onehot(x["group"], n_groups)[:, :, None]
        if v.shape[1] > 1:
            seen = ~np.isnan(v)
            m = seen.sum(1)
            flips = np.where(seen, v, -np.inf).max(1) != np.where(seen, v, np.inf).min(1)
            f["flip"] = ((m >= 2) & flips).astype(np.float64)
            f["flip_n"] = (m >= 2).astype(np.float64)
            obs = seen & ~np.isnan(h)[:, None]
            f["run"] = np.stack([obs & (v == h[:, None]), obs], axis=-1).astype(np.float64)
        return f

    return features


def _ranking_features(n_subjects: int) -> Features:
    """One judge and the humans: acceptances and verdict counts per subject (model)."""

    def features(x: Inputs) -> dict[str, Floats]:
        v, h = x["verdicts"], x["human"]
        onehot = _onehot(x["subject"], n_subjects)[:, :, None]
        judge = np.stack([np.nansum(v, axis=1), (~np.isnan(v)).sum(1)], axis=-1)
        human = np.stack([np.nan_to_num(h), ~np.isnan(h)], axis=-1)
        return {"subj": judge[:, None, :] * onehot, "subj_h": human[:, None, :] * onehot}

    return features


def _score_features(bins: int) -> Features:
    """Every judge's scores: calibration sums and, for ordinal human scores, weighted-κ tables."""

    def features(x: Inputs) -> dict[str, Floats]:
        scores = x["scores"].transpose(1, 0, 2)  # (J, items, runs)
        f = calibration_features(scores, x["human"], bins)
        if "human_scores" in x:
            table = _ordinal_table(scores, x["human_scores"])
            if table is not None:
                f["wk"] = table
        return f

    return features


def _alpha_features(x: Inputs) -> dict[str, Floats]:
    return agreement.krippendorff_features(x["ones"], x["ratings"])


def _error_features(x: Inputs) -> dict[str, Floats]:
    """Per-item error share of every judge, on items every judge saw (NaN elsewhere)."""
    err: Floats = x["errors"]
    complete = np.isnan(err).sum(axis=1) == 0
    e = np.where(complete[:, None], err, 0.0)
    return {"ne_n": complete.astype(np.float64), "ne_e": e, "ne_ee": e[:, :, None] * e[:, None, :]}


def _ordinal_table(scores: Floats, human: Floats) -> Floats | None:
    """Per-item judge x human contingency counts over the integer score levels (weighted κ)."""
    ok_s, ok_h = scores[~np.isnan(scores)], human[~np.isnan(human)]
    levels = np.union1d(ok_s, ok_h)
    if levels.size < 2 or levels.size > 20 or not np.all(levels == np.round(levels)):
        return None
    s_idx = np.searchsorted(levels, np.nan_to_num(scores))
    h_idx = np.searchsorted(levels, np.nan_to_num(human))
    k = levels.size
    ok = ~np.isnan(scores) & ~np.isnan(human)[None, :, None]
    flat = (s_idx * k + h_idx[None, :, None]).astype(np.int64)
    j_count, n_items, _ = scores.shape
    out = np.zeros((n_items, j_count, k * k))
    for j in range(j_count):
        rows = np.broadcast_to(np.arange(n_items)[:, None], ok[j].shape)
        np.add.at(out[:, j], (rows[ok[j]], flat[j][ok[j]]), 1.0)
    return out.reshape(n_items, j_count, k, k)


# -- the figures from the sums -------------------------------------------------------------
def kendall_tau_b(x: Floats, y: Floats) -> Floats:
    """Kendall's τ-b over the last axis: Σ sgn(Δx)·sgn(Δy) / sqrt(n_x·n_y), n_x and n_y the
    pairs untied in x and in y (Kendall 1945, Biometrika 33:239); NaN entries are left out."""
    x, y = np.broadcast_arrays(x, y)
    valid = ~np.isnan(x) & ~np.isnan(y)
    pair = valid[..., :, None] & valid[..., None, :]
    dx = np.where(pair, np.sign(np.nan_to_num(x[..., :, None] - x[..., None, :])), 0.0)
    dy = np.where(pair, np.sign(np.nan_to_num(y[..., :, None] - y[..., None, :])), 0.0)
    s = (dx * dy).sum(axis=(-2, -1))
    nx, ny = np.abs(dx).sum(axis=(-2, -1)), np.abs(dy).sum(axis=(-2, -1))
    return safe_div(s, np.sqrt(nx * ny))


def _judge_statistic(penalty: int | None) -> Statistic:
    def figures(s: Sums) -> dict[str, Floats]:
        tp, fp, fn, tn = (s["cells"][..., k] for k in range(4))
        out = _rates(tp, fp, fn, tn)
        if "cat" in s:
            c = s["cat"]
            ctp, cfp, cfn, ctn = (c[..., k] for k in range(4))
            out["cat_accuracy"] = safe_div(ctp + ctn, ctp + cfp + cfn + ctn)
            out["cat_confirmation"] = safe_div(ctp, ctp + cfn)
            out["cat_detection"] = safe_div(ctn, ctn + cfp)
            if c.shape[-2] > 1:
                out["category_spread"] = _nanstd(out["cat_accuracy"])
            if penalty is not None:
                k = penalty if c.shape[-2] > 1 else 0
                out["penalty_frr"] = safe_div(cfn[..., k], ctp[..., k] + cfn[..., k])
                out["frr"] = safe_div(fn, tp + fn)
        if "grp" in s:
            g = s["grp"]
            within = _rates(*(g[..., k] for k in range(4)))
            for name in GROUP_FIGURES:
                out[f"group_{name}"] = within[name]
                out[f"group_mean_{name}"] = _nanmean(within[name])
        if "flip" in s:
            out["flip_rate"] = safe_div(s["flip"], s["flip_n"])
            run_acc = safe_div(s["run"][..., 0], s["run"][..., 1])
            out["run_accuracy"] = run_acc
            out["run_accuracy_spread"] = _nanstd(run_acc)
        return out

    return figures


def _ranking_statistic(s: Sums) -> dict[str, Floats]:
    judge_rate = safe_div(s["subj"][..., 0], s["subj"][..., 1])
    human_rate = safe_div(s["subj_h"][..., 0], s["subj_h"][..., 1])
    return {"kendall_tau": kendall_tau_b(judge_rate, human_rate)}


def _score_statistic(s: Sums) -> dict[str, Floats]:
    out = calibration_figures(s)
    if "wk" in s:
        out["weighted_kappa"] = agreement.weighted_kappa(s["wk"])
    return out


def _alpha_statistic(s: Sums) -> dict[str, Floats]:
    return {"alpha": agreement.krippendorff_alpha(s["alpha_n1"], s["alpha_n0"], s["alpha_d"])}


def _error_statistic(s: Sums) -> dict[str, Floats]:
    rho, n_eff = agreement.effective_judges(s["ne_n"], s["ne_e"], s["ne_ee"])
    return {"error_correlation": rho, "effective_judges": n_eff}


def _nanmean(x: Floats) -> Floats:
    """Mean over the last axis of the defined entries (NaN where none is)."""
    ok = ~np.isnan(x)
    return safe_div(np.where(ok, x, 0).sum(axis=-1), ok.sum(axis=-1).astype(np.float64))


def _nanstd(x: Floats) -> Floats:
    """Population SD over the last axis of the defined entries."""
    return np.sqrt(_nanmean((x - _nanmean(x)[..., None]) ** 2))


def _rates(tp: Floats, fp: Floats, fn: Floats, tn: Floats) -> dict[str, Floats]:
    n = tp + fp + fn + tn
    tpr, tnr = safe_div(tp, tp + fn), safe_div(tn, tn + fp)
    return {
        "prevalence": safe_div(tp + fn, n),
        "accuracy": safe_div(tp + tn, n),
        "confirmation": tpr,
        "detection": tnr,
        "bias_ratio": safe_div(tnr, tpr),
        "leniency": safe_div(fp - fn, n),
        "balanced_accuracy": (tpr + tnr) / 2,
        "kappa": agreement.cohen_kappa(tp, fp, fn, tn),
        "scott_pi": agreement.scott_pi(tp, fp, fn, tn),
        "gwet_ac1": agreement.gwet_ac1(tp, fp, fn, tn),
    }


# -- personality ---------------------------------------------------------------------------
def personality(figures: Mapping[str, Estimate]) -> str:
    """The one-line label from the documented thresholds (docs/judges.md)."""
    ratio = figures["bias_ratio"].value
    leniency = figures["leniency"].value
    kappa = figures["kappa"].value
    if math.isnan(ratio) or math.isnan(kappa):
        base = "undetermined"
    elif kappa < NEAR_CHANCE_KAPPA:
        base = "near-chance"
    elif ratio >= CRITIC_RATIO or (leniency <= -LENIENCY and ratio > 1):
        base = "critic"
    elif ratio <= 1 / CRITIC_RATIO or (leniency >= LENIENCY and ratio < 1):
        base = "confirmer"
    else:
        base = "balanced"
    tags = [base]
    flip = figures.get("flip_rate")
    if flip is not None and flip.value > UNSTABLE_FLIP:
        tags.append("unstable")
    spread = figures.get("category_spread")
    if spread is not None and spread.value > UNEVEN_SPREAD:
        tags.append("uneven")
    return ", ".join(tags)


def _summary(judge: str, label: str, f: Mapping[str, Estimate]) -> str:
    def pct(name: str) -> str:
        x = f[name].value
        return "n/a" if math.isnan(x) else f"{x:.0%}"

    return (
        f"{judge}: {label}; confirms {pct('confirmation')} of correct items, catches "
        f"{pct('detection')} of flawed ones (ratio {f['bias_ratio'].value:.2f}), "
        f"leniency {f['leniency'].value:+.1%}, κ {f['kappa'].value:.2f} "
        f"at base rate {pct('prevalence')}"
    )


# -- comparisons ---------------------------------------------------------------------------
def holm(p: Floats) -> Floats:
    """Holm's step-down adjusted p-values (Holm 1979, Scand. J. Stat. 6:65)."""
    order = np.argsort(p, kind="stable")
    m = p.size
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(1.0, adjusted)
    return out


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: 2·P(X ≤ min(b, c)), X ~ Bin(b + c, ½), capped at 1
    (McNemar 1947, Psychometrika 12:153)."""
    d = only_a + only_b
    if d == 0:
        return 1.0
    return float(min(1.0, 2 * sps.binom.cdf(min(only_a, only_b), d, 0.5)))


def subject_rates(t: JudgeTable) -> Floats:
    """Each judge's acceptance rate of each subject's items over all its verdicts, (J, S)."""
    if t.subject is None:
        return np.full((len(t.judges), 0), np.nan)
    onehot = _onehot(t.subject, len(t.subjects))
    accepted = np.nansum(t.verdicts, axis=2) @ onehot
    return safe_div(accepted, (~np.isnan(t.verdicts)).sum(axis=2) @ onehot)


def compare_judges(t: JudgeTable) -> tuple[Comparison, ...]:
    """Every pair of judges: McNemar's test on their first-run verdicts, Holm-corrected, and
    Kendall's τ-b between their rankings of the subjects by acceptance rate (with the p-value
    of scipy's test of τ = 0, which takes the rates as given)."""
    first = t.verdicts[:, :, 0]
    ok = ~np.isnan(first) & ~np.isnan(t.human)[None, :]
    right = first == t.human[None, :]
    rates = subject_rates(t)
    raw = []
    for a, b in combinations(range(len(t.judges)), 2):
        both = ok[a] & ok[b]
        only_a = int((both & right[a] & ~right[b]).sum())
        only_b = int((both & right[b] & ~right[a]).sum())
        raw.append((a, b, int(both.sum()), only_a, only_b, mcnemar_exact(only_a, only_b)))
    if not raw:
        return ()
    adjusted = holm(np.array([r[5] for r in raw]))
    return tuple(
        Comparison(t.judges[a], t.judges[b], n, oa, ob, p, float(q), *_tau(rates[a], rates[b]))
        for (a, b, n, oa, ob, p), q in zip(raw, adjusted, strict=True)
    )


def _tau(x: Floats, y: Floats) -> tuple[float, float]:
    """τ-b of two rankings (subjects either leaves out) and its p-value; NaN under 3 subjects."""
    valid = ~np.isnan(x) & ~np.isnan(y)
    if valid.sum() < 3:
        return math.nan, math.nan
    tau = float(kendall_tau_b(x[valid], y[valid]))
    p = float(sps.kendalltau(x[valid], y[valid]).pvalue) if math.isfinite(tau) else math.nan
    return tau, p


# -- the audit -----------------------------------------------------------------------------
def audit(
    table: JudgeTable,
    *,
    penalty_category: str | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    bins: int = 10,
) -> Audit:
    """Audit every judge of `table` against its human labels (see the module docstring)."""
    if np.isnan(table.human).all():
        raise InputError(f"{table.source}: no human labels; the audit needs some to compare with")
    penalty = None
    if penalty_category is not None:
        if penalty_category not in table.categories:
            have = ", ".join(table.categories) or "none: pass a category column"
            raise InputError(
                f"penalty category {penalty_category!r} not found (categories: {have})"
            )
        penalty = table.categories.index(penalty_category)
    boot = _bootstrap(table, penalty, bins, n_resamples, seed)
    profiles = tuple(_profile(table, boot, j, bins) for j in range(len(table.judges)))
    panel = {k: boot.estimate(k) for k in ("alpha", "error_correlation", "effective_judges")}
    notes = []
    if table.skipped_columns:
        notes.append("columns read as non-judges: " + ", ".join(table.skipped_columns))
    if table.excluded_columns:
        notes.append(
            "columns left out by their names (human-side or metadata; --judge NAME reads one "
            "as a judge): " + ", ".join(table.excluded_columns)
        )
    if table.blank_rows:
        notes.append(
            f"{table.blank_rows} fully blank row(s) skipped: no items, not missing verdicts"
        )
    return Audit(
        source=table.source,
        n_items=len(table.items),
        n_runs=table.n_runs,
        n_resamples=n_resamples,
        seed=seed,
        profiles=profiles,
        panel=panel,
        comparisons=compare_judges(table),
        penalty_category=penalty_category,
        notes=tuple(notes),
        blank_rows=table.blank_rows,
        group_by=table.group_by,
    )


def _bootstrap(
    t: JudgeTable, penalty: int | None, bins: int, n_resamples: int, seed: int
) -> Bootstrapped:
    """Every figure of every judge, group by group (each with its own seed stream)."""

    def run(x: Inputs, features: Features, statistic: Statistic, *stream: int) -> Bootstrapped:
        return bootstrap_inputs(
            x, features, statistic, n_resamples=n_resamples, seed=[seed, *stream]
        )

    judges = range(len(t.judges))
    h, v = t.human, t.verdicts
    base: dict[str, npt.NDArray[Any]] = {"human": h}
    if t.category is not None and (len(t.categories) > 1 or penalty is not None):
        base["category"] = t.category
    if t.group is not None:
        base["group"] = t.group
    rates = _judge_features(len(t.categories), penalty, len(t.groups)), _judge_statistic(penalty)
    parts = [stack_results([run({**base, "verdicts": v[j]}, *rates, 0, j) for j in judges])]
    if t.subject is not None and len(t.subjects) > 1:
        x = {"human": h, "subject": t.subject}
        ranking = _ranking_features(len(t.subjects)), _ranking_statistic
        parts.append(stack_results([run({**x, "verdicts": v[j]}, *ranking, 1, j) for j in judges]))
    if t.scores is not None:
        x = {"human": h, "scores": t.scores.transpose(1, 0, 2)}
        if t.human_scores is not None:
            x["human_scores"] = t.human_scores
        parts.append(run(x, _score_features(bins), _score_statistic, 2))
    ratings = np.concatenate([v.transpose(1, 0, 2).reshape(h.size, -1), h[:, None]], axis=1)
    counts = {"ones": np.nansum(ratings, axis=1), "ratings": (~np.isnan(ratings)).sum(axis=1)}
    parts.append(run(counts, _alpha_features, _alpha_statistic, 3))
    obs = ~np.isnan(v) & ~np.isnan(h)[None, :, None]
    wrong = (obs & (v != h[None, :, None])).sum(axis=2).astype(np.float64)
    errors = safe_div(wrong, obs.sum(axis=2).astype(np.float64)).T
    parts.append(run({"errors": errors}, _error_features, _error_statistic, 4))
    return merge_results(parts)


def _profile(t: JudgeTable, boot: Bootstrapped, j: int, bins: int) -> JudgeProfile:
    tp, fp, fn, tn = (int(x) for x in _cells(t.human, t.verdicts[j]).sum(axis=0))
    sums = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    figures: dict[str, Estimate] = {}
    for name in FIGURES:
        if name in PROPORTIONS and t.n_runs == 1:
            num, den = PROPORTIONS[name]
            figures[name] = wilson(sum(sums[c] for c in num), sum(sums[c] for c in den))
        else:
            figures[name] = boot.estimate(name, (j,))
    extra = (
        "category_spread",
        "penalty_frr",
        "frr",
        "flip_rate",
        "run_accuracy_spread",
        "brier",
        "ece",
        "weighted_kappa",
        "kendall_tau",
        *(f"group_mean_{name}" for name in GROUP_FIGURES),
    )
    for name in extra:
        if name in boot.value and not np.isnan(boot.value[name][j]):
            figures[name] = boot.estimate(name, (j,))
    categories: list[CategoryFigures] = []
    if "cat_accuracy" in boot.value and len(t.categories) > 1:
        assert t.category is not None
        for c, cname in enumerate(t.categories):
            categories.append(
                CategoryFigures(
                    cname,
                    _observed(t, j, t.category == c),
                    boot.estimate("cat_accuracy", (j, c)),
                    boot.estimate("cat_confirmation", (j, c)),
                    boot.estimate("cat_detection", (j, c)),
                )
            )
    groups: list[GroupFigures] = []
    if "group_kappa" in boot.value:
        assert t.group is not None
        for g, gname in enumerate(t.groups):
            groups.append(
                GroupFigures(
                    gname,
                    _observed(t, j, t.group == g),
                    *(boot.estimate(f"group_{name}", (j, g)) for name in GROUP_FIGURES),
                )
            )
    calibration: tuple[CalibrationBin, ...] = ()
    if "cal_n" in boot.value and boot.value["cal_n"][j] > 0:
        edges = score_bins(bins)
        calibration = tuple(
            CalibrationBin(
                float(edges[b]),
                float(edges[b + 1]),
                int(boot.value["cal_bin_n"][j, b]),
                float(boot.value["cal_mean_score"][j, b]),
                float(boot.value["cal_accepted"][j, b]),
            )
            for b in range(bins)
            if boot.value["cal_bin_n"][j, b] > 0
        )
    run_accuracy = (
        tuple(float(x) for x in boot.value["run_accuracy"][j])
        if "run_accuracy" in boot.value
        else ()
    )
    missing = int(t.missing[j]) if t.missing is not None else 0
    seen = ~np.isnan(t.verdicts[j])
    missing_human = int((seen & np.isnan(t.human)[:, None]).sum())
    label = personality(figures)
    return JudgeProfile(
        judge=t.judges[j],
        n=tp + fp + fn + tn,
        confusion=(tp, fp, fn, tn),
        missing_verdicts=missing,
        missing_human=missing_human,
        figures=figures,
        personality=label,
        summary=_summary(t.judges[j], label, figures),
        categories=tuple(categories),
        calibration=calibration,
        run_accuracy=run_accuracy,
        groups=tuple(groups),
    )


def _observed(t: JudgeTable, j: int, among: npt.NDArray[np.bool_]) -> int:
    """Judge j's verdicts with a human label on the items `among` (all runs)."""
    v = t.verdicts[j][among]
    return int((~np.isnan(v) & ~np.isnan(t.human[among])[:, None]).sum())
