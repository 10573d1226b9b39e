"""MinHash near-duplicate removal: the Jaccard estimate, grouping, and idempotence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keel.errors import ConfigError
from keel.mix import MinHashConfig, dedup, jaccard, shingle_hashes, signatures

WORDS = [f"t{i}" for i in range(60)]
texts_st = st.lists(st.sampled_from(WORDS), min_size=4, max_size=40).map(" ".join)


def exact_jaccard(a: str, b: str, n: int = 3) -> float:
    sa, sb = set(shingle_hashes(a, n).tolist()), set(shingle_hashes(b, n).tolist())
    return len(sa & sb) / len(sa | sb)


@settings(max_examples=60, deadline=None)
@given(a=texts_st, b=texts_st, cut=st.integers(0, 40))
def test_minhash_estimates_jaccard(a: str, b: str, cut: int) -> None:
    b = " ".join(a.split()[:cut] + b.split())  # share a prefix, so that J spans (0, 1)
    cfg = MinHashConfig()
    sig = signatures([a, b], cfg)
    j = exact_jaccard(a, b)
    sd = math.sqrt(j * (1 - j) / cfg.num_perm)
    assert abs(jaccard(sig[0], sig[1]) - j) <= 5 * sd + 0.03


def test_estimate_is_unbiased_over_many_pairs() -> None:
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(200):
        base = list(rng.choice(WORDS, 30))
        other = base[:15] + list(rng.choice(WORDS, 15))
        a, b = " ".join(base), " ".join(other)
        sig = signatures([a, b])
        errors.append(jaccard(sig[0], sig[1]) - exact_jaccard(a, b))
    assert abs(float(np.mean(errors))) < 0.01


@settings(max_examples=40, deadline=None)
@given(st.lists(texts_st, min_size=1, max_size=25))
def test_dedup_is_idempotent_and_keeps_the_earliest(texts: list[str]) -> None:
    texts = texts + [t + " t1" for t in texts[:5]] + texts[:3]  # near and exact copies
    keeper = dedup(texts)
    assert all(k <= i and keeper[k] == k for i, k in enumerate(keeper))
    kept = [t for i, t in enumerate(texts) if keeper[i] == i]
    assert dedup(kept) == tuple(range(len(kept)))


def test_near_duplicate_grouped_with_the_first() -> None:
    rng = np.random.default_rng(1)
    base = " ".join(rng.choice(WORDS, 40))
    variant = base.replace(base.split()[20], "zzz", 1)
    other = " ".join(rng.choice(WORDS, 40))
    assert exact_jaccard(base, variant) > 0.8
    assert dedup([base, other, variant, base]) == (0, 1, 0, 0)
    assert dedup(["", "", "a b c"]) == (0, 0, 2)


def test_short_texts_are_one_shingle() -> None:
    assert shingle_hashes("hello there", 3).size == 1
    assert shingle_hashes("", 3).size == 0


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="multiple of bands"):
        MinHashConfig(num_perm=100, bands=32)
    with pytest.raises(ConfigError, match="threshold"):
        MinHashConfig(threshold=0)
