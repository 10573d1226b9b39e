"""The collapse watch: measure each generation against the human anchor and give a verdict.

Size matters for tail and diversity counts, so every generation is compared with a fresh human
sample of the same size: the reference is split (seeded) into an anchor, which all metrics are
measured against, and a holdout; generation g and an equally large holdout sample are both
measured against the anchor, and the verdict reads the ratios generation / human:

- ``late-collapse``: diversity collapsed, unigram entropy ratio < `entropy_ratio` or distinct-2
  ratio < `distinct_ratio` (Shumailov et al. 2024, late stage: outputs homogenise);
- ``early-collapse``: tail retention ratio < `tail_ratio` (the rare reference types that a
  same-size human sample reliably contains vanish; `keel.collapse.metrics.tail_types`) while
  k-NN precision holds (ratio ≥ `precision_ratio`) — the early stage, where samples still
  look right but the tails are going; a tail loss with precision also falling is reported as
  early-collapse with that reason;
- ``healthy`` otherwise.

Reported beside the verdict, not used by it: the singletons' retention ratio (sampling noise
dominates it) and the tail trend, the change of the tail ratio since the previous generation
(it keeps falling under pure self-training and levels off with fresh human data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import orjson

from keel.collapse.embed import Embedder
from keel.collapse.metrics import CollapseMetrics, MetricsConfig, Reference, measure
from keel.errors import InputError

Verdict = Literal["healthy", "early-collapse", "late-collapse"]
VERDICTS: tuple[Verdict, ...] = ("healthy", "early-collapse", "late-collapse")
HUMAN_ORIGINS = frozenset({"human", "expert"})


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Ratios (generation / same-size human sample) below which an alarm is raised."""

    tail_ratio: float = 0.8
    precision_ratio: float = 0.8
    entropy_ratio: float = 0.9
    distinct_ratio: float = 0.7


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
    tail_trend: float
    """Tail ratio minus the previous generation's (NaN for the first generation)."""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alpha": self.alpha,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "ratios": {k: _finite(v) for k, v in self.ratios.items()},
            "tail_trend": _finite(self.tail_trend),
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


def verdict(ratios: dict[str, float], t: Thresholds) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict and its reasons from the generation / human ratios (NaN never alarms)."""
    late = [
        f"{name} ratio {ratios[name]:.2f} < {limit}"
        for name, limit in (("entropy", t.entropy_ratio), ("distinct_2", t.distinct_ratio))
        if ratios[name] < limit
    ]
    if late:
        return "late-collapse", tuple(late)
    if ratios["tail"] < t.tail_ratio:
        why = f"tail ratio {ratios['tail']:.2f} < {t.tail_ratio}"
        held = not ratios["precision"] < t.precision_ratio
        extra = "precision holds" if held else f"precision ratio {ratios['precision']:.2f} also low"
        return "early-collapse", (why, extra)
    return "healthy", ()


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
    if len(reference) < 20:
        raise InputError(f"the reference has {len(reference)} texts; the watch needs at least 20")
    cfg = config or MetricsConfig()
    t = thresholds or Thresholds()
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(reference))
    half = len(reference) // 2
    anchor = Reference.build([reference[i] for i in order[:half]], config=cfg, embedder=embedder)
    holdout = [reference[i] for i in order[half:]]
    reports: list[GenerationReport] = []
    for gen in generations:
        if not gen.texts:
            raise InputError(f"generation {gen.name} has no texts")
        size = min(len(gen.texts), len(holdout))
        mine = [gen.texts[i] for i in np.sort(rng.choice(len(gen.texts), size, replace=False))]
        human = [holdout[i] for i in np.sort(rng.choice(len(holdout), size, replace=False))]
        m, b = measure(mine, anchor), measure(human, anchor)
        ratios = {k: _ratio(getattr(m, f), getattr(b, f)) for k, f in RATIOS.items()}
        v, reasons = verdict(ratios, t)
        trend = ratios["tail"] - reports[-1].ratios["tail"] if reports else float("nan")
        reports.append(GenerationReport(gen.name, gen.alpha, m, b, ratios, v, reasons, trend))
    return WatchReport(tuple(reports), t, half, len(holdout))


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 and math.isfinite(a) and math.isfinite(b) else float("nan")


def read_texts(path: Path) -> Generation:
    """A generation from a file: JSONL rows with `text` (optional `origin`), else one per line."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        return Generation(path.stem, tuple(line for line in raw.splitlines() if line.strip()))
    texts: list[str] = []
    origins: list[str | None] = []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not JSON ({exc}); one object per line") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InputError(f'{path}:{n}: expected an object with a "text" string')
        texts.append(row["text"])
        origin = row.get("origin")
        origins.append(origin if isinstance(origin, str) else None)
    has_origin = any(o is not None for o in origins)
    return Generation(path.stem, tuple(texts), tuple(origins) if has_origin else None)


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
