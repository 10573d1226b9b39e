"""Speed against anchoring: the fresh human share a loop gets from its pace, and what it keeps.

People verify r human items per unit time (review throughput); the loop runs s generations per
unit time (loop speed). A generation lasts 1/s, and the anchors it gets are the items reviewed
while it runs: r/s of them. With M training samples a generation its fresh human share is

    α = min(1, r / (s·M)) = min(1, 1 / (ρ·M)),   ρ = s/r (generations per verified item),

capped at 1 once review outpaces the loop (ρ ≤ 1/M). `pace_sweep` runs the `fresh` loop of a
model at that α for each pace ratio ρ and reports its tail at the last generation against ρ: the
faster the loop, the less human data anchors it. The simulator trains on round(α·M) fresh items
(`Simulation.fresh_counts`, half to even), so below half a verified item a generation the loop
is self-consuming (the `replace` loop). Every point of a sweep uses the base seed (common random
numbers: neighbouring points differ by their α, not by their luck).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import stats

from keel.collapse.simulate.choices import PACE_MAX, PACE_POINTS, Model
from keel.collapse.simulate.config import FloatArray, Progress, Simulation, SimulationResult
from keel.collapse.simulate.run import simulate
from keel.errors import ConfigError

MAX_PACE_POINTS = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class PaceMetric:
    """The tail measure of one model: its `SimulationResult` metric, read as a ratio to its
    value at generation 0 (the truth, or for the n-gram model a human sample of M texts)."""

    name: str
    label: str
    meaning: str


PACE_METRICS: Mapping[Model, PaceMetric] = {
    "categorical": PaceMetric(
        "tail_retention",
        "tail retention",
        "the share of the tail categories (the rarest holding 20% of the true mass) still in "
        "the model's support",
    ),
    "gaussian": PaceMetric(
        "variance", "variance ratio", "the fitted variance over the true variance, s²ₙ / σ²"
    ),
    "mixture": PaceMetric(
        "tail_mass",
        "tail mass ratio",
        "the model's mass beyond the truth's 0.5% and 99.5% quantiles over the truth's (1%)",
    ),
    "ngram": PaceMetric(
        "tail_retention",
        "tail ratio",
        "the tail retention of the model's texts over that of a same-size human sample "
        "(generation 0)",
    ),
}
"""The tail measure of each model the sweep runs (regression has no tail)."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over R repetitions with its standard error and 95% confidence interval:
    x̄ ± t₀.₉₇₅,R−1 · s/√R (Student 1908); the interval is NaN with one repetition.
    `theory`: the closed form's value, where the model has one (else None)."""

    mean: float
    stderr: float
    low: float
    high: float
    theory: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "mean": _json(self.mean),
            "stderr": _json(self.stderr),
            "ci95": [_json(self.low), _json(self.high)],
            "theory": None if self.theory is None else _json(self.theory),
        }


@dataclass(frozen=True, slots=True)
class PacePoint:
    """One pace ratio s/r: the anchors a generation gets, its fresh share, and the tail
    measure at the last generation."""

    ratio: float
    """s/r: generations per verified human item."""
    anchors: float
    """r/s: verified human items a generation."""
    alpha: float
    """α = min(1, r/(s·M))."""
    fresh: int
    """Fresh human items in each training set after the first: round(α·M)."""
    tail: Estimate

    def to_json(self) -> dict[str, object]:
        return {
            "ratio": self.ratio,
            "anchors": self.anchors,
            "alpha": self.alpha,
            "fresh": self.fresh,
            **self.tail.to_json(),
        }


@dataclass(frozen=True, slots=True)
class PaceResult:
    """A pace sweep: the base experiment, its tail measure, the level a generation trained on
    fresh human data only keeps (α = 1: generation 1 of the first point), and one point per
    pace ratio, in increasing s/r."""

    config: Simulation
    metric: PaceMetric
    fresh: Estimate
    points: tuple[PacePoint, ...]

    def kept(self) -> tuple[float, ...]:
        """Each point's mean tail measure over the fresh-data level: the share of what fresh
        human data keeps that the loop keeps at that pace."""
        return tuple(p.tail.mean / self.fresh.mean for p in self.points)

    def to_json(self) -> dict[str, object]:
        cfg = {k: v for k, v in asdict(self.config).items() if k not in ("corpus", "alpha")}
        cfg["loop"] = "fresh"
        return {
            "config": cfg,
            "metric": self.metric.name,
            "label": self.metric.label,
            "meaning": self.metric.meaning,
            "generation": self.config.generations,
            "fresh": self.fresh.to_json(),
            "points": [
                {**p.to_json(), "kept": _json(k)}
                for p, k in zip(self.points, self.kept(), strict=True)
            ],
        }


