"""One simulated experiment (`Simulation`), its result, and what every model shares: the
training set each loop builds and the judge filter's choice of typical samples."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from keel.collapse.simulate.choices import LOOPS, MODELS, Loop, Model, Refit
from keel.errors import ConfigError

FloatArray = npt.NDArray[np.float64]
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


def next_training(
    loop: Loop, train: D | None, new: D, real: D | None, synth: D | None, merge: Callable[[D, D], D]
) -> D:
    """The training set the loop builds from the previous one and this generation's data."""
    if train is None or loop in ("replace", "fresh"):
        return new
    if loop == "accumulate":
        return merge(train, new)
    assert real is not None and synth is not None
    return merge(real, synth)


def typical(x: FloatArray, score: FloatArray, keep: int) -> FloatArray:
    """The `keep` entries of each row with the highest score."""
    idx = np.argsort(-score, axis=1, kind="stable")[:, :keep]
    return np.take_along_axis(x, idx, axis=1)
