"""Tail-preserving sampling: which types are rare, the weights, and the weighted draw."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import ConfigError
from keel.mix import TailConfig, rare_types, tail_weights, weighted_sample


def test_rare_types_hold_at_most_the_tail_mass() -> None:
    human = ["a a a a a a a a b b b b c c d e"]  # 16 tokens: a 8, b 4, c 2, d 1, e 1
    assert rare_types(human, 0.25) == {"c", "d", "e"}  # 4 tokens of 16
    assert rare_types(human, 0.0) == {"d", "e"}  # hapaxes are always rare
    assert rare_types([], 0.1) == frozenset()


def test_weights_count_distinct_rare_types() -> None:
    w = tail_weights(["c d d x", "a b", "e"], frozenset({"c", "d", "e"}), boost=2.0)
    assert w.tolist() == [5.0, 1.0, 3.0]


@given(st.lists(st.floats(0.5, 20), min_size=1, max_size=50), st.integers(0, 60))
def test_weighted_sample_draws_k_distinct(weights: list[float], k: int) -> None:
    pick = weighted_sample(np.array(weights), k, seed=3)
    assert pick.size == min(max(k, 0), len(weights))
    assert len(set(pick.tolist())) == pick.size and np.all(np.diff(pick) > 0)


def test_heavier_texts_are_kept_more_often() -> None:
    weights = np.array([5.0] * 50 + [1.0] * 450)
    hits = np.zeros(500)
    for seed in range(200):
        hits[weighted_sample(weights, 50, seed)] += 1
    assert hits[:50].mean() > 3 * hits[50:].mean() > 0  # tilted, not restricted


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="tail_mass"):
        TailConfig(tail_mass=2)
    with pytest.raises(ConfigError, match="boost"):
        TailConfig(boost=-1)
