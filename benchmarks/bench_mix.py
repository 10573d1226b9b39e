"""Mixing figures: MinHash dedup throughput, and `build_mix` end to end on a ledger of
2,000 human and 10,000 synthetic records with two judges' verdicts and 400 expert reviews.

Run: .venv/bin/python benchmarks/bench_mix.py   (prints medians of 3 runs)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from keel.experts import review_generation
from keel.ledger import Ledger
from keel.mix import MixPolicy, build_mix, dedup
from mix_scenario import build, sentence


def median_of_3(fn: object) -> float:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    texts = [sentence(rng, 20) for _ in range(10_000)]
    texts += texts[:1000]  # exact duplicates
    s = median_of_3(lambda: dedup(texts))
    print(f"dedup: {len(texts):,} texts of 20 words in {s:.2f} s ({len(texts) / s:,.0f} texts/s)")
    with tempfile.TemporaryDirectory() as tmp:
        led = Ledger.open(Path(tmp) / "b.db")
        sc = build(led, n_human=2000, n_synthetic=10_000)
        review_generation(led, sc.panel(), budget=400, generation=1)
        policy = MixPolicy(alpha=0.2, size=5000, target_precision=0.9, generation=1)
        s = median_of_3(lambda: build_mix(led, policy))
        print(f"build_mix: {led.size:,} ledger entries, mix of 5,000 in {s:.2f} s")
        led.close()


if __name__ == "__main__":
    main()
