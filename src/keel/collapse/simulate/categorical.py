"""The categorical model: a Zipf law over K categories, refitted by counting its own samples."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

from keel.collapse.simulate.config import FloatArray, Progress, Simulation, next_training

CATEGORICAL_TAIL = 0.2
"""Categorical tail: the rarest categories that together hold 20% of the true mass (their mass is
`tail_mass`, the share of them still in the model's support `tail_retention`)."""


def zipf_law(categories: int, exponent: float) -> FloatArray:
    """p_k ∝ k^(-s), k = 1 … K."""
    w: FloatArray = np.arange(1, categories + 1, dtype=np.float64) ** -exponent
    return np.asarray(w / w.sum(), dtype=np.float64)


def _typical_counts(counts: FloatArray, p: FloatArray, keep: int) -> FloatArray:
    """Of the drawn counts, keep `keep` per row, most probable categories first."""
    order = np.argsort(-p, axis=1, kind="stable")
    c = np.take_along_axis(counts, order, axis=1)
    before = np.cumsum(c, axis=1) - c
    kept = np.clip(keep - before, 0, c)
    out = np.zeros_like(counts)
    np.put_along_axis(out, order, kept, axis=1)
    return out


def simulate_categorical(
    cfg: Simulation, rng: np.random.Generator, tick: Progress
) -> dict[str, FloatArray]:
    reps, gens = cfg.repetitions, cfg.generations
    truth = zipf_law(cfg.categories, cfg.zipf_exponent)
    tail = tail_categories(truth)
    p = np.tile(truth, (reps, 1))
    out = {k: np.zeros((reps, gens + 1)) for k in ("gini_simpson", "entropy", "support")}
    out |= {k: np.zeros((reps, gens + 1)) for k in ("tail_mass", "tail_retention", "js_to_truth")}
    train: FloatArray | None = None
    real: FloatArray | None = None
    _record_categorical(out, 0, p, truth, tail)
    for g, fresh in enumerate(cfg.fresh_counts(), start=1):
        human = rng.multinomial(fresh, truth, size=reps).astype(np.float64)
        synth = None
        if g > 1:
            q = p ** (1 / cfg.temperature)
            q /= q.sum(axis=1, keepdims=True)
            want = cfg.samples - fresh
            synth = rng.multinomial(math.ceil(want / cfg.keep), q).astype(np.float64)
            if cfg.keep < 1:
                synth = _typical_counts(synth, p, want)
        new = human if synth is None else human + synth
        if g == 1:
            real = new
        train = next_training(cfg.loop, train, new, real, synth, np.add)
        p = train / train.sum(axis=1, keepdims=True)
        _record_categorical(out, g, p, truth, tail)
        tick(g, gens)
    return out


def tail_categories(truth: FloatArray) -> npt.NDArray[np.bool_]:
    """The rarest categories that together hold at most `CATEGORICAL_TAIL` of the mass."""
    order = np.argsort(truth)
    rare = np.cumsum(truth[order]) <= CATEGORICAL_TAIL
    mask = np.zeros(len(truth), dtype=bool)
    mask[order[rare]] = True
    return mask


def _record_categorical(
    out: dict[str, FloatArray],
    g: int,
    p: FloatArray,
    truth: FloatArray,
    tail: npt.NDArray[np.bool_],
) -> None:
    out["gini_simpson"][:, g] = 1 - (p * p).sum(axis=1)
    out["entropy"][:, g] = -special.xlogy(p, p).sum(axis=1) / math.log(2)
    out["support"][:, g] = (p > 0).sum(axis=1)
    out["tail_mass"][:, g] = p[:, tail].sum(axis=1)
    out["tail_retention"][:, g] = (p[:, tail] > 0).mean(axis=1)
    mid = (p + truth) / 2
    js = special.xlogy(p, p / np.where(mid > 0, mid, 1)) + special.xlogy(truth, truth / mid)
    out["js_to_truth"][:, g] = np.clip(js.sum(axis=1) / (2 * math.log(2)), 0, 1)
