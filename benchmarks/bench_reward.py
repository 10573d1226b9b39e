"""Corrected vs uncorrected reward models on held-out expert-labelled pairs (issue 18).

    .venv/bin/python benchmarks/bench_reward.py --seeds 7

Per seed: fortunes against degraded copies of themselves (`keel.rlaif.degraded_pairs`, the
less degraded one gold), shuffled and cut into 3,000 training pairs, 400 anchor pairs (expert
labels: the flip rates) and 1,000 held-out pairs (expert labels: the accuracy). Judges, each
showing every pair in both orders: the 2:1 critic (ε₊ = 0.30 against the longer answer,
ε₋ = 0.15), an unbiased but noisy judge (0.15 both ways) and a perfect one. For each: the
Bradley–Terry fit and the noise-corrected fit (flip rates estimated on the anchors), held-out
accuracy of both; and, under the critic, a 3-stage curriculum (difficulty from the critic's and
the length judge's showings) against the same fit shuffled.

Prints each seed's figures, the medians, and the mean gain of correction with a Student-t 95%
interval over seeds. Targets: under the critic, corrected > uncorrected with the interval above
0; with an unbiased judge, correction costs at most 0.02 accuracy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import numpy as np
from scipy import stats

from keel.rlaif import (
    FitConfig,
    Pair,
    SimulatedJudge,
    compare_orders,
    critical_judge,
    curriculum,
    degraded_pairs,
    estimate_noise,
    fit_bradley_terry,
    fit_noise_corrected,
    heldout_accuracy,
    judge_both_orders,
    length_judge,
)
from keel.text import load_fortunes


def split(texts: Sequence[str], seed: int) -> tuple[list[Pair], list[Pair], list[Pair]]:
    pairs = degraded_pairs(texts, seed=seed)
    order = np.random.default_rng(seed).permutation(len(pairs))
    picked = [pairs[k] for k in order[:4400]]
    return picked[:3000], picked[3000:3400], picked[3400:]


def t_interval(xs: Sequence[float]) -> tuple[float, float, float]:
    """Mean and Student-t 95% interval of the per-seed figures."""
    m = float(np.mean(xs))
    half = float(stats.t.ppf(0.975, len(xs) - 1) * np.std(xs, ddof=1) / np.sqrt(len(xs)))
    return m, m - half, m + half


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=7)
    args = ap.parse_args()
    texts = load_fortunes()
    judges = {
        "critic 2:1": lambda s: critical_judge(seed=s),
        "unbiased 0.15": lambda s: SimulatedJudge("sim:unbiased", 0.15, 0.15, seed=s),
        "perfect": lambda s: SimulatedJudge("sim:perfect", seed=s),
    }
    figures: dict[str, dict[str, list[float]]] = {j: {} for j in judges}
    orders: dict[str, list[float]] = {"curriculum": [], "shuffled": [], "difference": []}
    start = time.perf_counter()
    for seed in range(args.seeds):
        train, anchors, held = split(texts, seed)
        config = FitConfig(seed=seed)
        for name, make in judges.items():
            judge = make(seed)
            judged = judge_both_orders(judge, train)
            noise = estimate_noise(judge_both_orders(judge, anchors))
            plain = heldout_accuracy(fit_bradley_terry(judged, config).model, held)
            fixed = heldout_accuracy(fit_noise_corrected(judged, noise, config).model, held)
            row = figures[name]
            for key, value in (
                ("plain", plain.value),
                ("corrected", fixed.value),
                ("gain", fixed.value - plain.value),
                ("eps_plus", noise.eps_plus.value),
                ("eps_minus", noise.eps_minus.value),
            ):
                row.setdefault(key, []).append(value)
            print(
                f"seed {seed} {name:13s} ε₊ {noise.eps_plus.value:.3f} "
                f"[{noise.eps_plus.lo:.3f}, {noise.eps_plus.hi:.3f}] "
                f"ε₋ {noise.eps_minus.value:.3f} "
                f"[{noise.eps_minus.lo:.3f}, {noise.eps_minus.hi:.3f}]  plain {plain.value:.3f} "
                f"[{plain.lo:.3f}, {plain.hi:.3f}]  corrected {fixed.value:.3f} "
                f"[{fixed.lo:.3f}, {fixed.hi:.3f}]",
                flush=True,
            )
            if name == "critic 2:1":
                plan = curriculum(judged, judge_both_orders(length_judge(seed=seed), train))
                cmp = compare_orders(
                    lambda st, j=judged, n=noise, c=config: fit_noise_corrected(j, n, c, stages=st),
                    plan,
                    held,
                    seed=seed,
                )
                orders["curriculum"].append(cmp.curriculum.value)
                orders["shuffled"].append(cmp.shuffled.value)
                orders["difference"].append(cmp.difference.value)
                print(
                    f"seed {seed} critic, corrected: curriculum {cmp.curriculum.value:.3f} vs "
                    f"shuffled {cmp.shuffled.value:.3f}, difference {cmp.difference.value:+.3f} "
                    f"[{cmp.difference.lo:+.3f}, {cmp.difference.hi:+.3f}] (paired bootstrap)",
                    flush=True,
                )
    print(f"\n{args.seeds} seeds in {time.perf_counter() - start:.0f} s; medians over seeds:")
    for name, row in figures.items():
        m, lo, hi = t_interval(row["gain"])
        print(
            f"  {name:13s} plain {statistics.median(row['plain']):.3f}  corrected "
            f"{statistics.median(row['corrected']):.3f}  gain median "
            f"{statistics.median(row['gain']):+.3f}, mean {m:+.3f} [{lo:+.3f}, {hi:+.3f}] "
            f"(t, 95%)  ε₊ {statistics.median(row['eps_plus']):.3f} "
            f"ε₋ {statistics.median(row['eps_minus']):.3f}"
        )
    m, lo, hi = t_interval(orders["difference"])
    print(
        f"  curriculum (critic, corrected) {statistics.median(orders['curriculum']):.3f} vs "
        f"shuffled {statistics.median(orders['shuffled']):.3f}: difference median "
        f"{statistics.median(orders['difference']):+.3f}, mean {m:+.3f} [{lo:+.3f}, {hi:+.3f}]"
    )


if __name__ == "__main__":
    main()
