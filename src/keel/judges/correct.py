"""Correcting a judge with a small human-labelled anchor set.

A pool of items carries judge verdicts only; anchors carry verdicts and human labels. From
them: the pool's true acceptable share by PPI++ and by Rogan-Gladen, the acceptance rule that
keeps data at a target precision, Dawid-Skene over several judges with the anchors clamped,
and the number of anchors that reaches a target interval width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from keel.errors import InputError
from keel.judges.stats import (
    LEVEL,
    Estimate,
    Floats,
    effective_n,
    wilson,
    wilson_lower,
    z_value,
)
from keel.judges.table import JudgeTable


@dataclass(frozen=True, slots=True)
class ShareEstimate:
    """An estimate of the pool's true acceptable share, or why it was refused."""

    method: str
    estimate: Estimate | None
    detail: dict[str, float]
    refused: str | None = None


def ppi_mean(
    anchor_labels: Floats,
    anchor_verdicts: Floats,
    pool_verdicts: Floats,
    *,
    level: float = LEVEL,
    lam: float | None = None,
    anchor_weights: Floats | None = None,
) -> ShareEstimate:
    """PPI++ mean (Angelopoulos, Duchi, Zrnic 2023, arXiv 2311.01453):
    θ̂ = λ·mean(f_pool) + mean(Y - λ·f_anchor), with the power-tuning
    λ = Cov(Y, f) / ((1 + n/N)·Var(f)) clipped to [0, 1] (Var over anchors and pool), and the
    interval θ̂ ± z·sqrt(Var(Y - λf)/n + λ²·Var(f_pool)/N).

    With `anchor_weights` (1/π_i for anchors drawn with unequal probabilities π_i), every mean
    and covariance over the anchors is the Hájek weighted one (Σw·x/Σw; Hájek 1971) and n is
    Kish's effective size (Σw)²/Σw², so Var(Y - λf)/n becomes Σw̃²·(r - r̄_w)² with
    w̃ = w/Σw (the with-replacement linearisation, conservative without replacement; Särndal,
    Swensson & Wretman 1992 §5.7). Equal weights give the unweighted estimate exactly."""
    y, f, fu = anchor_labels, anchor_verdicts, pool_verdicts
    n, big_n = y.size, fu.size
    if n < 2 or big_n < 2:
        raise InputError(f"PPI++ needs at least 2 anchors and 2 pool items (got {n} and {big_n})")
    w = np.full(n, 1.0 / n) if anchor_weights is None else anchor_weights / anchor_weights.sum()
    n_eff = effective_n(w)
    if lam is None:
        cov = float(np.sum(w * (y - w @ y) * (f - w @ f)))
        var_f = float(np.var(np.concatenate([f, fu]), ddof=1))
        lam = 0.0 if var_f <= 0 else float(np.clip(cov / ((1 + n_eff / big_n) * var_f), 0.0, 1.0))
    r = y - lam * f
    rbar = float(w @ r)
    point = lam * float(fu.mean()) + rbar
    se = math.sqrt(float(np.var(lam * fu)) / big_n + float(np.sum(w * w * (r - rbar) ** 2)))
    half = z_value(level) * se
    est = Estimate(point, point - half, point + half, "ppi++")
    detail = {"lambda": lam, "se": se, "n_anchors": n, "n_pool": big_n}
    if anchor_weights is not None:
        detail["n_effective"] = n_eff
    return ShareEstimate("ppi++", est, detail)


