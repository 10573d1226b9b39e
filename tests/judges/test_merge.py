"""`stats._merge_identical`: bit-identical rows merge, weights add up, first-occurrence order;
the same partition whether rows are all distinct, partly shared, or every hash collides."""

from __future__ import annotations

import numpy as np
import pytest

from keel.judges import stats


def _reference(matrix: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows: dict[bytes, int] = {}
    firsts: list[int] = []
    merged: list[int] = []
    for i, row in enumerate(np.ascontiguousarray(matrix)):
        key = row.tobytes()
        if key not in rows:
            rows[key] = len(firsts)
            firsts.append(i)
            merged.append(0)
        merged[rows[key]] += int(weights[i])
    return matrix[firsts], np.array(merged, np.int64)


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    distinct = rng.random((500, 7))
    shared = rng.integers(0, 3, (800, 4)).astype(np.float64)
    shared[rng.random(shared.shape) < 0.1] = np.nan
    one_col = rng.integers(0, 5, (300, 1)).astype(np.float64)
    return [
        (distinct, np.ones(500, np.int64)),
        (shared, rng.integers(1, 4, 800)),
        (one_col, rng.integers(1, 9, 300)),
        (np.zeros((1, 3)), np.array([5])),
    ]


@pytest.mark.parametrize("case", range(4))
def test_merge_matches_reference(case: int) -> None:
    matrix, weights = _cases()[case]
    got, merged = stats._merge_identical(matrix, weights)
    want, want_w = _reference(matrix, weights)
    assert np.array_equal(got, want, equal_nan=True)
    assert merged.tolist() == want_w.tolist()
    assert merged.dtype == np.int64


@pytest.mark.parametrize("case", [0, 2, 3])  # np.unique(axis=0), the fallback, splits NaN rows
def test_merge_survives_hash_collisions(case: int, monkeypatch: pytest.MonkeyPatch) -> None:
    matrix, weights = _cases()[case]
    monkeypatch.setattr(stats, "hash", lambda _: 0, raising=False)  # every row collides
    got, merged = stats._merge_identical(matrix, weights)
    want, want_w = _reference(matrix, weights)
    assert np.array_equal(got, want, equal_nan=True)
    assert merged.tolist() == want_w.tolist()
