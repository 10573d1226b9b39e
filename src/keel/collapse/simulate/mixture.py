"""The Gaussian mixture model: K 1-D components refitted by EM on their own samples."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from keel.collapse.simulate.config import (
    FloatArray,
    Progress,
    Simulation,
    next_training,
    typical,
)


@dataclass(frozen=True, slots=True)
class Mixture:
    """1-D Gaussian mixtures, one per repetition: weights, means, variances (reps x K)."""

    weights: FloatArray
    means: FloatArray
    variances: FloatArray

    def log_density(self, x: FloatArray) -> FloatArray:
        """log p(x) per point and component (reps x N x K), weights included."""
        v = self.variances[:, None, :]
        d = x[:, :, None] - self.means[:, None, :]
        return np.log(self.weights[:, None, :]) - 0.5 * (np.log(2 * np.pi * v) + d * d / v)

    def tail_mass(self, lo: float, hi: float) -> FloatArray:
        sd = np.sqrt(self.variances)
        below = stats.norm.cdf((lo - self.means) / sd)
        above = stats.norm.sf((hi - self.means) / sd)
        return np.asarray((self.weights * (below + above)).sum(axis=1), np.float64)

    def variance(self) -> FloatArray:
        mean = (self.weights * self.means).sum(axis=1)
        second = (self.weights * (self.variances + self.means**2)).sum(axis=1)
        return np.asarray(second - mean**2, np.float64)


def true_mixture(components: int, reps: int) -> Mixture:
    """Means 4 apart, unit variances, weights ∝ 2^(-k): the last component is the minority."""
    k = np.arange(components, dtype=np.float64)
    w = 2.0**-k
    return Mixture(
        np.tile(w / w.sum(), (reps, 1)),
        np.tile(4.0 * (k - (components - 1) / 2), (reps, 1)),
        np.ones((reps, components)),
    )


EM_STEPS = 25
EM_TOL = 1e-6
VAR_FLOOR = 1e-6


Moments = tuple[FloatArray, FloatArray, FloatArray]
"""EM sufficient statistics per repetition and component: Σ r, Σ r·x, Σ r·x² (r: responsibility)."""


def _moments(x: FloatArray, mix: Mixture) -> Moments:
    """E-step: the sufficient statistics of points x (reps x N) under `mix`."""
    logp = mix.log_density(x)
    resp = np.exp(logp - special.logsumexp(logp, axis=2, keepdims=True))
    rx = resp * x[:, :, None]
    return resp.sum(axis=1), rx.sum(axis=1), (rx * x[:, :, None]).sum(axis=1)


def _add(a: Moments | None, b: Moments) -> Moments:
    return b if a is None else (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _m_step(m: Moments) -> Mixture:
    """M-step: weights Σr/N, means Σrx/Σr, variances Σrx²/Σr - mean² (floored)."""
    n = m[0] + 1e-12
    means = m[1] / n
    var = np.maximum(m[2] / n - means**2, VAR_FLOOR)
    return Mixture(n / n.sum(axis=1, keepdims=True), means, var)


def fit_mixture(
    x: FloatArray,
    start: Mixture,
    prior: Moments | None = None,
    steps: int = EM_STEPS,
    tol: float = EM_TOL,
) -> Mixture:
    """Maximum-likelihood refit by EM (Dempster, Laird & Rubin 1977), warm-started at `start`.

    Each repetition stops once no weight, mean or variance moves by more than `tol` in an
    iteration (at most `steps`). `prior`: sufficient statistics of earlier data, added to the
    E-step of `x` and kept fixed (incremental EM, Neal & Hinton 1998), so that refitting on a
    growing data set costs O(new points) per generation instead of O(all points).
    """
    w, mu, var = start.weights.copy(), start.means.copy(), start.variances.copy()
    active = np.arange(len(x))
    for _ in range(steps):
        if len(active) == 0:
            break
        m = _moments(x[active], Mixture(w[active], mu[active], var[active]))
        if prior is not None:
            m = _add(m, (prior[0][active], prior[1][active], prior[2][active]))
        new = _m_step(m)
        moved = np.maximum.reduce(
            [np.abs(a - b[active]).max(axis=1) for a, b in
             ((new.weights, w), (new.means, mu), (new.variances, var))]
        )  # fmt: skip
        w[active], mu[active], var[active] = new.weights, new.means, new.variances
        active = active[moved > tol]
    return Mixture(w, mu, var)


def _draw_mixture(
    rng: np.random.Generator, mix: Mixture, count: int, temperature: float = 1.0, keep: float = 1.0
) -> FloatArray:
    """Draws from each repetition's mixture (components tempered), the most typical kept."""
    reps = len(mix.weights)
    drawn = math.ceil(count / keep)
    cdf = np.cumsum(mix.weights, axis=1)
    comp = (rng.random((reps, drawn, 1)) * cdf[:, None, -1:] > cdf[:, None, :]).sum(axis=2)
    comp = np.minimum(comp, mix.weights.shape[1] - 1)
    mu = np.take_along_axis(mix.means, comp, axis=1)
    sd = np.sqrt(np.take_along_axis(mix.variances, comp, axis=1) * temperature)
    x = mu + sd * rng.standard_normal((reps, drawn))
    if drawn == count:
        return x
    return typical(x, special.logsumexp(mix.log_density(x), axis=2), count)


def simulate_mixture(
    cfg: Simulation, rng: np.random.Generator, tick: Progress
) -> dict[str, FloatArray]:
    reps, gens = cfg.repetitions, cfg.generations
    truth = true_mixture(cfg.components, reps)
    lo, hi = _mixture_quantiles(truth, 0.005)
    out = {k: np.zeros((reps, gens + 1)) for k in ("variance", "tail_mass", "min_weight")}
    mix = truth
    train: FloatArray | None = None
    real: FloatArray | None = None
    stored: Moments | None = None
    for g, fresh in enumerate(cfg.fresh_counts(), start=0):
        _record_mixture(out, g, mix, lo, hi)
        human = _draw_mixture(rng, truth, int(fresh))
        synth = None
        if g > 0:
            synth = _draw_mixture(rng, mix, cfg.samples - int(fresh), cfg.temperature, cfg.keep)
        new = human if synth is None else np.concatenate([human, synth], axis=1)
        if g == 0:
            real = new
        if cfg.loop == "accumulate":
            mix = fit_mixture(new, mix, stored)
            stored = _add(stored, _moments(new, mix))
        else:
            train = next_training(cfg.loop, train, new, real, synth, _concat)
            mix = fit_mixture(train, mix)
        tick(g + 1, gens)
    _record_mixture(out, gens, mix, lo, hi)
    return out


def _concat(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.concatenate([a, b], axis=1)


def _mixture_quantiles(truth: Mixture, tail: float) -> tuple[float, float]:
    one = Mixture(truth.weights[:1], truth.means[:1], truth.variances[:1])

    def cdf(x: float) -> float:
        return float((one.weights * stats.norm.cdf((x - one.means) / np.sqrt(one.variances))).sum())

    span = float(np.abs(one.means).max() + 10)
    lo = optimize.brentq(lambda x: cdf(x) - tail, -span, span)
    hi = optimize.brentq(lambda x: cdf(x) - (1 - tail), -span, span)
    return float(lo), float(hi)


def _record_mixture(out: dict[str, FloatArray], g: int, mix: Mixture, lo: float, hi: float) -> None:
    out["variance"][:, g] = mix.variance()
    out["tail_mass"][:, g] = mix.tail_mass(lo, hi)
    out["min_weight"][:, g] = mix.weights.min(axis=1)
