"""The recursive-training simulator: fit a model, sample from it, refit on the samples, repeat.

Generation 0 is the true (human) distribution; the model of generation n ≥ 1 is fitted on a
training set of `samples` points built by the loop from samples of model n - 1 (for n = 1 these
are human data):

- ``replace``: only the samples of model n - 1 (fully synthetic; Shumailov et al., Nature 2024);
- ``accumulate``: every training set so far plus the new samples (Gerstgrasser et al. 2024);
- ``fresh``: a share aₙ of fresh human data, the rest synthetic; aₙ = a·decayⁿ⁻¹ (aₙ → 0 when
  decay < 1; Bertrand et al., ICLR 2024; Alemohammad et al., ICLR 2024);
- ``augment``: the fixed human set of generation 1 plus the new samples.

Sampling bias: synthetic samples come from the model at temperature T (p^(1/T); a Gaussian's
variance scaled by T). The judge filter draws ⌈M/keep⌉ synthetic samples and keeps the M most
typical (highest model density). Every model is vectorised over repetitions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from keel.collapse.metrics import CollapseMetrics, MetricsConfig, Reference, measure
from keel.errors import ConfigError
from keel.models import NGramModel
from keel.text import detokenize, load_fortunes, tokenize_all

FloatArray = npt.NDArray[np.float64]
Model = Literal["gaussian", "mixture", "categorical", "regression", "ngram"]
Loop = Literal["replace", "accumulate", "fresh", "augment"]
Refit = Literal["mle", "unbiased"]
MODELS: tuple[Model, ...] = ("gaussian", "mixture", "categorical", "regression", "ngram")
LOOPS: tuple[Loop, ...] = ("replace", "accumulate", "fresh", "augment")
TAIL_Z = float(stats.norm.ppf(0.995))
"""Gaussian tails: |x| beyond the truth's 0.5% and 99.5% quantiles (1% of its mass)."""
CATEGORICAL_TAIL = 0.2
"""Categorical tail: the rarest categories that together hold 20% of the true mass."""
MAX_VALUES = 50_000_000
"""The most values a simulation holds at once, over its repetitions (`Simulation.values`):
about 400 MB per array of them."""


