"""The collapse watch's verdict by simulation: false alarms on stationary series, detection of a
steady decline. Each run is the human start and 10 generations of `--samples` texts, watched
with the default thresholds (`keel.collapse.watch`) against the fortunes (anchor: half of the
corpus, seeded; the n-gram models train and the human baselines draw on the other half):

- `human`: every generation a fresh human sample of the generation's size (stationary, ratio 1);
- `fixed point`: the n-gram loop with a fresh human share α (`--alpha`), watched after
  `--burn-in` generations, once it has settled at its fixed point (stationary below the human
  level, retraining noise and memory included);
- `decline`: the self-consuming n-gram loop (`replace`), which loses its tail steadily.

Prints for each scenario the share of runs flagged `early-collapse` at any generation, the share
with a significant fall of the tail at any generation whatever its level (the trend test alone),
and the share ever `degraded`; for the decline, the share of runs flagged by the first
generation whose tail ratio is below 0.7, and the detection generation and the tail ratio there.
Only the tail metric matters, so self-BLEU and the embedding metrics are computed on 3 texts.

    python benchmarks/bench_watch.py [--runs 200] [--samples 1000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from multiprocessing import Pool

import numpy as np

from keel.collapse import Generation, MetricsConfig, Simulation, Thresholds, Watcher
from keel.collapse.simulate import ngram_generations
from keel.text import detokenize, load_fortunes, tokenize_all

CHEAP = MetricsConfig(bleu_sample=3, embed_sample=3)
SCENARIOS = ("human", "fixed point", "decline")
GENERATIONS = 10
_start: Watcher | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """One watched run: each generation's tail ratio, verdict and whether its tail fell."""

    tail: tuple[float, ...]
    verdicts: tuple[str, ...]
    falling: tuple[bool, ...]


def _init() -> None:
    global _start  # noqa: PLW0603 - each worker builds the anchor once
    _start = Watcher.start(load_fortunes(), config=CHEAP)


def _generations(
    scenario: str, args: argparse.Namespace, pool: list[list[str]], rng: np.random.Generator
) -> Iterator[list[list[str]]]:
    if scenario == "human":
        for _ in range(GENERATIONS + 1):
            yield [pool[i] for i in rng.choice(len(pool), args.samples, replace=False)]
        return
    fixed = scenario == "fixed point"
    burn = args.burn_in if fixed else 0
    cfg = Simulation(
        model="ngram",
        loop="fresh" if fixed else "replace",
        alpha=args.alpha if fixed else 0.0,
        generations=GENERATIONS + burn,
        repetitions=1,
        samples=args.samples,
    )
    yield from islice(ngram_generations(cfg, pool, rng), burn, None)


def watch_run(job: tuple[str, int, argparse.Namespace]) -> Run:
    """Watch one run of `scenario` (seeded by its number) with the default thresholds."""
    scenario, number, args = job
    assert _start is not None
    seed = [args.seed, SCENARIOS.index(scenario), number]
    watcher = Watcher(
        _start.anchor, _start.holdout, Thresholds(), np.random.default_rng([*seed, 1])
    )
    pool = tokenize_all(_start.holdout)
    gens = _generations(scenario, args, pool, np.random.default_rng(seed))
    reports = [
        watcher.add(Generation(f"gen-{g}", tuple(detokenize(t) for t in texts)))
        for g, texts in enumerate(gens)
    ]
    alpha = watcher.thresholds.trend_alpha
    return Run(
        tuple(r.ratios["tail"] for r in reports),
        tuple(r.verdict for r in reports),
        tuple(r.trend is not None and r.trend.p < alpha for r in reports),
    )


def summarise(scenario: str, runs: list[Run]) -> None:
    n = len(runs)
    early = sum("early-collapse" in r.verdicts or "late-collapse" in r.verdicts for r in runs)
    falling = sum(any(r.falling) for r in runs)
    degraded = sum("degraded" in r.verdicts for r in runs)
    tail = np.array([r.tail for r in runs])
    print(
        f"{scenario:>12}: {n} runs; tail ratio {tail.mean():.3f} on average, spread within a run "
        f"{tail.std(axis=1, ddof=1).mean():.3f} (standard deviation, averaged over runs)"
    )
    print(f"{'':>14}early-collapse in {early / n:.1%} of runs; a significant fall of the tail "
          f"(any level) in {falling / n:.1%}; degraded in {degraded / n:.1%}")  # fmt: skip
    if scenario != "decline":
        return
    found, in_time, at, ratio, below = 0, 0, [], [], []
    for r in runs:
        first = next((g for g, v in enumerate(r.verdicts) if v.endswith("collapse")), None)
        under = next((g for g, t in enumerate(r.tail) if t < 0.7), None)
        if under is not None:
            below.append(under)
        if first is not None:
            found += 1
            at.append(first)
            ratio.append(r.tail[first])
            in_time += under is None or first <= under
    print(f"{'':>14}flagged in {found / n:.1%}; by the first generation below 0.7 in "
          f"{in_time / n:.1%}; detected at generation {statistics.median(at):.0f} "
          f"(median; {min(at)}-{max(at)}), tail ratio there {np.mean(ratio):.3f} "
          f"(mean; {min(ratio):.3f}-{max(ratio):.3f}); first below 0.7: generation "
          f"{statistics.median(below):.0f} (median)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--alpha", type=float, default=0.2)
    ap.add_argument("--burn-in", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    t = Thresholds()
    print(
        f"watch over the human start and {GENERATIONS} generations of {args.samples} texts; "
        f"thresholds: tail ratio {t.tail_ratio}, floor {t.tail_floor}, slope over "
        f"{t.trend_window} generations, one-sided p < {t.trend_alpha}; fixed point: "
        f"α = {args.alpha} after {args.burn_in} generations"
    )
    with Pool(args.jobs, initializer=_init) as pool:
        for scenario in SCENARIOS:
            t0 = time.perf_counter()
            runs = pool.map(watch_run, [(scenario, k, args) for k in range(args.runs)])
            summarise(scenario, runs)
            print(f"{'':>14}{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