def rogan_gladen(
    anchor_labels: Floats, anchor_verdicts: Floats, pool_verdicts: Floats, *, level: float = LEVEL
) -> ShareEstimate:
    """Rogan-Gladen corrected prevalence (Rogan & Gladen 1978, Am. J. Epidemiol. 107:71):
    p̂ = (q + Sp - 1)/(Se + Sp - 1), q the judge's acceptance rate over all its verdicts, Se/Sp
    its sensitivity/specificity on the anchors, with the delta-method interval
    Var = (q(1-q)/N + p̂²·Se(1-Se)/n₁ + (1-p̂)²·Sp(1-Sp)/n₀)/J². Refused when Youden's
    J = Se + Sp - 1 ≤ 0 (the judge carries no signal to invert). Point and bounds clipped to [0, 1].
    """
    pos, neg = anchor_labels == 1, anchor_labels == 0
    n1, n0 = int(pos.sum()), int(neg.sum())
    if n1 == 0 or n0 == 0:
        return ShareEstimate(
            "rogan-gladen", None, {}, f"the anchors need both classes (have {n1} and {n0})"
        )
    se_ = float(anchor_verdicts[pos].mean())
    sp = float(1 - anchor_verdicts[neg].mean())
    youden = se_ + sp - 1
    detail = {"sensitivity": se_, "specificity": sp, "youden_j": youden}
    if youden <= 0:
        return ShareEstimate(
            "rogan-gladen",
            None,
            detail,
            f"Youden's J = {youden:.3f} ≤ 0: the judge is no better than chance on the anchors",
        )
    allv = np.concatenate([anchor_verdicts, pool_verdicts])
    q, big_n = float(allv.mean()), allv.size
    p = (q + sp - 1) / youden
    var = (
        q * (1 - q) / big_n + p * p * se_ * (1 - se_) / n1 + (1 - p) ** 2 * sp * (1 - sp) / n0
    ) / youden**2
    half = z_value(level) * math.sqrt(max(var, 0.0))
    est = Estimate(_unit(p), _unit(p - half), _unit(p + half), "delta")
    return ShareEstimate("rogan-gladen", est, detail)


def _unit(x: float) -> float:
    return min(1.0, max(0.0, x))


# -- acceptance rule -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rule:
    """A way to keep items: `kind` "threshold" (judge score ≥ value) or "votes" (at least
    `value` of `judges` accept); with its precision on the anchors and its lower bound."""

    kind: str
    judges: tuple[str, ...]
    value: float
    kept_anchors: int
    precision: float
    lower_bound: float
    kept_share: float

    def keeps(
        self, judges: Sequence[str], verdicts: Floats, scores: Floats | None = None
    ) -> Floats:
        """Which items the rule keeps (0/1), from (judges × items) verdicts and scores."""
        return _keep((self.kind, self.judges, self.value), judges, verdicts, scores)

    def describe(self) -> str:
        if self.kind == "threshold":
            return f"{self.judges[0]} score >= {self.value:g}"
        return f"at least {self.value:g} of {', '.join(self.judges)} accept"


_Spec = tuple[str, tuple[str, ...], float]
"""A candidate rule: kind ("votes" or "threshold"), the judges it reads, its value."""


THRESHOLD_QUANTILES = tuple(q / 10 for q in range(1, 10))
"""Score thresholds tried: the deciles of each judge's scores on the anchors (few candidates
keep the Bonferroni correction of the precision bound mild)."""


def _candidates(judges: Sequence[str], anchor_scores: Floats | None) -> list[_Spec]:
    """Every rule: k-of-J votes, each judge alone, and each judge's score at the deciles of its
    scores on the anchors."""
    specs: list[_Spec] = [("votes", tuple(judges), float(k)) for k in range(1, len(judges) + 1)]
    if len(judges) > 1:
        specs += [("votes", (name,), 1.0) for name in judges]
    if anchor_scores is not None:
        for j, name in enumerate(judges):
            seen = anchor_scores[j][~np.isnan(anchor_scores[j])]
            if seen.size:
                levels = np.unique(np.quantile(seen, THRESHOLD_QUANTILES, method="lower"))
                specs += [("threshold", (name,), float(t)) for t in levels]
    return specs