@dataclass(frozen=True, slots=True)
class Simulation:
    """One simulated experiment: model, loop, sizes, bias, filter and seed."""

    model: Model = "gaussian"
    loop: Loop = "replace"
    generations: int = 20
    repetitions: int = 100
    samples: int = 100
    """M: training points per generation (texts for the n-gram model, rows for regression)."""
    alpha: float = 0.0
    """Fresh human share of each training set (loop ``fresh``)."""
    alpha_decay: float = 1.0
    refit: Refit = "mle"
    """Gaussian variance refit: MLE (divide by M) or unbiased (divide by M - 1)."""
    temperature: float = 1.0
    keep: float = 1.0
    """Judge filter: the share of synthetic samples kept, the most typical first."""
    seed: int = 0
    categories: int = 1000
    zipf_exponent: float = 1.1
    components: int = 3
    dim: int = 10
    noise: float = 1.0
    order: int = 3
    corpus: tuple[str, ...] | None = field(default=None, repr=False)
    """Human texts for the n-gram model (default: the fortune corpus)."""

    def __post_init__(self) -> None:
        checks = [
            (self.model in MODELS, f"model must be one of {', '.join(MODELS)}"),
            (self.loop in LOOPS, f"loop must be one of {', '.join(LOOPS)}"),
            (self.refit in ("mle", "unbiased"), "refit must be mle or unbiased"),
            (self.generations >= 1 and self.repetitions >= 1, "generations, repetitions ≥ 1"),
            (self.samples >= 2, "samples must be ≥ 2"),
            (0.0 <= self.alpha <= 1.0, "alpha must be in [0, 1]"),
            (0.0 <= self.alpha_decay <= 1.0, "alpha_decay must be in [0, 1]"),
            (self.loop == "fresh" or self.alpha == 0.0, "alpha needs --loop fresh"),
            (self.temperature > 0, "temperature must be > 0"),
            (0.0 < self.keep <= 1.0, "keep must be in (0, 1]"),
            (self.model != "regression" or self.keep == 1.0, "regression has no judge filter"),
            (self.model != "regression" or self.samples > self.dim + 1, "regression needs M > d+1"),
            (self.categories >= 2 and self.components >= 1 and self.dim >= 1, "sizes ≥ 1"),
            (math.isfinite(self.zipf_exponent), "the Zipf exponent must be a finite number"),
            (0 <= self.noise < math.inf, "noise must be a finite number ≥ 0"),
            (
                max(self.generations, self.repetitions, self.samples, self.categories,
                    self.components, self.dim) <= MAX_VALUES,
                f"generations, repetitions, samples and sizes ≤ {MAX_VALUES:,}",
            ),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"simulation: {message}")
        if self.values() > MAX_VALUES:
            raise ConfigError(
                f"simulation: {self.values():,} values at once (repetitions × the values of a "
                f"generation) is over {MAX_VALUES:,}: lower repetitions, samples, categories or "
                "dim, or raise keep"
            )

    def values(self) -> int:
        """Values held at once: repetitions × the larger of a generation's draws (⌈M/keep⌉,
        times d for regression or the components for a mixture), its categories (categorical)
        and the generations recorded."""
        width = {"regression": self.dim, "mixture": self.components}.get(self.model, 1)
        drawn = math.ceil(self.samples / self.keep) * width
        categories = self.categories if self.model == "categorical" else 0
        return self.repetitions * max(drawn, categories, self.generations + 1)

    def alphas(self) -> FloatArray:
        """aₙ for n = 1 … generations (generation 1 trains on human data only)."""
        n = np.arange(1, self.generations + 1)
        a = self.alpha * self.alpha_decay ** (n - 2.0) if self.loop == "fresh" else 0.0 * n
        return np.where(n == 1, 1.0, a)

    def fresh_counts(self) -> npt.NDArray[np.int64]:
        """Fresh human points in each training set: round(aₙ·M)."""
        return np.rint(self.alphas() * self.samples).astype(np.int64)


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Per-generation metrics (repetitions x generations+1) and closed-form curves where known."""

    config: Simulation
    metrics: Mapping[str, FloatArray]
    theory: Mapping[str, FloatArray]
    texts: tuple[tuple[str, ...], ...] = ()
    """n-gram model with `keep_texts`: the texts of each generation of repetition 0."""

    def mean(self, name: str) -> FloatArray:
        return np.asarray(np.nanmean(self.metrics[name], axis=0), dtype=np.float64)

    def stderr(self, name: str) -> FloatArray:
        """Standard error of the mean over repetitions (0 with one repetition)."""
        x = self.metrics[name]
        if x.shape[0] < 2:
            return np.zeros(x.shape[1])
        return np.asarray(np.nanstd(x, axis=0, ddof=1) / math.sqrt(x.shape[0]), np.float64)

    def quantiles(self, name: str, q: float = 0.1) -> tuple[FloatArray, FloatArray]:
        """The q and 1 - q quantiles over repetitions, per generation (the spread)."""
        x = self.metrics[name]
        lo, hi = np.nanquantile(x, [q, 1 - q], axis=0)
        return np.asarray(lo, np.float64), np.asarray(hi, np.float64)

    def to_json(self) -> dict[str, object]:
        cfg = {k: v for k, v in asdict(self.config).items() if k != "corpus"}
        out: dict[str, object] = {"config": cfg, "generations": list(range(self.generations))}
        per: dict[str, object] = {}
        for name in self.metrics:
            lo, hi = self.quantiles(name)
            per[name] = {
                "mean": _floats(self.mean(name)),
                "stderr": _floats(self.stderr(name)),
                "q10": _floats(lo),
                "q90": _floats(hi),
            }
        out["metrics"] = per
        out["theory"] = {k: _floats(v) for k, v in self.theory.items()}
        return out

    @property
    def generations(self) -> int:
        return int(next(iter(self.metrics.values())).shape[1])


def _floats(x: FloatArray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in x.tolist()]


Progress = Callable[[int, int], None]
D = TypeVar("D")


def simulate(
    config: Simulation, progress: Progress | None = None, *, keep_texts: bool = False
) -> SimulationResult:
    """Run every repetition of `config`; `progress(done, total)` is called once per generation."""
    rng = np.random.default_rng(config.seed)
    run = {
        "gaussian": _gaussian,
        "mixture": _mixture,
        "categorical": _categorical,
        "regression": _regression,
    }.get(config.model)
    tick = progress or (lambda done, total: None)
    if run is None:
        metrics, texts = simulate_ngram(config, rng, tick, keep_texts)
        return SimulationResult(config, metrics, {}, tuple(tuple(t) for t in texts))
    metrics = run(config, rng, tick)
    return SimulationResult(config, metrics, theory(config))


# -- Gaussian ------------------------------------------------------------------------------
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


def _typical(x: FloatArray, score: FloatArray, keep: int) -> FloatArray:
    """The `keep` entries of each row with the highest score."""
    idx = np.argsort(-score, axis=1, kind="stable")[:, :keep]
    return np.take_along_axis(x, idx, axis=1)


def _draw_gaussian(
    rng: np.random.Generator, mu: FloatArray, var: FloatArray, count: int, cfg: Simulation
) -> FloatArray:
    """Synthetic draws from N(μ, Ts²), the `count` most typical of ⌈count/keep⌉ kept."""
    drawn = math.ceil(count / cfg.keep)
    z = rng.standard_normal((len(mu), drawn))
    x = mu[:, None] + np.sqrt(var * cfg.temperature)[:, None] * z
    return _typical(x, -np.abs(z), count) if drawn > count else x


def _gaussian(cfg: Simulation, rng: np.random.Generator, tick: Progress) -> dict[str, FloatArray]:
    reps, gens = cfg.repetitions, cfg.generations
    mu, var = np.zeros(reps), np.ones(reps)
    out = {k: np.zeros((reps, gens + 1)) for k in ("variance", "mean", "tail_mass", "kl")}
    train: Stats | None = None
    real: Stats | None = None
    for g, fresh in enumerate(cfg.fresh_counts(), start=1):
        human = _stats(rng.standard_normal((reps, fresh))) if fresh else None
        synth = _stats(_draw_gaussian(rng, mu, var, cfg.samples - fresh, cfg)) if g > 1 else None
        parts = [p for p in (human, synth) if p is not None]
        new = parts[0] if len(parts) == 1 else _merge(parts[0], parts[1])
        if g == 1:
            real = new
        train = _next_training(cfg.loop, train, new, real, synth, _merge)
        n, mu, m2 = train
        var = m2 / (n if cfg.refit == "mle" else n - 1)
        _record_gaussian(out, g, mu, var)
        tick(g, gens)
    _record_gaussian(out, 0, np.zeros(reps), np.ones(reps))
    return out


def _next_training(
    loop: Loop, train: D | None, new: D, real: D | None, synth: D | None, merge: Callable[[D, D], D]
) -> D:
    """The training set the loop builds from the previous one and this generation's data."""
    if train is None or loop in ("replace", "fresh"):
        return new
    if loop == "accumulate":
        return merge(train, new)
    assert real is not None and synth is not None
    return merge(real, synth)


