"""Intervals: Wilson for proportions, and an exact item-clustered bootstrap over distinct rows.

Every audit figure is a function of weighted sums of per-item features (a judge's confusion
cells, error products, score bins...); an item's repeats are summed into its features first, so
they travel together. Items whose feature rows are identical are exchangeable: drawing n items
with replacement and summing per distinct row (a "pattern" with multiplicity w) is exactly a
multinomial draw over the P patterns with probabilities w/n. One resample of every figure is
then `counts @ patterns`, (B × P)·(P × F), followed by the figure's formula: no approximation.
When rows are nearly all distinct (P > n/4, e.g. continuous scores), counts are drawn per item.
Resamples are drawn in blocks, which bounds memory.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Sums = Mapping[str, Floats]
Statistic = Callable[[Sums], dict[str, Floats]]
Seed = int | Sequence[int]
Layout = dict[str, tuple[slice, tuple[int, ...]]]

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
LEVEL = 0.95
ITEM_LEVEL_SHARE = 0.25  # above P/n = 1/4, draw items rather than patterns
_BLOCK_BYTES = 16 * 2**20
_DRAW_ELEMENTS = 2**19  # item draws per bincount call: keeps them in cache


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure with its interval; `method` is "wilson", "bootstrap" or "none" (no interval)."""

    value: float
    lo: float
    hi: float
    method: str

    def to_json(self) -> dict[str, float | str | None]:
        return {
            "value": num(self.value),
            "lo": num(self.lo),
            "hi": num(self.hi),
            "method": self.method,
        }


def num(x: float) -> float | None:
    """x, or None for JSON where it is NaN or infinite."""
    return x if math.isfinite(x) else None


def z_value(level: float = LEVEL) -> float:
    return float(sps.norm.ppf(0.5 + level / 2))


def wilson(successes: float, n: float, level: float = LEVEL) -> Estimate:
    """Wilson score interval for a binomial proportion (Wilson 1927, JASA 22:209).

    centre = (p + z²/2n) / (1 + z²/n), half = z/(1 + z²/n) · sqrt(p(1-p)/n + z²/4n²).
    """
    if n <= 0:
        return Estimate(math.nan, math.nan, math.nan, "wilson")
    z = z_value(level)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Estimate(p, max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)), "wilson")


def wilson_lower(successes: float, n: float, alpha: float) -> float:
    """One-sided Wilson lower confidence bound at level 1 - alpha."""
    return wilson(successes, n, 1 - 2 * alpha).lo


def effective_n(weights: Floats) -> float:
    """Kish's effective sample size (Σw)² / Σw² (Kish 1965, Survey Sampling §11.7): the number
    of equally weighted observations that would give a weighted mean the same variance; n when
    the weights are equal, less the more they vary. 0 for no weight."""
    total = float(weights.sum())
    return total * total / float((weights * weights).sum()) if total > 0 else 0.0


# -- patterns: distinct rows and their multiplicities ----------------------------------------
def _codes(column: npt.NDArray[Any]) -> tuple[Ints, int]:
    """Dense codes 0..k-1 of a column's values (NaN is one value of its own) and k."""
    x = np.asarray(column)
    if x.dtype.kind in "iub" and x.size:
        lo, hi = int(x.min()), int(x.max())
        if hi - lo < 2**20:
            return x.astype(np.int64) - lo, hi - lo + 1
    elif x.dtype.kind == "f":
        nan = np.isnan(x)
        seen = x[~nan]
        if seen.size and np.array_equal(seen, np.floor(seen)) and seen.max() - seen.min() < 2**20:
            least = float(seen.min())
            return np.where(nan, 0, x - least + 1).astype(np.int64), int(seen.max() - least) + 2
    values, codes = np.unique(x, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), int(values.size)


