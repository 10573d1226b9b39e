"""Tail-preserving sampling: when the synthetic pool exceeds its budget, texts that carry the
human corpus's rare types are kept preferentially.

Rare types: with c(w) a type's token count in the verified human texts (`keel.text.tokenize`)
and N their total, the rare types are those with c(w) ≤ c*, where c* is the largest count such
that the types at or below it hold at most `tail_mass` (default 10%) of the N tokens, and at
least 1 (hapaxes are always rare). Types the human corpus never uses are not counted: they are
no evidence of the human tail.

Weights and draw: text i gets w_i = 1 + `boost`·t_i, t_i its number of distinct rare types
(boost 2 by default); k texts are drawn without replacement with probability proportional to
w by Efraimidis & Spirakis (2006, Inf. Process. Lett. 97:181): key_i = log(u_i)/w_i, u_i
uniform, keep the k largest keys. Every text keeps a chance (w ≥ 1), so the sample is tilted
toward the tail, not restricted to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from keel.text import tokenize

Floats = npt.NDArray[np.float64]


def rare_types(human_texts: Iterable[str], tail_mass: float = 0.1) -> frozenset[str]:
    """The human corpus's rare types: count ≤ c* (module docstring)."""
    counts = Counter(t for text in human_texts for t in tokenize(text))
    if not counts:
        return frozenset()
    by_count = Counter[int]()
    for c in counts.values():
        by_count[c] += c
    budget = tail_mass * sum(counts.values())
    cutoff, mass = 1, 0
    for c in sorted(by_count):
        mass += by_count[c]
        if mass > budget:
            break
        cutoff = c
    return frozenset(t for t, c in counts.items() if c <= cutoff)


def tail_weights(texts: Sequence[str], rare: frozenset[str], boost: float = 2.0) -> Floats:
    """w_i = 1 + boost·(distinct rare types in text i)."""
    return np.array([1.0 + boost * len(rare.intersection(tokenize(t))) for t in texts])


def weighted_sample(weights: Floats, k: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """k positions drawn without replacement ∝ weights (Efraimidis-Spirakis), in input order."""
    n = weights.size
    if k >= n:
        return np.arange(n, dtype=np.int64)
    if k <= 0:
        return np.zeros(0, np.int64)
    u = np.random.default_rng(seed).random(n)
    keys = np.log(np.maximum(u, np.finfo(float).tiny)) / weights
    return np.sort(np.argpartition(-keys, k - 1)[:k]).astype(np.int64)