def _record_gaussian(out: dict[str, FloatArray], g: int, mu: FloatArray, var: FloatArray) -> None:
    sd = np.sqrt(np.maximum(var, 1e-300))
    out["variance"][:, g] = var
    out["mean"][:, g] = mu
    out["tail_mass"][:, g] = stats.norm.cdf((-TAIL_Z - mu) / sd) + stats.norm.sf((TAIL_Z - mu) / sd)
    out["kl"][:, g] = 0.5 * (1.0 / np.maximum(var, 1e-300) + mu**2 / var - 1.0 + np.log(var))


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


# -- categorical over a Zipf law -----------------------------------------------------------
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


def _categorical(
    cfg: Simulation, rng: np.random.Generator, tick: Progress
) -> dict[str, FloatArray]:
    reps, gens = cfg.repetitions, cfg.generations
    truth = zipf_law(cfg.categories, cfg.zipf_exponent)
    tail = _tail_categories(truth)
    p = np.tile(truth, (reps, 1))
    out = {k: np.zeros((reps, gens + 1)) for k in ("gini_simpson", "entropy", "support")}
    out |= {k: np.zeros((reps, gens + 1)) for k in ("tail_mass", "js_to_truth")}
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
        train = _next_training(cfg.loop, train, new, real, synth, np.add)
        p = train / train.sum(axis=1, keepdims=True)
        _record_categorical(out, g, p, truth, tail)
        tick(g, gens)
    return out


