"""Reviewer reputation at scale: 100 reviewers, 100,000 decisions (each item decided by k = 3
reviewers drawn at random, 5% of the items gold), reviewers' accuracies spread from chance to
near perfect. Prints seconds (median of the repeats), peak memory, and how well the figures
recover the simulated accuracies.

    python benchmarks/bench_reputation.py [--reviewers 100] [--decisions 100000] [--overlap 3]
        [--blas-threads N]

Dawid–Skene's 50 EM steps are most of the time, and they are matrix-vector products that
OpenBLAS splits over its threads; on a machine whose cores are busy with other work those
threads wait on each other, and one thread is several times faster. `--blas-threads 1` limits
them (through threadpoolctl, which scikit-learn brings with the dev dependencies), as
OPENBLAS_NUM_THREADS=1 in the environment does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import time
from collections.abc import Iterator

import numpy as np
from scipy import stats as sps

from keel.experts.reputation import Review, reputation


def simulate(
    n_reviewers: int, n_decisions: int, overlap: int, gold_share: float, seed: int = 0
) -> tuple[list[Review], dict[str, bool], np.ndarray]:
    """Items with a 60% adopt rate; each decided by `overlap` distinct reviewers, each right
    with their own accuracy (0.5 to 0.98); seconds log-normal around 20 s."""
    rng = np.random.default_rng(seed)
    accuracy = np.linspace(0.5, 0.98, n_reviewers)
    n_items = n_decisions // overlap
    truth = rng.random(n_items) < 0.6
    who = np.argsort(rng.random((n_items, n_reviewers)), axis=1)[:, :overlap]
    right = rng.random(who.shape) < accuracy[who]
    adopt = np.where(right, truth[:, None], ~truth[:, None])
    seconds = rng.lognormal(np.log(20), 0.8, who.shape)
    reviews = [
        Review(f"r{who[t, k]:03d}", f"{t:064x}", bool(adopt[t, k]), float(seconds[t, k]))
        for t in range(n_items)
        for k in range(overlap)
    ]
    gold_items = rng.choice(n_items, int(gold_share * n_items), replace=False)
    gold = {f"{t:064x}": bool(truth[t]) for t in gold_items}
    return reviews, gold, accuracy


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """At most `n` BLAS threads inside the block; no limit for n = 0."""
    if n == 0:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reviewers", type=int, default=100)
    ap.add_argument("--decisions", type=int, default=100_000)
    ap.add_argument("--overlap", type=int, default=3)
    ap.add_argument("--gold", type=float, default=0.05)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--blas-threads", type=int, default=0, help="0: OpenBLAS's default")
    args = ap.parse_args()
    reviews, gold, accuracy = simulate(args.reviewers, args.decisions, args.overlap, args.gold)
    times = []
    for _ in range(args.repeats):
        with blas_threads(args.blas_threads):
            start = time.perf_counter()
            rep = reputation(reviews, gold, covers=len(reviews))
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    true = accuracy[[int(s.reviewer[1:]) for s in rep.reviewers]]
    rho = {
        name: sps.spearmanr(true, [getattr(s, name) for s in rep.reviewers]).statistic
        for name in ("gold_lower", "ds_accuracy", "peer", "weight")
    }
    print(
        f"reviewers: {args.reviewers}  decisions: {len(reviews):,}  overlap: {args.overlap}  "
        f"gold items: {len(gold):,}"
    )
    threads = args.blas_threads or "default"
    print(f"BLAS threads: {threads}  load average: {os.getloadavg()[0]:.2f}")
    print(f"reputation: {statistics.median(times):.2f} s (median of {args.repeats}; target < 5 s)")
    print(f"each run: {', '.join(f'{t:.2f} s' for t in times)}")
    print(f"peak memory (max RSS, simulated reviews included): {peak:.0f} MiB")
    print(
        "Spearman ρ with the simulated accuracy: "
        + ", ".join(f"{k} {v:.3f}" for k, v in rho.items())
    )
    print(f"alpha: {rep.alpha:.3f}  kappa pairs (≥ 10 shared): {len(rep.kappa):,}")


if __name__ == "__main__":
    main()
