"""The collapse watch: measure each generation against the human anchor and give a verdict.

Size matters for tail and diversity counts, so every generation is compared with a fresh human
sample of the same size: the reference is split (seeded) into an anchor, which all metrics are
measured against, and a holdout; generation g and an equally large holdout sample are both
measured against the anchor, and the verdict reads the ratios generation / human:

- ``late-collapse``: diversity collapsed, unigram entropy ratio < `entropy_ratio` or distinct-2
  ratio < `distinct_ratio` (Shumailov et al. 2024, late stage: outputs homogenise);
- ``early-collapse`` (collapsing): the tail is being lost (`keel.collapse.metrics.tail_types`:
  the rare reference types that a same-size human sample reliably contains). Collapse is a
  process, not a level: a fresh human share α keeps the tail at a stable level below 1, pure
  self-training keeps lowering it. So the alarm is a tail ratio below `tail_ratio` that is
  **still falling**: the least-squares slope of the tail ratio over the last `trend_window`
  generations is significantly negative (`tail_trend`, one-sided p < `trend_alpha`); or a tail
  ratio below the hard floor `tail_floor` whatever the trend. k-NN precision is reported with
  it: the early stage is tail loss while precision holds (ratio ≥ `precision_ratio`);
- ``degraded`` (degraded but stable): a tail ratio below `tail_ratio` that is not falling
  significantly, a plateau below the human level (the lasting cost of a loop with fresh human
  data at its fixed point);
- ``healthy`` otherwise.

The trend test (`tail_trend`) is the t test of a least-squares slope (Student 1908; Draper &
Smith, *Applied Regression Analysis*, 3rd ed. 1998, §1.4 and §3.2). Over the window's n
generations x = 0 … n − 1 with tail ratios r and their binomial standard errors s:

    b = Σ (x − x̄)(r − r̄) / Sxx,   Sxx = Σ (x − x̄)²
    σ̂² = max(RSS / (n − 2), mean(s²)),   RSS = Σ (r − r̄ − b(x − x̄))²
    t = b / √(σ̂² / Sxx),   p = P(T ≤ t),  T ~ Student's t with n − 2 degrees of freedom.

The residual variance of the line holds every noise of the series, the sampling noise and
the retraining noise of each new model alike (the binomial standard error knows only the
first); it is floored at the sampling variance, which every series has (the floor can only
lower |t|). For a flat series with independent noise of any variance p is uniform, so the at
most 9 tests of a watch over the human start and 10 generations give a false alarm with
probability ≤ 9 · `trend_alpha` = 4.5% (Bonferroni; Dunn 1961). A single dip fits a line
badly, so it raises RSS rather than the slope's significance: one bad generation on a plateau
is not a decline. benchmarks/bench_watch.py measures the false-alarm rate and the detection
generation by simulation.

Reported beside the verdict, not used by it: the singletons' retention ratio (sampling noise
dominates it). docs/collapse.md derives the defaults from the branching-process theory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import stats

from keel._input import folder_files, text_rows
from keel.collapse.embed import Embedder
from keel.collapse.metrics import CollapseMetrics, Reference, measure
from keel.collapse.settings import WATCH_METRICS, MetricsConfig, Thresholds
from keel.errors import InputError
from keel.scale import Executor

Health = Literal["healthy", "degraded", "early-collapse", "late-collapse"]
HEALTH_LEVELS: tuple[Health, ...] = ("healthy", "degraded", "early-collapse", "late-collapse")
Level = Literal["degraded", "early", "late"]
HUMAN_ORIGINS = frozenset({"human", "expert"})


@dataclass(frozen=True, slots=True)
class Generation:
    """The texts of one generation and, where known, each text's origin (human/expert/synthetic)."""

    name: str
    texts: tuple[str, ...]
    origins: tuple[str | None, ...] | None = None

    @property
    def alpha(self) -> float | None:
        """Share of human or expert texts among those whose origin is known."""
        if self.origins is None:
            return None
        known = [o for o in self.origins if o is not None]
        return sum(o in HUMAN_ORIGINS for o in known) / len(known) if known else None


@dataclass(frozen=True, slots=True)
class Trend:
    """The tail ratio's least-squares slope over the latest generations and its t test."""

    generations: int
    slope: float
    """Change of the tail ratio per generation."""
    se: float
    t: float
    p: float
    """One-sided p-value of a fall, P(T ≤ t) for Student's t with generations − 2 df."""

    def to_json(self) -> dict[str, object]:
        return {"generations": self.generations, "slope": self.slope, "se": self.se,
                "t": self.t, "p": self.p}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GenerationReport:
    """One generation's metrics, its same-size human baseline, the ratios and the verdict."""

    name: str
    alpha: float | None
    metrics: CollapseMetrics
    baseline: CollapseMetrics
    ratios: dict[str, float]
    verdict: Health
    reasons: tuple[str, ...]
    tail_se: float
    """Standard error of the tail ratio (`tail_ratio_se`), sampling noise only."""
    trend: Trend | None
    """The tail ratio's slope over this and the previous generations (`tail_trend`)."""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alpha": self.alpha,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "ratios": {k: _finite(v) for k, v in self.ratios.items()},
            "tail_se": _finite(self.tail_se),
            "trend": None if self.trend is None else self.trend.to_json(),
            "metrics": {k: _finite(v) for k, v in self.metrics.to_dict().items()},
            "baseline": {k: _finite(v) for k, v in self.baseline.to_dict().items()},
        }