def _keep(spec: _Spec, judges: Sequence[str], verdicts: Floats, scores: Floats | None) -> Floats:
    """Which items (columns of the (J, items) arrays) the rule keeps, as 0/1."""
    kind, names, value = spec
    rows = [list(judges).index(n) for n in names]
    if kind == "threshold":
        assert scores is not None
        keep = np.nan_to_num(scores[rows[0]], nan=-np.inf) >= value
    else:
        keep = np.nan_to_num(verdicts[rows]).sum(axis=0) >= value
    return np.asarray(keep, dtype=np.float64)


def choose_rule(
    judges: Sequence[str],
    anchor_labels: Floats,
    anchor_verdicts: Floats,
    pool_verdicts: Floats,
    *,
    target_precision: float,
    anchor_scores: Floats | None = None,
    pool_scores: Floats | None = None,
    alpha: float = 0.05,
    anchor_weights: Floats | None = None,
) -> tuple[Rule | None, tuple[Rule, ...]]:
    """The rule keeping the largest pool share whose precision on the anchors has a one-sided
    Wilson lower bound ≥ `target_precision`; the bound uses alpha/m for m candidate rules
    (Bonferroni), so the choice itself does not inflate the guarantee. Returns (best, all).
    Score thresholds are candidates only when both anchor and pool scores are given.

    With `anchor_weights` w_i = 1/π_i (anchors drawn with unequal probabilities), precision is
    the Hájek ratio p̂ = Σ w·k·y / Σ w·k over the kept anchors (k = 1 when the rule keeps the
    anchor), and the bound is Wilson's at Kish's effective size n* = (Σwk)²/Σ(wk)² with p̂·n*
    successes (the effective-size Wilson interval for weighted proportions; Kish 1965,
    Korn & Graubard 1998); in the kept share the anchors count by w·n/Σw. Equal weights give
    the unweighted bound exactly."""
    with_scores = anchor_scores is not None and pool_scores is not None
    specs = _candidates(judges, anchor_scores if with_scores else None)
    m = len(specs)
    n = anchor_labels.size
    w = np.ones(n) if anchor_weights is None else anchor_weights * (n / anchor_weights.sum())
    rules = []
    for spec in specs:
        keep_a = _keep(spec, judges, anchor_verdicts, anchor_scores)
        keep_p = _keep(spec, judges, pool_verdicts, pool_scores)
        wk = w * keep_a
        kept_w = float(wk.sum())
        good_w = float((wk * anchor_labels).sum())
        precision = good_w / kept_w if kept_w > 0 else math.nan
        if anchor_weights is not None and kept_w > 0:
            n_eff = effective_n(wk)
            good_w, kept_w = precision * n_eff, n_eff
        lb = wilson_lower(good_w, kept_w, alpha / m) if kept_w > 0 else 0.0
        share = (float(wk.sum()) + float(keep_p.sum())) / (n + keep_p.size)
        kind, names, value = spec
        rules.append(Rule(kind, names, value, int(keep_a.sum()), precision, lb, share))
    ok = [r for r in rules if r.lower_bound >= target_precision]
    best = max(ok, key=lambda r: (r.kept_share, r.lower_bound)) if ok else None
    return best, tuple(rules)


# -- Dawid-Skene ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DawidSkene:
    """Posterior P(acceptable) per item (NaN for items no judge saw), each judge's
    sensitivity and specificity, the class prior."""

    posterior: Floats
    sensitivity: Floats
    specificity: Floats
    prior: float
    iterations: int


_EPS = 1e-10