def _tail_categories(truth: FloatArray) -> npt.NDArray[np.bool_]:
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
    mid = (p + truth) / 2
    js = special.xlogy(p, p / np.where(mid > 0, mid, 1)) + special.xlogy(truth, truth / mid)
    out["js_to_truth"][:, g] = np.clip(js.sum(axis=1) / (2 * math.log(2)), 0, 1)


# -- Gaussian mixture ----------------------------------------------------------------------
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
    return _typical(x, special.logsumexp(mix.log_density(x), axis=2), count)


def _mixture(cfg: Simulation, rng: np.random.Generator, tick: Progress) -> dict[str, FloatArray]:
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
            train = _next_training(cfg.loop, train, new, real, synth, _concat)
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


# -- linear regression with regenerated labels ---------------------------------------------
def _regression(cfg: Simulation, rng: np.random.Generator, tick: Progress) -> dict[str, FloatArray]:
    """Fixed Gaussian design X (M x d) per repetition; labels regenerated by the last fit.

    Dohmatob et al. 2024 (Model collapse demystified); Gerstgrasser et al. 2024 (accumulate).
    """
    reps, gens, m, d = cfg.repetitions, cfg.generations, cfg.samples, cfg.dim
    x = rng.standard_normal((reps, m, d))
    pinv = np.linalg.pinv(x)
    w_true = np.ones(d) / math.sqrt(d)
    w = np.tile(w_true, (reps, 1))
    out = {"test_error": np.zeros((reps, gens + 1))}
    train: FloatArray | None = None
    real: FloatArray | None = None
    count = 0
    for g, fresh in enumerate(cfg.fresh_counts(), start=1):
        scale = cfg.noise * (1.0 if g == 1 else math.sqrt(cfg.temperature))
        labels = np.einsum("rmd,rd->rm", x, w) + scale * rng.standard_normal((reps, m))
        if fresh:
            human = np.einsum("rmd,d->rm", x[:, :fresh], w_true)
            labels[:, :fresh] = human + cfg.noise * rng.standard_normal((reps, fresh))
        fit = np.einsum("rdm,rm->rd", pinv, labels)
        if g == 1:
            real = fit
        if cfg.loop == "accumulate":
            count += 1
            train = fit if train is None else train + (fit - train) / count
        else:
            train = _next_training(cfg.loop, train, fit, real, fit, _average)
        w = train
        out["test_error"][:, g] = ((w - w_true) ** 2).sum(axis=1)
        tick(g, gens)
    return out


def _average(a: FloatArray, b: FloatArray) -> FloatArray:
    return (a + b) / 2


# -- closed forms --------------------------------------------------------------------------
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
        return curves
    if cfg.model == "regression" and cfg.temperature == 1.0:
        unit = cfg.noise**2 * cfg.dim / (cfg.samples - cfg.dim - 1)
        if cfg.loop == "replace":
            return {"test_error": unit * n}
        if cfg.loop == "accumulate":
            return {"test_error": unit * np.concatenate([[0.0], np.cumsum(1 / n[1:] ** 2)])}
    return {}


