"""Judge audit at scale: 10 judges x 100,000 items (1,000,000 verdicts), 1,000 bootstrap
resamples of every figure, against the "numpy floor" (a plain numpy bootstrap of accuracy
alone) run in the same process. Prints, for each layout, seconds, the ratio to the floor
(median and per run) and peak memory.

Layouts: `binary` (accept/reject verdicts only), `scores` (a continuous score in [0, 1] behind
every verdict: calibration), `runs` (3 repeats of every verdict: flip rate, run accuracy).

    python benchmarks/bench_judges.py [--items 100000] [--judges 10] [--resamples 1000]
        [--layout binary --layout scores --layout runs]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from keel.judges import JudgeTable, audit

LAYOUTS = ("binary", "scores", "runs")


def table(n_items: int, n_judges: int, layout: str = "binary", seed: int = 0) -> JudgeTable:
    """Judges from lenient to strict on random items in 10 categories, scored by 8 models;
    `layout` adds a continuous score behind every verdict or 3 runs per item (module doc)."""
    rng = np.random.default_rng(seed)
    runs = 3 if layout == "runs" else 1
    human = (rng.random(n_items) < 0.7).astype(float)
    tpr = np.linspace(0.97, 0.6, n_judges)[:, None, None]
    tnr = np.linspace(0.45, 0.95, n_judges)[:, None, None]
    u = rng.random((n_judges, n_items, runs))
    scores = None
    if layout == "scores":
        # the verdict is score >= 0.5; the score spreads u over its side of the threshold
        accept = np.where(human[None, :, None] == 1, u < tpr, u >= tnr)
        scores = np.where(accept, 0.5 + 0.5 * rng.random(u.shape), 0.5 * rng.random(u.shape))
        v = (scores >= 0.5).astype(float)
    else:
        v = np.where(human[None, :, None] == 1, u < tpr, u >= tnr).astype(float)
    gone = rng.random(v.shape) < 0.001
    v[gone] = np.nan
    if scores is not None:
        scores[gone] = np.nan
    return JudgeTable(
        source="synthetic",
        items=tuple(map(str, range(n_items))),
        judges=tuple(f"judge{j}" for j in range(n_judges)),
        human=human,
        verdicts=v,
        scores=scores,
        categories=tuple(f"c{k}" for k in range(10)),
        category=rng.integers(0, 10, n_items),
        subjects=tuple(f"m{k}" for k in range(8)),
        subject=rng.integers(0, 8, n_items),
        missing=np.isnan(v).sum(axis=(1, 2)),
    )


def numpy_floor(correct: np.ndarray, resamples: int, seed: int = 0) -> float:
    """A plain numpy bootstrap of one judge's accuracy: indices, fancy-index, mean."""
    rng = np.random.default_rng(seed)
    n = correct.size
    t = time.perf_counter()
    for _ in range(resamples):
        correct[rng.integers(0, n, n)].mean()
    return time.perf_counter() - t


def run_layout(args: argparse.Namespace, layout: str) -> None:
    t = table(args.items, args.judges, layout)
    correct = (t.verdicts[0, :, 0] == t.human).astype(float)
    floors, keels = [], []
    for _ in range(args.repeats):
        floors.append(numpy_floor(correct, args.resamples))
        start = time.perf_counter()
        a = audit(t, penalty_category="c0", n_resamples=args.resamples)
        keels.append(time.perf_counter() - start)
    floor, ours = statistics.median(floors), statistics.median(keels)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdicts = t.verdicts.size
    print(
        f"== layout {layout}: {verdicts:,} verdicts ({args.items:,} items x {args.judges} "
        f"judges x {t.n_runs} runs), resamples: {args.resamples}"
    )
    print(f"numpy floor (accuracy of one judge): {floor:.2f} s (median of {args.repeats})")
    print(f"keel audit (every figure, every judge): {ours:.2f} s (median of {args.repeats})")
    print(f"ratio to the floor: {ours / floor:.2f}x (goal <= 3x; target < 10 s)")
    each = ", ".join(f"{k / f:.2f}x" for k, f in zip(keels, floors, strict=True))
    print(f"ratio in each run (the machine may be shared): {each}")
    print(f"peak memory so far (max RSS): {peak:.0f} MiB (target < 2048 MiB)")
    print(f"figures per judge: {len(a.profiles[0].figures)}; example: {a.profiles[0].summary}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--judges", type=int, default=10)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--layout", action="append", choices=LAYOUTS, help="repeatable; default: every layout"
    )
    args = ap.parse_args()
    for layout in args.layout or LAYOUTS:
        run_layout(args, layout)


if __name__ == "__main__":
    main()