def dawid_skene(
    verdicts: Floats, anchors: Floats | None = None, *, max_iter: int = 100, tol: float = 1e-5
) -> DawidSkene:
    """Dawid-Skene EM for binary verdicts (Dawid & Skene 1979, Appl. Stat. 28:20).

    `verdicts` is (judges, items), NaN where a judge gave none; `anchors` holds human labels
    (NaN where absent), and anchored items are clamped to their label at every step. EM starts
    from the majority-vote shares and stops when the evidence lower bound per verdict improves
    by less than `tol` (as crowd-kit's `DawidSkene`); `tol` = −∞ runs exactly `max_iter`
    steps. Items without any verdict are left out.
    """
    voted = (~np.isnan(verdicts)).any(axis=0)
    if not voted.any():
        raise InputError("Dawid-Skene needs at least one verdict")
    verdicts = verdicts[:, voted]
    seen = ~np.isnan(verdicts)
    ones = np.where(seen, verdicts, 0.0)  # judge said 1
    zeros = np.where(seen, 1 - verdicts, 0.0)  # judge said 0
    post = ones.sum(0) / seen.sum(0)
    known = np.zeros(post.shape, dtype=bool) if anchors is None else ~np.isnan(anchors[voted])
    truth = np.zeros(post.shape) if anchors is None else np.nan_to_num(anchors[voted])

    def clamped(p: Floats) -> Floats:
        out: Floats = np.where(known, truth, p)
        return out

    post = clamped(post)
    prior = float(post.mean())
    e = _m_step(ones, zeros, post)
    loss = -math.inf
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        post = clamped(_e_step(ones, zeros, prior, e))
        prior = float(post.mean())
        e = _m_step(ones, zeros, post)
        if tol == -math.inf:
            continue  # a fixed number of steps: no stopping test, so no bound to compute
        new = _elbo(ones, zeros, post, prior, e) / float(seen.sum())
        if new - loss < tol:
            break
        loss = new
    full = np.full(voted.shape, np.nan)
    full[voted] = post
    return DawidSkene(full, e[:, 0], 1 - e[:, 1], prior, it)


def _m_step(ones: Floats, zeros: Floats, post: Floats) -> Floats:
    """P(judge says 1 | truth) for truth 1 and 0, counts floored at 1e-10 as crowd-kit does."""
    c11 = np.maximum(ones @ post, _EPS)
    c01 = np.maximum(zeros @ post, _EPS)
    c10 = np.maximum(ones @ (1 - post), _EPS)
    c00 = np.maximum(zeros @ (1 - post), _EPS)
    return np.stack([c11 / (c11 + c01), c10 / (c10 + c00)], axis=1)


def _e_step(ones: Floats, zeros: Floats, prior: float, e: Floats) -> Floats:
    p = max(prior, _EPS), max(1 - prior, _EPS)
    log1 = math.log(p[0]) + np.log(e[:, 0]) @ ones + np.log(1 - e[:, 0]) @ zeros
    log0 = math.log(p[1]) + np.log(e[:, 1]) @ ones + np.log(1 - e[:, 1]) @ zeros
    top = np.maximum(log1, log0)
    a, b = np.exp(log1 - top), np.exp(log0 - top)
    out: Floats = a / (a + b)
    return out


def _elbo(ones: Floats, zeros: Floats, post: Floats, prior: float, e: Floats) -> float:
    lp1, lp0 = math.log(max(prior, _EPS)), math.log(max(1 - prior, _EPS))
    ll1 = np.log(e[:, 0]) @ ones + np.log(1 - e[:, 0]) @ zeros + lp1 * (ones + zeros).sum(0)
    ll0 = np.log(e[:, 1]) @ ones + np.log(1 - e[:, 1]) @ zeros + lp0 * (ones + zeros).sum(0)
    q1, q0 = np.maximum(post, _EPS), np.maximum(1 - post, _EPS)
    entropy = -(q1 * np.log(q1) + q0 * np.log(q0)).sum()
    return float((post * ll1 + (1 - post) * ll0).sum() + entropy)


# -- anchor budget -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AnchorBudget:
    """Human labels needed for a PPI++ interval of half-width `target` on a pool of `pool`."""

    target: float
    pool: int
    anchors: int | None
    half_width: float
    without_judge: int