# -- n-gram text model ---------------------------------------------------------------------
NGRAM_METRICS = MetricsConfig(bleu_sample=300, embed_sample=500)


def simulate_ngram(
    cfg: Simulation,
    rng: np.random.Generator,
    tick: Progress,
    keep_texts: bool = False,
) -> tuple[dict[str, FloatArray], list[list[str]]]:
    """Retrain an n-gram model on its own samples; measure each generation's samples.

    The human corpus is split in half (seeded): the reference the metrics compare against,
    and the pool that real and fresh data come from. Generation 0 is a sample of the pool.
    Returns the metrics and, when `keep_texts`, the texts of every generation of repetition 0.
    """
    human = list(cfg.corpus) if cfg.corpus is not None else load_fortunes()
    order = rng.permutation(len(human))
    half = len(human) // 2
    reference = Reference.build([human[i] for i in order[:half]], config=NGRAM_METRICS)
    pool = tokenize_all(human[i] for i in order[half:])
    if len(pool) < cfg.samples:
        raise ConfigError(
            f"the human pool has {len(pool)} texts, fewer than --samples {cfg.samples}"
        )
    names = [f.name for f in fields(CollapseMetrics)]
    out = {k: np.full((cfg.repetitions, cfg.generations + 1), np.nan) for k in names}
    kept: list[list[str]] = []
    total = cfg.repetitions * cfg.generations
    for r in range(cfg.repetitions):
        for g, gen_texts in enumerate(ngram_generations(cfg, pool, rng)):
            if g:
                tick(r * cfg.generations + g, total)
            _record_texts(out, r, g, gen_texts, reference)
            if keep_texts and r == 0:
                kept.append([detokenize(t) for t in gen_texts])
    return out, kept


def ngram_generations(
    cfg: Simulation, pool: Sequence[list[str]], rng: np.random.Generator
) -> Iterator[list[list[str]]]:
    """One run of the n-gram loop: generation 0 (`samples` human texts drawn from `pool`, as
    token lists), then the samples of each model n = 1 … `generations`, the loop building
    model n's training set from generation n - 1 (and fresh texts of `pool`)."""

    def draw_human(count: int) -> list[list[str]]:
        return [pool[i] for i in rng.choice(len(pool), count, replace=False)]

    gen_texts = draw_human(cfg.samples)
    train: list[list[str]] | None = None
    real: list[list[str]] | None = None
    for g, fresh in enumerate(cfg.fresh_counts(), start=0):
        yield gen_texts
        human_part = draw_human(int(fresh)) if g > 0 else gen_texts
        synth = gen_texts if g > 0 else None
        new = human_part if synth is None else human_part + synth[: cfg.samples - int(fresh)]
        if g == 0:
            real = new
        train = _next_training(cfg.loop, train, new, real, synth, _join)
        model = NGramModel.train(train, order=cfg.order)
        gen_texts = _ngram_samples(model, cfg, rng)
    yield gen_texts


def _join(a: list[list[str]], b: list[list[str]]) -> list[list[str]]:
    return a + b


def _ngram_samples(model: NGramModel, cfg: Simulation, rng: np.random.Generator) -> list[list[str]]:
    drawn = math.ceil(cfg.samples / cfg.keep)
    texts = model.sample(drawn, seed=rng, temperature=cfg.temperature)
    if drawn == cfg.samples:
        return texts
    per_token = np.array([lp.mean() for lp in model.token_log_probs(texts)])
    best = np.argsort(-per_token, kind="stable")[: cfg.samples]
    return [texts[i] for i in np.sort(best)]


def _record_texts(
    out: dict[str, FloatArray], r: int, g: int, texts: Sequence[list[str]], ref: Reference
) -> None:
    m = measure([detokenize(t) for t in texts], ref)
    for k, v in m.to_dict().items():
        out[k][r, g] = v