def pace_alpha(ratio: float, samples: int) -> float:
    """α = min(1, r/(s·M)) for the pace ratio ρ = s/r and M training samples a generation."""
    return min(1.0, 1.0 / (ratio * samples))


def pace_grid(
    samples: int, points: int = PACE_POINTS, low: float | None = None, high: float | None = None
) -> tuple[float, ...]:
    """`points` pace ratios s/r log-spaced from `low` (default 1/M: α = 1) to `high` (default
    `PACE_MAX`: one verified item a generation): low·(high/low)^(i/(points − 1))."""
    lo = 1.0 / samples if low is None else low
    hi = max(PACE_MAX, lo) if high is None else high
    check_ratios([lo, hi])
    if not 1 <= points <= MAX_PACE_POINTS:
        raise ConfigError(
            f"pace: the number of points must be 1 to {MAX_PACE_POINTS}, got {points}"
        )
    if hi < lo:
        raise ConfigError(f"pace: the largest s/r ({hi:g}) is below the smallest ({lo:g})")
    if points == 1 or hi == lo:
        return (lo,)
    return tuple(float(v) for v in np.geomspace(lo, hi, points))


def check_ratios(ratios: Sequence[float]) -> tuple[float, ...]:
    """The pace ratios, sorted and without repeats; ConfigError unless each is a finite
    number > 0 and there are 1 to `MAX_PACE_POINTS` of them."""
    bad = [f"{v!r} (position {i + 1})" for i, v in enumerate(ratios) if not _positive(v)]
    if bad:
        raise ConfigError(
            f"pace: each s/r (generations per verified human item) must be a finite number > 0; "
            f"got {', '.join(bad)}"
        )
    if not 1 <= len(ratios) <= MAX_PACE_POINTS:
        raise ConfigError(f"pace: give 1 to {MAX_PACE_POINTS} ratios s/r, got {len(ratios)}")
    return tuple(sorted({float(v) for v in ratios}))


def _positive(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < float(v) < math.inf


def pace_sweep(
    base: Simulation, ratios: Sequence[float], progress: Progress | None = None
) -> PaceResult:
    """Run `base` as a `fresh` loop at α = min(1, r/(s·M)) for each pace ratio s/r in `ratios`
    and measure its tail at the last generation (`PACE_METRICS`), mean and 95% interval over
    repetitions, beside the closed form where the model has one (the branching-process
    presence of the tail categories, `presence`; the Gaussian variance,
    `gaussian_expectations`). `base.loop` is replace or fresh with α = 0 and no decay: the
    sweep sets α. `progress(done, total)` counts the generations of every point."""
    metric = _pace_metric(base)
    grid = check_ratios(ratios)
    results: list[SimulationResult] = []
    points: list[PacePoint] = []
    for i, ratio in enumerate(grid):
        alpha = pace_alpha(ratio, base.samples)
        cfg = replace(base, loop="fresh", alpha=alpha, alpha_decay=1.0)
        tick = None if progress is None else _offset(progress, i, len(grid))
        result = simulate(cfg, tick)
        results.append(result)
        fresh = int(cfg.fresh_counts()[-1])
        points.append(PacePoint(ratio, 1.0 / ratio, alpha, fresh, _estimate(result, metric, -1)))
    return PaceResult(base, metric, _estimate(results[0], metric, 1), tuple(points))


def _pace_metric(base: Simulation) -> PaceMetric:
    metric = PACE_METRICS.get(base.model)
    if metric is None:
        models = ", ".join(PACE_METRICS)
        raise ConfigError(f"pace: the {base.model} model has no tail measure; use one of {models}")
    if base.loop not in ("replace", "fresh") or base.alpha != 0.0 or base.alpha_decay != 1.0:
        raise ConfigError(
            "pace: the sweep runs the fresh loop and sets α from the pace; leave the loop "
            "replace or fresh, alpha 0 and alpha decay 1"
        )
    if base.generations < 2:
        raise ConfigError("pace: the sweep needs generations ≥ 2 (generation 1 is all human)")
    return metric


def _offset(progress: Progress, index: int, count: int) -> Progress:
    return lambda done, total: progress(index * total + done, count * total)


def _estimate(result: SimulationResult, metric: PaceMetric, generation: int) -> Estimate:
    """The measure at `generation` over its value at generation 0, per repetition."""
    values = result.metrics[metric.name]
    x: FloatArray = values[:, generation] / values[:, 0]
    x = x[np.isfinite(x)]
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * se if n > 1 else math.nan
    curve = result.theory.get(metric.name)
    theory = None if curve is None else float(curve[generation] / curve[0])
    return Estimate(mean, se, mean - half, mean + half, theory)


def _json(v: float) -> float | None:
    return v if math.isfinite(v) else None
