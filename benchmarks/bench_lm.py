"""The [lm] extra's transformer generator on the fortunes: training time (default config),
time to generate 2,000 texts, and held-out perplexity against the trigram and unigram n-gram
models trained on the same texts with the same vocabulary (words seen < min_count times read
as <unk> for all three). Prints the median of `--runs` runs.

    python benchmarks/bench_lm.py [--train 2000] [--test 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from keel.models import NGramModel, perplexity
from keel.models.transformer import TransformerConfig, TransformerModel
from keel.text import load_fortunes, tokenize_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    texts = load_fortunes()
    train, test = texts[: args.train], texts[args.train : args.train + args.test]
    config = TransformerConfig()
    fits, gens, ppls = [], [], []
    for run in range(args.runs):
        t0 = time.perf_counter()
        model = TransformerModel.train(train, config, seed=run)
        fits.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.generate(2000, seed=run)
        gens.append(time.perf_counter() - t0)
        lps = model.token_log_probs(test)
        ppls.append(float(np.exp(-sum(x.sum() for x in lps) / sum(len(x) for x in lps))))
    held_out = tokenize_all(test)
    ngram = {
        order: perplexity(NGramModel.train(tokenize_all(train), order=order, vocab=model.vocab),
                          held_out)
        for order in (3, 1)
    }  # fmt: skip
    size = len(model.vocab)
    print(f"fortunes: {len(train):,} training texts, {len(test):,} held out, |V| = {size:,}")
    print(f"  transformer train (defaults):    {statistics.median(fits):6.2f} s")
    print(f"  transformer generate 2,000:      {statistics.median(gens):6.2f} s")
    print(f"  held-out perplexity transformer: {statistics.median(ppls):8.1f}")
    print(f"  held-out perplexity trigram:     {ngram[3]:8.1f}")
    print(f"  held-out perplexity unigram:     {ngram[1]:8.1f}")


if __name__ == "__main__":
    main()
