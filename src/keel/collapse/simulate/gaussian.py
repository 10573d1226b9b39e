"""The Gaussian model: N(μ, s²) refitted by MLE or unbiased variance on its own samples."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from keel.collapse.simulate.config import (
    FloatArray,
    Progress,
    Simulation,
    next_training,
    typical,
)

TAIL_Z = float(stats.norm.ppf(0.995))
"""Gaussian tails: |x| beyond the truth's 0.5% and 99.5% quantiles (1% of its mass)."""
Stats = tuple[FloatArray, FloatArray, FloatArray]
"""Sufficient statistics per repetition: count, mean, sum of squared deviations."""


def _stats(x: FloatArray) -> Stats:
    mean = x.mean(axis=1)
    return (np.full(len(x), float(x.shape[1])), mean, ((x - mean[:, None]) ** 2).sum(axis=1))


def _merge(a: Stats, b: Stats) -> Stats:
    """Pooled statistics of two samples (Chan, Golub & LeVeque 1979)."""
    n = a[0] + b[0]
    delta = b[1] - a[1]
    return n, a[1] + delta * b[0] / n, a[2] + b[2] + delta**2 * a[0] * b[0] / n


def _draw_gaussian(
    rng: np.random.Generator, mu: FloatArray, var: FloatArray, count: int, cfg: Simulation
) -> FloatArray:
    """Synthetic draws from N(μ, Ts²), the `count` most typical of ⌈count/keep⌉ kept."""
    drawn = math.ceil(count / cfg.keep)
    z = rng.standard_normal((len(mu), drawn))
    x = mu[:, None] + np.sqrt(var * cfg.temperature)[:, None] * z
    return typical(x, -np.abs(z), count) if drawn > count else x


def simulate_gaussian(
    cfg: Simulation, rng: np.random.Generator, tick: Progress
) -> dict[str, FloatArray]:
    reps, gens = cfg.repetitions, cfg.generations
    mu, var = np.zeros(reps), np.ones(reps)
    out = {k: np.zeros((reps, gens + 1)) for k in ("variance", "mean", "tail_mass", "kl")}
    train: Stats | None = None
    real: Stats | None = None
    for g, fresh in enumerate(cfg.fresh_counts(), start=1):
        human = _stats(rng.standard_normal((reps, fresh))) if fresh else None
        synthetic = cfg.samples - fresh if g > 1 else 0
        synth = _stats(_draw_gaussian(rng, mu, var, synthetic, cfg)) if synthetic else None
        parts = [p for p in (human, synth) if p is not None]
        new = parts[0] if len(parts) == 1 else _merge(parts[0], parts[1])
        if g == 1:
            real = new
        train = next_training(cfg.loop, train, new, real, synth, _merge)
        n, mu, m2 = train
        var = m2 / (n if cfg.refit == "mle" else n - 1)
        _record_gaussian(out, g, mu, var)
        tick(g, gens)
    _record_gaussian(out, 0, np.zeros(reps), np.ones(reps))
    return out


def _record_gaussian(out: dict[str, FloatArray], g: int, mu: FloatArray, var: FloatArray) -> None:
    sd = np.sqrt(np.maximum(var, 1e-300))
    out["variance"][:, g] = var
    out["mean"][:, g] = mu
    out["tail_mass"][:, g] = stats.norm.cdf((-TAIL_Z - mu) / sd) + stats.norm.sf((TAIL_Z - mu) / sd)
    out["kl"][:, g] = 0.5 * (1.0 / np.maximum(var, 1e-300) + mu**2 / var - 1.0 + np.log(var))
