"""Curriculum: preference pairs ordered from easy to hard, and whether the order helps.

Curriculum-RLAIF (Li et al. 2025, arXiv 2505.20075) trains the reward model on pairs from easy
to hard. keel scores a pair's difficulty from what the judges said about it, over every showing
s (both orders, every judge given): c_s = +1 when the showing picked `a`, −1 for `b`, 0 for a
tie, and m_s the judge's margin in [0, 1] (its `score` when it gives one, else 1); then

    ease = |(1/S)·Σ_s m_s·c_s|,    difficulty = 1 − ease.

A pair every showing agrees on with full margin has difficulty 0; one on which the orders or
the judges disagree (their votes cancel) or whose margins are thin comes near 1. The
components are reported too: `order_disagreement` = the mean over judges of |v(a first) −
v(b first)| (v: the share of a judge's showings in that order that picked `a`), and
`judge_disagreement` = the largest gap between two judges' votes for `a`. A fit given the
stages trains on them cumulatively, easy first (`keel.rlaif.reward.schedule`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from keel.errors import ConfigError
from keel.judges import Estimate, wilson
from keel.rlaif.pairs import JudgedPair, Pair
from keel.rlaif.reward import RewardFit, ranked_right


@dataclass(frozen=True, slots=True)
class Difficulty:
    """A pair's difficulty (the module docstring) and its two disagreement components."""

    difficulty: float
    order_disagreement: float
    judge_disagreement: float


@dataclass(frozen=True, slots=True)
class Curriculum:
    """Stages of pair indices, easy to hard, and each pair's difficulty."""

    stages: tuple[tuple[int, ...], ...]
    difficulty: tuple[Difficulty, ...]


@dataclass(frozen=True, slots=True)
class OrderComparison:
    """Held-out accuracy of the same fit with the curriculum's order and shuffled, and their
    difference (curriculum − shuffled) with a paired bootstrap interval over held-out pairs."""

    curriculum: Estimate
    shuffled: Estimate
    difference: Estimate


def _key(pair: Pair) -> str:
    return hashlib.sha256("\x00".join((pair.prompt, pair.a.text, pair.b.text)).encode()).hexdigest()


def difficulty(judged: Sequence[JudgedPair], others: Sequence[JudgedPair] = ()) -> list[Difficulty]:
    """The difficulty of each pair of `judged`, counting the showings of `others` (other judges)
    on the same pairs (same prompt and texts)."""
    extra: dict[str, list[JudgedPair]] = {}
    for o in others:
        extra.setdefault(_key(o.pair), []).append(o)
    out = []
    for j in judged:
        views = [j, *extra.get(_key(j.pair), [])]
        signed = [
            (2 * s.for_a - 1) * (1.0 if s.score is None else min(1.0, abs(s.score)))
            for v in views
            for s in v.shown
        ]
        ease = abs(sum(signed) / len(signed))
        gaps = []
        for v in views:
            ab = [s.for_a for s in v.shown if s.a_first]
            ba = [s.for_a for s in v.shown if not s.a_first]
            if ab and ba:
                gaps.append(abs(sum(ab) / len(ab) - sum(ba) / len(ba)))
        votes = [v.for_a for v in views]
        out.append(
            Difficulty(
                1.0 - ease,
                sum(gaps) / len(gaps) if gaps else 0.0,
                max(votes) - min(votes),
            )
        )
    return out


def curriculum(
    judged: Sequence[JudgedPair], others: Sequence[JudgedPair] = (), *, stages: int = 3
) -> Curriculum:
    """`judged` split into `stages` groups of (nearly) equal size by difficulty, easiest first;
    equal difficulties keep their input order (a stable sort)."""
    if stages < 1:
        raise ConfigError(f"a curriculum needs at least one stage, got {stages}")
    scores = difficulty(judged, others)
    order = sorted(range(len(judged)), key=lambda k: scores[k].difficulty)
    bounds = np.linspace(0, len(order), stages + 1).round().astype(int)
    groups = tuple(tuple(order[lo:hi]) for lo, hi in pairwise(bounds) if hi > lo)
    return Curriculum(groups, tuple(scores))


def compare_orders(
    fit: Callable[[Sequence[Sequence[int]] | None], RewardFit],
    plan: Curriculum,
    heldout: Sequence[Pair],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> OrderComparison:
    """Fit twice, with the curriculum's stages and shuffled (`fit(stages)` / `fit(None)`, same
    seed and settings), and compare held-out accuracy on the expert-labelled pairs."""
    with_plan = fit(plan.stages).model
    shuffled = fit(None).model
    a, b = ranked_right(with_plan, heldout), ranked_right(shuffled, heldout)
    rng = np.random.default_rng(seed)
    draws = rng.integers(len(a), size=(n_resamples, len(a)))
    diffs = (a[draws] - b[draws]).mean(axis=1)
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return OrderComparison(
        wilson(float(a.sum()), len(a)),
        wilson(float(b.sum()), len(b)),
        Estimate(float(a.mean() - b.mean()), float(lo), float(hi), "bootstrap"),
    )