def anchor_budget(
    pool: int,
    *,
    target: float,
    prevalence: float,
    sensitivity: float,
    specificity: float,
    level: float = LEVEL,
) -> AnchorBudget:
    """Smallest n with PPI++ half-width ≤ `target`, from the population moments a judge with
    these error rates implies: q = p·Se + (1-p)(1-Sp), Cov = p·Se - p·q, optimal λ clipped to
    [0, 1], Var = (p(1-p) - 2λCov + λ²q(1-q))/n + λ²q(1-q)/(N - n). `anchors` is None when no
    n < N reaches the target (the pool is too small); `without_judge` is z²p(1-p)/target²."""
    if target <= 0:
        raise InputError(f"the target half-width must be positive (got {target})")
    z = z_value(level)
    p, q = prevalence, prevalence * sensitivity + (1 - prevalence) * (1 - specificity)
    var_y, var_f, cov = p * (1 - p), q * (1 - q), p * sensitivity - p * q
    n = np.arange(2, max(pool, 3), dtype=np.float64)
    rest = pool - n
    lam = np.clip(cov / (var_f * (1 + n / rest)), 0, 1) if var_f > 0 else np.zeros_like(n)
    var = (var_y - 2 * lam * cov + lam**2 * var_f) / n + lam**2 * var_f / rest
    half = z * np.sqrt(np.maximum(var, 0))
    hit = np.flatnonzero(half <= target)
    without = math.ceil(z * z * var_y / target**2)
    if hit.size == 0:
        return AnchorBudget(target, pool, None, float(half.min()), without)
    k = int(hit[0])
    return AnchorBudget(target, pool, int(n[k]), float(half[k]), without)


# -- everything at once, from a judge table ------------------------------------------------
@dataclass(frozen=True, slots=True)
class JudgeCorrection:
    """One judge's corrected estimates of the pool's acceptable share and its anchor budget."""

    judge: str
    judge_share: float
    ppi: ShareEstimate
    rogan_gladen: ShareEstimate
    budget: AnchorBudget | None


@dataclass(frozen=True, slots=True)
class Correction:
    """Corrected shares per judge, Dawid-Skene over all judges, the chosen acceptance rule."""

    source: str
    n_pool: int
    n_anchors: int
    anchor_share: Estimate
    judges: tuple[JudgeCorrection, ...]
    dawid_skene_share: float
    dawid_skene: DawidSkene
    rule: Rule | None
    rules: tuple[Rule, ...]
    target_precision: float
    hidden_truth: float | None

    def to_json(self) -> dict[str, object]:
        def share(s: ShareEstimate) -> dict[str, object]:
            est = s.estimate.to_json() if s.estimate is not None else None
            return {"estimate": est, "detail": s.detail, "refused": s.refused}

        return {
            "source": self.source,
            "n_pool": self.n_pool,
            "n_anchors": self.n_anchors,
            "anchor_share": self.anchor_share.to_json(),
            "hidden_truth": self.hidden_truth,
            "judges": [
                {
                    "judge": j.judge,
                    "judge_share": j.judge_share,
                    "ppi": share(j.ppi),
                    "rogan_gladen": share(j.rogan_gladen),
                    "budget": None
                    if j.budget is None
                    else {
                        "target_half_width": j.budget.target,
                        "anchors": j.budget.anchors,
                        "half_width": j.budget.half_width,
                        "without_judge": j.budget.without_judge,
                    },
                }
                for j in self.judges
            ],
            "dawid_skene": {
                "share": self.dawid_skene_share,
                "prior": self.dawid_skene.prior,
                "iterations": self.dawid_skene.iterations,
                "sensitivity": self.dawid_skene.sensitivity.tolist(),
                "specificity": self.dawid_skene.specificity.tolist(),
            },
            "target_precision": self.target_precision,
            "rule": None if self.rule is None else _rule_json(self.rule),
            "rules": [_rule_json(r) for r in self.rules],
        }


def _rule_json(r: Rule) -> dict[str, object]:
    return {
        "rule": r.describe(),
        "kept_anchors": r.kept_anchors,
        "precision": r.precision if math.isfinite(r.precision) else None,
        "lower_bound": r.lower_bound,
        "kept_share": r.kept_share,
    }


