"""Closed forms: the expected curves the simulator is tested against, where the literature
gives one (Gaussian variance and mean, log-variance random walk, categorical presence)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

from keel.collapse.simulate.categorical import tail_categories, zipf_law
from keel.collapse.simulate.choices import Refit
from keel.collapse.simulate.config import FloatArray, Simulation
from keel.errors import ConfigError


def theory(cfg: Simulation) -> dict[str, FloatArray]:
    """Closed-form expected curves for the settings where the literature gives one."""
    n = np.arange(cfg.generations + 1, dtype=np.float64)
    plain = cfg.keep == 1.0
    if cfg.model == "gaussian" and plain and cfg.loop in ("replace", "fresh"):
        s, q = gaussian_expectations(cfg)
        return {"variance": s, "mean_square": q}
    if cfg.model == "categorical" and plain and cfg.temperature == 1.0:
        truth = zipf_law(cfg.categories, cfg.zipf_exponent)
        curves: dict[str, FloatArray] = {}
        if cfg.loop == "replace":
            curves["gini_simpson"] = (1 - (truth * truth).sum()) * (1 - 1 / cfg.samples) ** n
        if cfg.loop in ("replace", "fresh") and cfg.alpha_decay == 1.0:
            a = float(cfg.fresh_counts()[-1]) / cfg.samples if cfg.generations > 1 else 0.0
            shares = presence(cfg.samples * truth, cfg.generations, a)
            curves["support"] = shares.sum(axis=0)
            curves["tail_retention"] = shares[tail_categories(truth)].mean(axis=0)
        return curves
    if cfg.model == "regression" and cfg.temperature == 1.0:
        unit = cfg.noise**2 * cfg.dim / (cfg.samples - cfg.dim - 1)
        if cfg.loop == "replace":
            return {"test_error": unit * n}
        if cfg.loop == "accumulate":
            return {"test_error": unit * np.concatenate([[0.0], np.cumsum(1 / n[1:] ** 2)])}
    return {}


def gaussian_expectations(cfg: Simulation) -> tuple[FloatArray, FloatArray]:
    """Exact E[s²ₙ] and E[μ²ₙ], n = 0 … generations, for the replace and fresh loops.

    With m₁ = round(aM) fresh points from N(0, 1) and m₂ = M - m₁ synthetic ones from
    N(μ, Ts²), the pooled sample gives, with a = m₁/M and v = a + (1 - a)·T·s²:
        E[s²ₙ₊₁] = c·v + k·a(1 - a)·μ²ₙ,  E[μ²ₙ₊₁] = (1 - a)²·μ²ₙ + v/M,
    c = 1 - 1/M, k = 1 (MLE) or c = 1, k = M/(M - 1) (unbiased), linear in (s², μ²) so the
    expectations follow exactly. With a = 0 and MLE: E[s²ₙ] = (1 - 1/M)ⁿ.
    """
    m = cfg.samples
    c, k = (1 - 1 / m, 1.0) if cfg.refit == "mle" else (1.0, m / (m - 1))
    s, q = [1.0], [0.0]
    for g, fresh in enumerate(cfg.fresh_counts(), start=1):
        a = fresh / m
        v = a + (1 - a) * (1.0 if g == 1 else cfg.temperature) * s[-1]
        s.append(c * v + k * a * (1 - a) * q[-1])
        q.append((1 - a) ** 2 * q[-1] + v / m)
    return np.array(s), np.array(q)


def gaussian_fixed_point(alpha: float, samples: int, refit: Refit = "mle") -> float:
    """The variance E[s²] settles at under a constant fresh share a > 0 (T = 1).

    Solving the fixed point of `gaussian_expectations`: s²* = ag / (1 - (1 - a)g) with
    g = 1 - 1/(M(2 - a)) for MLE refits and g = 1 + (1 - a)/((M - 1)(2 - a)) for unbiased ones.
    """
    if not 0 < alpha <= 1:
        raise ConfigError(f"the fixed point needs 0 < alpha ≤ 1, got {alpha}")
    m = samples
    if refit == "mle":
        gamma = 1 - 1 / (m * (2 - alpha))
    else:
        gamma = 1 + (1 - alpha) / ((m - 1) * (2 - alpha))
    return alpha * gamma / (1 - (1 - alpha) * gamma)


def log_variance_moments(samples: int, generations: int, refit: Refit) -> tuple[FloatArray, ...]:
    """E and Var of log s²ₙ under the replace loop: a random walk of log(χ²_{M-1}/d) steps.

    Each refit multiplies s² by χ²_{M-1}/d (d = M for MLE, M - 1 unbiased), so
    E log s²ₙ = n(ψ((M-1)/2) + ln(2/d)) and Var log s²ₙ = n·ψ'((M-1)/2): the spread grows
    linearly even when E[s²ₙ] = 1 (unbiased refit), and s²ₙ → 0 almost surely.
    """
    n = np.arange(generations + 1, dtype=np.float64)
    d = samples if refit == "mle" else samples - 1
    half = (samples - 1) / 2
    return n * (special.digamma(half) + math.log(2 / d)), n * special.polygamma(1, half)


def presence(
    expected: npt.ArrayLike, generations: int, alpha: float = 0.0, *, sampled: bool = False
) -> FloatArray:
    """P(a type is in training set n), n = 0 … generations (1 at n = 0, the truth).

    `expected` = e: the type's expected count in a human sample of size M. Its count is a
    branching process (the Poisson limit of multinomial refits, M large): X₁ ~ Poisson(e) and
    Xₙ = Poisson(a·e) + Poisson((1 - a)·Xₙ₋₁) — each copy leaves Poisson(1 - a) copies, a
    subcritical Galton-Watson process with Poisson(a·e) immigration (Athreya & Ney 1972); the
    replace loop, a = 0, is critical. With h(s) = exp((1 - a)(s - 1)) its generating function is
        Gₙ(s) = exp(e·[a·Σ_{k<n-1} (hᵏ(s) - 1) + hⁿ⁻¹(s) - 1]),
    and P(Xₙ = 0) = Gₙ(0); for a = 0 that is fₙ(0)^e with f₁(0) = e⁻¹, f_{k+1}(0) = exp(fₖ(0) - 1).
    The mean stays e for every a. `sampled`: presence in M draws from model n, 1 - Gₙ(e⁻¹).
    """
    e = np.asarray(expected, dtype=np.float64)[..., None]
    z = math.exp(-1.0) if sampled else 0.0
    acc = 0.0
    logs = []
    for _ in range(generations):
        logs.append(acc + z - 1.0)
        acc += alpha * (z - 1.0)
        z = math.exp((1.0 - alpha) * (z - 1.0))
    absent = np.exp(e * np.array(logs))
    ones = np.ones((*e.shape[:-1], 1))
    return np.asarray(np.concatenate([ones, 1.0 - absent], axis=-1), dtype=np.float64)