def distinct_rows(columns: Sequence[npt.NDArray[Any]]) -> tuple[Ints, Ints]:
    """One representative row of each distinct combination of the columns' values (NaN equal
    to NaN), in the order of the combined values, and how many rows share it.

    The order depends on the values only, so a permutation of the rows changes nothing.
    """
    n = len(columns[0])
    key = np.zeros(n, np.int64)
    size = 1
    for column in columns:
        codes, k = _codes(column)
        if size * k >= 2**62:
            _, key = np.unique(key, return_inverse=True)
            size = int(key.max()) + 1
        key = key * k + codes
        size *= k
    if size <= 4 * n + 1024:
        weights = np.bincount(key, minlength=size)
        rep = np.empty(size, np.int64)
        rep[key] = np.arange(n)  # any row of a combination stands for all of them
        present = np.flatnonzero(weights)
        return rep[present], weights[present].astype(np.int64)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    return first.astype(np.int64), counts.astype(np.int64)


def _merge_identical(matrix: Floats, weights: Ints) -> tuple[Floats, Ints]:
    """Merge bit-identical rows (a hash of each row's bytes, checked where two rows share
    one), summing their weights; rows keep the order of their first occurrence."""
    matrix = np.ascontiguousarray(matrix)
    h = np.fromiter(map(hash, map(bytes, matrix.view(np.uint8))), np.int64, matrix.shape[0])
    _, first, inverse, size = np.unique(
        h, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.reshape(-1)
    if first.size == h.size:  # every row distinct: nothing to merge
        return matrix, weights.astype(np.int64)
    shared = np.flatnonzero(size[inverse] > 1)
    if not np.array_equal(matrix[shared], matrix[first[inverse[shared]]], equal_nan=True):
        _, first, inverse = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    merged = np.bincount(rank[inverse], weights=weights, minlength=order.size)
    return matrix[first[order]], merged.astype(np.int64)


def resample_counts(
    weights: Ints, n_resamples: int, seed: Seed, dtype: type[np.floating[Any]] = np.float64
) -> Iterator[npt.NDArray[np.floating[Any]]]:
    """Blocks of bootstrap counts over patterns: row b says how many of the n = Σw items drawn
    with replacement fall on each pattern. Multinomial(n, w/n) over patterns when P ≤ n/4,
    else item draws summed per pattern (the same distribution). Counts come as `dtype`."""
    rng = np.random.default_rng(seed)
    n, p = int(weights.sum()), weights.size
    per_item = p > ITEM_LEVEL_SHARE * n
    size = max(1, min(n_resamples, _BLOCK_BYTES // (8 * max(1, p))))
    pattern_of_item = np.repeat(np.arange(p), weights) if per_item else None
    done = 0
    while done < n_resamples:
        b = min(size, n_resamples - done)
        if pattern_of_item is None:
            counts = rng.multinomial(n, weights / n, size=b).astype(dtype)
        else:
            counts = np.empty((b, p), dtype)
            step = max(1, _DRAW_ELEMENTS // max(1, n))
            for start in range(0, b, step):
                k = min(step, b - start)
                drawn = pattern_of_item[rng.integers(0, n, (k, n))]
                drawn += (p * np.arange(k))[:, None]
                counts[start : start + k] = np.bincount(drawn.reshape(-1), minlength=k * p).reshape(
                    k, p
                )
        done += b
        yield counts


# -- feature blocks as one matrix -----------------------------------------------------------
def stack(blocks: Mapping[str, Floats]) -> tuple[Floats, Layout]:
    """Put per-row feature blocks (each shaped (n, ...)) side by side as one (n, F) matrix."""
    layout: Layout = {}
    start = 0
    for name, block in blocks.items():
        width = int(np.prod(block.shape[1:], dtype=np.int64))
        layout[name] = (slice(start, start + width), block.shape[1:])
        start += width
    n = next(iter(blocks.values())).shape[0]
    matrix = np.empty((n, start))
    for name, block in blocks.items():
        cols, shape = layout[name]
        matrix[:, cols].reshape(n, *shape)[...] = block
    return matrix, layout


def unstack(sums: Floats, layout: Layout) -> dict[str, Floats]:
    """Split (B, F) sums back into named (B, ...) blocks."""
    return {k: sums[:, s].reshape(sums.shape[0], *shape) for k, (s, shape) in layout.items()}


@dataclass(frozen=True, slots=True)
class Bootstrapped:
    """Point values of each figure and their percentile-bootstrap bounds (same shapes)."""

    value: dict[str, Floats]
    lo: dict[str, Floats]
    hi: dict[str, Floats]

    def estimate(self, name: str, index: tuple[int, ...] = ()) -> Estimate:
        value = float(self.value[name][index])
        if name not in self.lo:
            return Estimate(value, math.nan, math.nan, "none")
        lo, hi = float(self.lo[name][index]), float(self.hi[name][index])
        return Estimate(value, lo, hi, "bootstrap")


def bootstrap(
    blocks: Mapping[str, Floats],
    statistic: Statistic,
    *,
    weights: Ints | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: Seed = DEFAULT_SEED,
    level: float = LEVEL,
) -> Bootstrapped:
    """Point values of `statistic` on the full sample and item-clustered percentile intervals.

    `blocks` are per-row features; a row stands for `weights[r]` identical items (default 1).
    `statistic` maps (B, ...) weighted sums to figures with a leading batch axis. Identical rows
    are merged and resampled as a multinomial over patterns: the same bootstrap distribution as
    drawing items, exactly (module docstring). Resamples whose figure is undefined (NaN, e.g.
    no flawed item drawn) are left out of that figure's percentiles.
    """
    matrix, layout = stack(blocks)
    w = np.ones(matrix.shape[0], np.int64) if weights is None else np.asarray(weights, np.int64)
    point = statistic(unstack((w.astype(np.float64) @ matrix)[None, :], layout))
    value = {k: v[0] for k, v in point.items()}
    if n_resamples <= 0 or matrix.shape[0] == 0:
        return Bootstrapped(value, {}, {})
    patterns, w = _merge_identical(matrix, w)
    if w.size > ITEM_LEVEL_SHARE * w.sum():
        patterns = patterns.astype(np.float32)  # item-level draws: halve the product's cost
    draws: dict[str, list[Floats]] = {k: [] for k in value}
    for counts in resample_counts(w, n_resamples, seed, patterns.dtype.type):
        sums = (counts @ patterns).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            figures = statistic(unstack(sums, layout))
        for k, v in figures.items():
            draws[k].append(v)
    q = [(1 - level) / 2, (1 + level) / 2]
    lo: dict[str, Floats] = {}
    hi: dict[str, Floats] = {}
    for k, parts in draws.items():
        d = np.concatenate(parts, axis=0)
        if np.isnan(d).any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                bounds = np.nanquantile(d, q, axis=0)
        else:
            bounds = np.quantile(d, q, axis=0)
        lo[k], hi[k] = bounds[0], bounds[1]
    return Bootstrapped(value, lo, hi)


def safe_div(num: Floats, den: Floats) -> Floats:
    """num / den, NaN where den is 0 (an undefined rate, never a made-up 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Floats = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return out


Inputs = Mapping[str, npt.NDArray[Any]]


def bootstrap_inputs(
    inputs: Inputs,
    features: Callable[[Inputs], dict[str, Floats]],
    statistic: Statistic,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: Seed = DEFAULT_SEED,
) -> Bootstrapped:
    """`bootstrap` of figures whose per-item features are a function of per-item `inputs`
    (arrays with items on the first axis): `features` runs once per distinct combination of the
    inputs, which the items sharing it then weigh. Exact, and fast when few combinations exist."""
    n = len(next(iter(inputs.values())))
    columns = [c for a in inputs.values() for c in np.asarray(a).reshape(n, -1).T]
    rows, weights = distinct_rows(columns)
    at = {k: np.asarray(a)[rows] for k, a in inputs.items()}
    return bootstrap(features(at), statistic, weights=weights, n_resamples=n_resamples, seed=seed)


def stack_results(parts: Sequence[Bootstrapped]) -> Bootstrapped:
    """Results of the same figures for several units (judges) as one, the unit axis first."""

    def along(side: Sequence[dict[str, Floats]]) -> dict[str, Floats]:
        return {k: np.stack([d[k] for d in side]) for k in side[0]} if side[0] else {}

    return Bootstrapped(
        along([p.value for p in parts]), along([p.lo for p in parts]), along([p.hi for p in parts])
    )


def merge_results(parts: Sequence[Bootstrapped]) -> Bootstrapped:
    """The figures of several results (distinct names) as one."""
    return Bootstrapped(
        {k: v for p in parts for k, v in p.value.items()},
        {k: v for p in parts for k, v in p.lo.items()},
        {k: v for p in parts for k, v in p.hi.items()},
    )