@dataclass(frozen=True, slots=True)
class WatchReport:
    """The watch over all generations, in the order given."""

    generations: tuple[GenerationReport, ...]
    thresholds: Thresholds
    anchor_texts: int
    holdout_texts: int

    def worst(self) -> Health:
        levels = (g.verdict for g in self.generations)
        return max(levels, key=HEALTH_LEVELS.index, default="healthy")

    def fails(self, level: Level) -> bool:
        """Whether any generation reached `level` (each level includes the worse ones: degraded
        includes early and late collapse, early includes late)."""
        floor = {"degraded": "degraded", "early": "early-collapse", "late": "late-collapse"}
        return HEALTH_LEVELS.index(self.worst()) >= HEALTH_LEVELS.index(floor[level])

    def first_collapse(self) -> GenerationReport | None:
        """The first generation flagged early or late collapse: when the watch detected it."""
        return next((g for g in self.generations if g.verdict.endswith("collapse")), None)

    def to_json(self) -> dict[str, object]:
        t = self.thresholds
        return {
            "thresholds": {
                "tail_ratio": t.tail_ratio,
                "tail_floor": t.tail_floor,
                "trend_window": t.trend_window,
                "trend_alpha": t.trend_alpha,
                "precision_ratio": t.precision_ratio,
                "entropy_ratio": t.entropy_ratio,
                "distinct_ratio": t.distinct_ratio,
            },
            "anchor_texts": self.anchor_texts,
            "holdout_texts": self.holdout_texts,
            "worst": self.worst(),
            "first_collapse": None if (g := self.first_collapse()) is None else g.name,
            "generations": [g.to_json() for g in self.generations],
        }


