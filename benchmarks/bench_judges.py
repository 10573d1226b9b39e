"""Judge audit at scale: 10 judges x 100,000 items (1,000,000 verdicts), 1,000 bootstrap
resamples of every figure, against the "numpy floor" (a plain numpy bootstrap of accuracy
alone) run in the same process. Prints seconds, the ratio to the floor (median and per run)
and peak memory.

    python benchmarks/bench_judges.py [--items 100000] [--judges 10] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from keel.judges import JudgeTable, audit


def table(n_items: int, n_judges: int, seed: int = 0) -> JudgeTable:
    """Judges from lenient to strict on random items in 10 categories, scored by 8 models."""
    rng = np.random.default_rng(seed)
    human = (rng.random(n_items) < 0.7).astype(float)
    tpr = np.linspace(0.97, 0.6, n_judges)[:, None, None]
    tnr = np.linspace(0.45, 0.95, n_judges)[:, None, None]
    u = rng.random((n_judges, n_items, 1))
    v = np.where(human[None, :, None] == 1, u < tpr, u >= tnr).astype(float)
    v[rng.random(v.shape) < 0.001] = np.nan
    return JudgeTable(
        source="synthetic",
        items=tuple(map(str, range(n_items))),
        judges=tuple(f"judge{j}" for j in range(n_judges)),
        human=human,
        verdicts=v,
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--judges", type=int, default=10)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    t = table(args.items, args.judges)
    correct = (t.verdicts[0, :, 0] == t.human).astype(float)
    floors, keels = [], []
    for _ in range(args.repeats):
        floors.append(numpy_floor(correct, args.resamples))
        start = time.perf_counter()
        a = audit(t, penalty_category="c0", n_resamples=args.resamples)
        keels.append(time.perf_counter() - start)
    floor, ours = statistics.median(floors), statistics.median(keels)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdicts = args.items * args.judges
    print(f"verdicts: {verdicts:,}  judges: {args.judges}  resamples: {args.resamples}")
    print(f"numpy floor (accuracy of one judge): {floor:.2f} s (median of {args.repeats})")
    print(f"keel audit (every figure, every judge): {ours:.2f} s (median of {args.repeats})")
    print(f"ratio to the floor: {ours / floor:.2f}x (goal <= 3x; target < 10 s)")
    each = ", ".join(f"{k / f:.2f}x" for k, f in zip(keels, floors, strict=True))
    print(f"ratio in each run (the machine may be shared): {each}")
    print(f"peak memory (max RSS): {peak:.0f} MiB (target < 2048 MiB)")
    print(f"figures per judge: {len(a.profiles[0].figures)}; example: {a.profiles[0].summary}")


if __name__ == "__main__":
    main()
