"""Collapse metrics and simulator at scale. Metrics: corpora of 10k/30k/100k texts of ~20 words
(drawn from an n-gram model trained on the fortune corpus) against a 10,000-text reference;
simulator: Gaussian, categorical and mixture (accumulate), 100 generations x 100 repetitions;
n-gram sampling: 3,000 texts of ~20 words at temperatures 1 and 0.8. Prints the median of
`--runs` runs in seconds and the peak memory (RSS) of the process. Beside each corpus's metrics,
the floor of issue 20: tokenising and encoding the texts once (`tokenize_all` + `encode_corpus`
against the reference's vocabulary, the step every metric shares), timed in the same run;
target: metrics ≤ 2× that floor at 100k texts.

    python benchmarks/bench_collapse.py [--sizes 10000,30000,100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

from keel.collapse import Reference, Simulation, measure, simulate
from keel.models import NGramModel
from keel.text import detokenize, encode_corpus, load_fortunes, tokenize_all


def texts(model: NGramModel, count: int, seed: int) -> list[str]:
    """`count` texts of about 20 words (at most 32 tokens, punctuation included)."""
    return [detokenize(t) for t in model.sample(count, seed=seed, max_tokens=32)]


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    model = NGramModel.train(tokenize_all(load_fortunes()), order=3)
    human = texts(model, 10_000, seed=0)
    print("metrics vs a 10,000-text reference (tokenise, count, self-BLEU, embed, k-NN)")
    t_ref = median_seconds(lambda: Reference.build(human), args.runs)
    ref = Reference.build(human)
    print(f"  reference build (tokenise + fit embedding): {t_ref:6.2f} s")
    for n in (int(s) for s in args.sizes.split(",")):
        corpus = texts(model, n, seed=n)
        floor = median_seconds(
            lambda c=corpus: encode_corpus(tokenize_all(c), dict(ref.index)),  # type: ignore[misc]
            args.runs,
        )
        secs = median_seconds(lambda c=corpus: measure(c, ref), args.runs)  # type: ignore[misc]
        words = sum(len(t.split()) for t in corpus) / n
        print(
            f"  {n:>7,} texts (~{words:.0f} words): {secs:6.2f} s  ({secs / n * 1e6:.1f} µs/text)"
            f"; tokenise + encode once {floor:.2f} s: {secs / floor:.2f}x (goal <= 2x)"
        )
    print("n-gram sampling, 3,000 texts of at most 32 tokens (exact p^(1/T))")
    for temp in (1.0, 0.8):
        secs = median_seconds(
            lambda t=temp: model.sample(3000, seed=1, temperature=t, max_tokens=32),  # type: ignore[misc]
            args.runs,
        )
        print(f"  T = {temp}: {secs:6.2f} s")
    print("simulate, 100 generations x 100 repetitions, M = 100")
    for model_name, loop in (("gaussian", "replace"), ("categorical", "replace"),
                             ("mixture", "accumulate")):  # fmt: skip
        cfg = Simulation(model=model_name, loop=loop, generations=100, repetitions=100,  # type: ignore[arg-type]
                         samples=100)  # fmt: skip
        secs = median_seconds(lambda c=cfg: simulate(c), args.runs)  # type: ignore[misc]
        print(f"  {model_name} / {loop}: {secs:6.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