def correction(
    table: JudgeTable,
    *,
    target_precision: float = 0.9,
    target_width: float = 0.02,
    anchor_sample: int | None = None,
    seed: int = 0,
    level: float = LEVEL,
) -> Correction:
    """Items with a human label are anchors, the rest the pool (first-run verdicts). With
    `anchor_sample`, only that many random labelled items stay anchors and the others' labels
    are hidden, so the corrected shares can be checked against `hidden_truth`."""
    human = table.human.copy()
    labelled = np.flatnonzero(~np.isnan(human))
    hidden_truth = None
    if anchor_sample is not None:
        if not 2 <= anchor_sample < labelled.size:
            raise InputError(
                f"--anchor-sample {anchor_sample}: choose 2 to {labelled.size - 1} of the "
                f"{labelled.size} labelled items"
            )
        keep = np.random.default_rng(seed).choice(labelled, anchor_sample, replace=False)
        hide = np.setdiff1d(labelled, keep)
        hidden_truth = float(human[hide].mean())
        human[hide] = np.nan
    is_anchor = ~np.isnan(human)
    n_anchor, n_pool = int(is_anchor.sum()), int((~is_anchor).sum())
    if n_anchor < 2 or n_pool < 2:
        hint = ""
        if anchor_sample is None and n_pool < 2 and labelled.size > 2:
            have = f"every one of the {human.size} items has"
            if n_pool:
                have = f"all but one of the {human.size} items have"
            hint = (
                f"; {have} a human label, so there is nothing to "
                f"correct. To check the correction on these labels, pass --anchor-sample N "
                f"(2 to {labelled.size - 1}): N random labelled items stay anchors, the others' "
                "labels are hidden and then compared with the corrected shares"
            )
        raise InputError(
            f"{table.source}: correction needs at least 2 anchors (items with a human label) "
            f"and 2 pool items without one; found {n_anchor} and {n_pool}{hint}"
        )
    verdicts = table.verdicts[:, :, 0]
    scores = None if table.scores is None else table.scores[:, :, 0]
    y = human[is_anchor]
    results = []
    for j, name in enumerate(table.judges):
        seen = ~np.isnan(verdicts[j])
        a, p = seen & is_anchor, seen & ~is_anchor
        ya, fa, fp_ = human[a], verdicts[j][a], verdicts[j][p]
        ppi = ppi_mean(ya, fa, fp_, level=level)
        rg = rogan_gladen(ya, fa, fp_, level=level)
        budget = None
        if "sensitivity" in rg.detail and 0 < ya.mean() < 1:
            budget = anchor_budget(
                int(seen.sum()),
                target=target_width,
                prevalence=float(ya.mean()),
                sensitivity=min(max(rg.detail["sensitivity"], 1e-6), 1 - 1e-6),
                specificity=min(max(rg.detail["specificity"], 1e-6), 1 - 1e-6),
                level=level,
            )
        results.append(JudgeCorrection(name, float(verdicts[j][seen].mean()), ppi, rg, budget))
    ds = dawid_skene(verdicts, human)
    best, rules = choose_rule(
        table.judges,
        y,
        verdicts[:, is_anchor],
        verdicts[:, ~is_anchor],
        target_precision=target_precision,
        anchor_scores=None if scores is None else scores[:, is_anchor],
        pool_scores=None if scores is None else scores[:, ~is_anchor],
        alpha=1 - level,
    )
    return Correction(
        source=table.source,
        n_pool=n_pool,
        n_anchors=n_anchor,
        anchor_share=wilson(float(y.sum()), float(y.size), level),
        judges=tuple(results),
        dawid_skene_share=float(np.nanmean(ds.posterior[~is_anchor])),
        dawid_skene=ds,
        rule=best,
        rules=rules,
        target_precision=target_precision,
        hidden_truth=hidden_truth,
    )
