"""The collapse watch: measure each generation against the human anchor and give a verdict.

Size matters for tail and diversity counts, so every generation is compared with a fresh human
sample of the same size: the reference is split (seeded) into an anchor, which all metrics are
measured against, and a holdout; generation g and an equally large holdout sample are both
measured against the anchor, and the verdict reads the ratios generation / human:

- ``late-collapse``: diversity collapsed, unigram entropy ratio < `entropy_ratio` or distinct-2
  ratio < `distinct_ratio` (Shumailov et al. 2024, late stage: outputs homogenise);
- ``early-collapse``: the tail is being lost (`keel.collapse.metrics.tail_types`: the rare
  reference types that a same-size human sample reliably contains). Collapse is a process, not
  a level: a fresh human share α keeps the tail at a stable level below 1, pure self-training
  keeps lowering it. So the alarm is a tail ratio below `tail_ratio` that **fell significantly**
  since the previous generation (by more than `trend_z` standard errors of the change; the
  first generation is compared with a human sample, ratio 1), or a tail ratio below the hard
  floor `tail_floor` whatever the trend. k-NN precision is reported with it: the early stage
  is tail loss while precision holds (ratio ≥ `precision_ratio`);
- ``healthy`` otherwise.

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

from keel import jsonl
from keel.collapse.embed import Embedder
from keel.collapse.metrics import CollapseMetrics, MetricsConfig, Reference, measure
from keel.errors import ConfigError, InputError

Verdict = Literal["healthy", "early-collapse", "late-collapse"]
VERDICTS: tuple[Verdict, ...] = ("healthy", "early-collapse", "late-collapse")
HUMAN_ORIGINS = frozenset({"human", "expert"})
WATCH_METRICS = MetricsConfig(bleu_sample=300, embed_sample=500)
"""The watch's metric settings, the same for the loop, the demo and `keel watch`: self-BLEU on
300 sampled texts, Vendi and k-NN on 500 (the verdict's tail, entropy and distinct-2 are exact)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Alarm levels on the ratios generation / same-size human sample (docs/collapse.md)."""

    tail_ratio: float = 0.8
    """Early alarm when the tail ratio is below this and falling significantly."""
    tail_floor: float = 0.5
    """Early alarm when the tail ratio is below this, whatever the trend."""
    trend_z: float = 2.58
    """A fall is significant when the change is below -trend_z standard errors."""
    precision_ratio: float = 0.8
    entropy_ratio: float = 0.9
    distinct_ratio: float = 0.7

    def __post_init__(self) -> None:
        if not 0 <= self.tail_floor <= self.tail_ratio:
            raise ConfigError(
                f"need 0 ≤ tail floor ≤ tail ratio, got floor {self.tail_floor} "
                f"and ratio {self.tail_ratio}"
            )
        if not self.trend_z >= 0:
            raise ConfigError(f"the trend z must be ≥ 0, got {self.trend_z}")
        for name in ("precision_ratio", "entropy_ratio", "distinct_ratio"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be ≥ 0, got {getattr(self, name)}")


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
class GenerationReport:
    """One generation's metrics, its same-size human baseline, the ratios and the verdict."""

    name: str
    alpha: float | None
    metrics: CollapseMetrics
    baseline: CollapseMetrics
    ratios: dict[str, float]
    verdict: Verdict
    reasons: tuple[str, ...]
    tail_se: float
    """Standard error of the tail ratio (`tail_ratio_se`)."""
    tail_change: float
    """Tail ratio minus the previous generation's (the first: minus 1, a human sample's)."""
    tail_z: float
    """tail_change / its standard error; below -trend_z is a significant fall."""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alpha": self.alpha,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "ratios": {k: _finite(v) for k, v in self.ratios.items()},
            "tail_se": _finite(self.tail_se),
            "tail_change": _finite(self.tail_change),
            "tail_z": _finite(self.tail_z),
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

    def worst(self) -> Verdict:
        return max((g.verdict for g in self.generations), key=VERDICTS.index, default="healthy")

    def fails(self, level: Literal["early", "late"]) -> bool:
        """Whether any generation reached `level` (early includes late)."""
        floor = VERDICTS.index("early-collapse" if level == "early" else "late-collapse")
        return VERDICTS.index(self.worst()) >= floor

    def to_json(self) -> dict[str, object]:
        t = self.thresholds
        return {
            "thresholds": {
                "tail_ratio": t.tail_ratio,
                "tail_floor": t.tail_floor,
                "trend_z": t.trend_z,
                "precision_ratio": t.precision_ratio,
                "entropy_ratio": t.entropy_ratio,
                "distinct_ratio": t.distinct_ratio,
            },
            "anchor_texts": self.anchor_texts,
            "holdout_texts": self.holdout_texts,
            "worst": self.worst(),
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


def verdict(
    ratios: dict[str, float], tail_z: float, t: Thresholds
) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict and its reasons from the ratios and the tail change's z (NaN never alarms)."""
    late = [
        f"{name} ratio {ratios[name]:.2f} < {limit}"
        for name, limit in (("entropy", t.entropy_ratio), ("distinct_2", t.distinct_ratio))
        if ratios[name] < limit
    ]
    if late:
        return "late-collapse", tuple(late)
    tail = ratios["tail"]
    if tail < t.tail_floor:
        why = f"tail ratio {tail:.2f} < floor {t.tail_floor}"
    elif tail < t.tail_ratio and tail_z < -t.trend_z:
        why = f"tail ratio {tail:.2f} < {t.tail_ratio} and falling (z {tail_z:.1f} < -{t.trend_z})"
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

    @classmethod
    def start(
        cls,
        reference: Sequence[str],
        *,
        thresholds: Thresholds | None = None,
        config: MetricsConfig | None = None,
        embedder: Embedder | None = None,
    ) -> Watcher:
        """Split the human reference (seeded) into the anchor and the same-size baselines' pool."""
        if len(reference) < 20:
            raise InputError(
                f"the reference has {len(reference)} texts; the watch needs at least 20"
            )
        cfg = config or WATCH_METRICS
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(len(reference))
        half = len(reference) // 2
        anchor = Reference.build(
            [reference[i] for i in order[:half]], config=cfg, embedder=embedder
        )
        holdout = [reference[i] for i in order[half:]]
        return cls(anchor, holdout, thresholds or Thresholds(), rng)

    def add(self, gen: Generation) -> GenerationReport:
        """Measure `gen` and a same-size human baseline; the trend compares with the last one."""
        if not gen.texts:
            raise InputError(f"generation {gen.name} has no texts")
        rng, holdout = self.rng, self.holdout
        size = min(len(gen.texts), len(holdout))
        mine = [gen.texts[i] for i in np.sort(rng.choice(len(gen.texts), size, replace=False))]
        human = [holdout[i] for i in np.sort(rng.choice(len(holdout), size, replace=False))]
        m, b = measure(mine, self.anchor), measure(human, self.anchor)
        ratios = {k: _ratio(getattr(m, f), getattr(b, f)) for k, f in RATIOS.items()}
        se = tail_ratio_se(m.tail_retention, b.tail_retention, m.tail_types)
        if self.reports:
            before, se_before = self.reports[-1].ratios["tail"], self.reports[-1].tail_se
        else:
            before = 1.0
            se_before = tail_ratio_se(b.tail_retention, b.tail_retention, b.tail_types)
        change = ratios["tail"] - before
        spread = math.hypot(se, se_before)
        z = change / spread if spread > 0 else float("nan")
        v, reasons = verdict(ratios, z, self.thresholds)
        report = GenerationReport(gen.name, gen.alpha, m, b, ratios, v, reasons, se, change, z)
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
) -> WatchReport:
    """Measure every generation and its same-size human baseline against the anchor."""
    if not generations:
        raise InputError("no generations to watch: give at least one folder, file or generation")
    w = Watcher.start(reference, thresholds=thresholds, config=config, embedder=embedder)
    for gen in generations:
        w.add(gen)
    return w.report()


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 and math.isfinite(a) and math.isfinite(b) else float("nan")


def read_texts(path: Path) -> Generation:
    """A generation from a file: JSONL rows with `text` (optional `origin`), else one per line."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        texts: list[str] = []
        origins: list[str | None] = []
        for n, _, row in jsonl.objects(path):
            text, origin = row.get("text"), row.get("origin")
            if not isinstance(text, str):
                raise InputError(f'{path}:{n}: expected an object with a "text" string')
            texts.append(text)
            origins.append(origin if isinstance(origin, str) else None)
        has_origin = any(o is not None for o in origins)
        return Generation(path.stem, tuple(texts), tuple(origins) if has_origin else None)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return Generation(path.stem, tuple(line for line in raw.splitlines() if line.strip()))


def read_generations(paths: Sequence[Path]) -> list[Generation]:
    """Generations from files, or from every .txt/.jsonl file of a folder in name order."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in (".txt", ".jsonl"))
            if not found:
                raise InputError(f"{p}: no .txt or .jsonl generation files in this folder")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return [read_texts(f) for f in files]
