"""Pairs for the rlaif tests and the benchmark: fortunes against degraded copies of themselves
(`keel.rlaif.degraded_pairs`, all with a known preference), shuffled and cut into training,
anchor and held-out pairs."""

from __future__ import annotations

import numpy as np

from keel.rlaif import Pair, degraded_pairs
from keel.text import load_fortunes


def split_world(
    n_train: int, n_anchors: int, n_heldout: int, seed: int = 0
) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """Degraded-fortune pairs, shuffled with `seed`, cut into train, anchors and held-out."""
    pairs = degraded_pairs(load_fortunes(), seed=seed)
    order = np.random.default_rng(seed).permutation(len(pairs))
    picked = [pairs[k] for k in order[: n_train + n_anchors + n_heldout]]
    return (
        picked[:n_train],
        picked[n_train : n_train + n_anchors],
        picked[n_train + n_anchors :],
    )