def _finite(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


RATIOS = {
    "tail": "tail_retention",
    "precision": "precision",
    "entropy": "entropy_1",
    "distinct_2": "distinct_2",
    "singletons": "singleton_retention",
}


def tail_ratio_se(kept: float, human: float, types: int) -> float:
    """Standard error of the tail ratio r = kept / human, each a share of the same `types`.

    Each share is binomial over the tail types, Var p = p(1 - p)/n, and the two samples are
    independent, so by the delta method Var r = (p(1 - p)/n + r²·b(1 - b)/n) / b².
    """
    if types <= 0 or not human > 0:
        return float("nan")
    r = kept / human
    return math.sqrt(kept * (1 - kept) / types + r * r * human * (1 - human) / types) / human


def tail_trend(
    ratios: Sequence[float], ses: Sequence[float], window: int | None = None
) -> Trend | None:
    """Least-squares slope of `ratios` (consecutive generations; only the last `window` when
    given) and its one-sided t test.

    b = Σ(x − x̄)(r − r̄)/Sxx; σ̂² = max(RSS/(n − 2), mean s²) with s = `ses`, the residual
    variance of the line (all the series' noise, retraining included) floored at the sampling
    variance; t = b/√(σ̂²/Sxx); p = P(T ≤ t), T ~ Student's t with n − 2 df (Draper & Smith
    1998, §1.4, §3.2). None for fewer than 3 generations, a non-finite value or no variance.
    """
    start = 0 if window is None else max(0, len(ratios) - window)
    r = np.asarray(ratios[start:], dtype=np.float64)
    s = np.asarray(ses[start:], dtype=np.float64)
    n = len(r)
    if n < 3 or not (np.isfinite(r).all() and np.isfinite(s).all()):
        return None
    x = np.arange(n) - (n - 1) / 2
    sxx = float(x @ x)
    slope = float(x @ r) / sxx
    residuals = r - r.mean() - slope * x
    variance = max(float(residuals @ residuals) / (n - 2), float(np.mean(s * s)))
    se = math.sqrt(variance / sxx)
    if not se > 0:
        return None
    t = slope / se
    return Trend(n, slope, se, t, float(stats.t.cdf(t, n - 2)))


def verdict(
    ratios: dict[str, float], trend: Trend | None, t: Thresholds
) -> tuple[Health, tuple[str, ...]]:
    """The verdict and its reasons from the ratios and the tail trend (NaN never alarms)."""
    late = [
        f"{name} ratio {ratios[name]:.2f} < {limit}"
        for name, limit in (("entropy", t.entropy_ratio), ("distinct_2", t.distinct_ratio))
        if ratios[name] < limit
    ]
    if late:
        return "late-collapse", tuple(late)
    tail = ratios["tail"]
    falling = trend is not None and trend.p < t.trend_alpha
    slope = (
        "too few generations for a trend"
        if trend is None
        else f"slope {trend.slope:+.3f} a generation over {trend.generations} generations, "
        f"t {trend.t:.1f}, p {trend.p:.2g} {'<' if falling else '≥'} {t.trend_alpha}"
    )
    if tail < t.tail_floor:
        why = f"tail ratio {tail:.2f} < floor {t.tail_floor}"
    elif tail < t.tail_ratio and falling:
        why = f"tail ratio {tail:.2f} < {t.tail_ratio} and falling: {slope}"
    elif tail < t.tail_ratio:
        return "degraded", (
            f"tail ratio {tail:.2f} < {t.tail_ratio}, not falling significantly: {slope}",
        )
    else:
        return "healthy", ()
    held = not ratios["precision"] < t.precision_ratio
    extra = "precision holds" if held else f"precision ratio {ratios['precision']:.2f} also low"
    return "early-collapse", (why, extra)


@dataclass(slots=True)
class Watcher:
    """A watch fed one generation at a time (a loop watches as it goes); `add` in the same
    order gives exactly the reports of `watch` over all the generations at once."""

    anchor: Reference
    holdout: list[str]
    thresholds: Thresholds
    rng: np.random.Generator
    reports: list[GenerationReport] = field(default_factory=list)
    executor: Executor | None = None
    """Where texts are tokenised and counted (`keel.scale`); None: in this process."""

    @classmethod
    def start(
        cls,
        reference: Sequence[str],
        *,
        thresholds: Thresholds | None = None,
        config: MetricsConfig | None = None,
        embedder: Embedder | None = None,
        executor: Executor | None = None,
    ) -> Watcher:
        """Split the human reference (seeded) into the anchor and the same-size baselines' pool;
        `executor` tokenises and counts in shards (the reports are the same, byte for byte)."""
        if len(reference) < 20:
            raise InputError(
                f"the reference has {len(reference)} texts; the watch needs at least 20"
            )
        cfg = config or WATCH_METRICS
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(len(reference))
        half = len(reference) // 2
        anchor = Reference.build(
            [reference[i] for i in order[:half]], config=cfg, embedder=embedder, executor=executor
        )
        holdout = [reference[i] for i in order[half:]]
        return cls(anchor, holdout, thresholds or Thresholds(), rng, executor=executor)

    def add(self, gen: Generation) -> GenerationReport:
        """Measure `gen` and a same-size human baseline; the trend spans the latest reports."""
        if not gen.texts:
            raise InputError(f"generation {gen.name} has no texts")
        rng, holdout = self.rng, self.holdout
        size = min(len(gen.texts), len(holdout))
        mine = [gen.texts[i] for i in np.sort(rng.choice(len(gen.texts), size, replace=False))]
        human = [holdout[i] for i in np.sort(rng.choice(len(holdout), size, replace=False))]
        m = measure(mine, self.anchor, executor=self.executor)
        b = measure(human, self.anchor, executor=self.executor)
        ratios = {k: _ratio(getattr(m, f), getattr(b, f)) for k, f in RATIOS.items()}
        se = tail_ratio_se(m.tail_retention, b.tail_retention, m.tail_types)
        trend = tail_trend(
            [*(g.ratios["tail"] for g in self.reports), ratios["tail"]],
            [*(g.tail_se for g in self.reports), se],
            self.thresholds.trend_window,
        )
        v, reasons = verdict(ratios, trend, self.thresholds)
        report = GenerationReport(gen.name, gen.alpha, m, b, ratios, v, reasons, se, trend)
        self.reports.append(report)
        return report

    def report(self) -> WatchReport:
        """Every generation added so far."""
        return WatchReport(
            tuple(self.reports), self.thresholds, len(self.anchor.corpus), len(self.holdout)
        )


def watch(
    generations: Sequence[Generation],
    reference: Sequence[str],
    *,
    thresholds: Thresholds | None = None,
    config: MetricsConfig | None = None,
    embedder: Embedder | None = None,
    executor: Executor | None = None,
) -> WatchReport:
    """Measure every generation and its same-size human baseline against the anchor; with an
    `executor` (`keel.scale`), texts are tokenised and counted in shards on it."""
    if not generations:
        raise InputError("no generations to watch: give at least one folder, file or generation")
    w = Watcher.start(
        reference, thresholds=thresholds, config=config, embedder=embedder, executor=executor
    )
    for gen in generations:
        w.add(gen)
    return w.report()


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 and math.isfinite(a) and math.isfinite(b) else float("nan")


def read_texts(path: Path) -> Generation:
    """A generation from a file (`keel._input.text_rows`: a .txt file's lines, or the `text`
    column of CSV, JSONL or Parquet rows, whose optional `origin` column is kept)."""
    texts: list[str] = []
    origins: list[str | None] = []
    for text, row in text_rows(path):
        origin = row.get("origin")
        texts.append(text)
        origins.append(origin if isinstance(origin, str) else None)
    has_origin = any(o is not None for o in origins)
    return Generation(path.stem, tuple(texts), tuple(origins) if has_origin else None)


def read_generations(paths: Sequence[Path]) -> list[Generation]:
    """Generations from files, or from every text file of a folder (`folder_files`) in name
    order."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(folder_files(p))
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return [read_texts(f) for f in files]
