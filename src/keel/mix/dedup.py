"""Near-duplicate removal with MinHash and LSH banding (Broder 1997; Leskovec et al., *Mining of
Massive Datasets*, ch. 3).

A text is the set of its word n-grams (shingles, `shingle` = 3 words of `keel.text.tokenize`;
a text shorter than that is one shingle of all its words). Each shingle is hashed to 31 bits
(a stable BLAKE2b hash of its tokens, so that a text's signature never depends on the batch),
and k = `num_perm` universal hash functions h_i(x) = (a_i·x + b_i) mod p, p = 2³¹ − 1, give the
signature sig_i = min over shingles of h_i. P(sig_i(A) = sig_i(B)) = J(A, B), the Jaccard
similarity, so Ĵ = (1/k)·Σ 1[sig_i(A) = sig_i(B)] estimates it with SD sqrt(J(1−J)/k).

Candidates: the signature is cut into b = `bands` bands of r = k/b rows; two texts are
candidates when a band is equal, probability 1 − (1 − J^r)^b. Defaults k = 128, b = 32, r = 4:
a pair at J = 0.8 becomes a candidate with probability 1 − 3·10⁻⁸, one at J = 0.3 with 0.23.
A candidate pair is a near-duplicate when Ĵ ≥ `threshold` (0.8 by default).

Groups and what is kept: texts are processed in order (log order); each is compared with the
texts already kept in its band buckets and joins the earliest one it matches; otherwise it
is kept and enters its buckets. The earliest text of each group is kept. The kept texts are
pairwise below the threshold, so deduplicating them again keeps them all (idempotent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial

import numpy as np
import numpy.typing as npt

from keel.mix.policy import MinHashConfig
from keel.scale import Executor
from keel.text import tokenize

PRIME = np.uint64(2**31 - 1)
UInts = npt.NDArray[np.uint64]
_CHUNK = 1 << 15  # shingles hashed per block: num_perm × 256 KiB of memory
SHARD_TEXTS = 5_000
"""Texts signed per task when an executor shards the work."""


def _token_hash(token: str, cache: dict[str, int]) -> int:
    h = cache.get(token)
    if h is None:
        h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
        cache[token] = h
    return h


def shingle_hashes(text: str, n: int, cache: dict[str, int] | None = None) -> UInts:
    """31-bit hashes of a text's distinct word n-grams (one shingle if it has fewer words)."""
    memo = {} if cache is None else cache
    toks = np.array([_token_hash(t, memo) for t in tokenize(text)], dtype=np.uint64)
    if toks.size == 0:
        return np.zeros(0, np.uint64)
    n = min(n, toks.size)
    h = np.zeros(toks.size - n + 1, np.uint64)
    mult = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * mult ^ toks[k : toks.size - n + 1 + k]
        h ^= h >> np.uint64(29)
    return np.unique(h % PRIME)


def signatures(
    texts: Sequence[str],
    config: MinHashConfig = MinHashConfig(),
    *,
    executor: Executor | None = None,
) -> UInts:
    """(texts × num_perm) MinHash signatures; a text with no tokens gets all p (max).

    A text's signature depends on it alone, so with an `executor` (`keel.scale`) shards of
    texts are signed on it and stacked in order: the same array."""
    if executor is not None and len(texts) > 0:
        shards = [texts[i : i + SHARD_TEXTS] for i in range(0, len(texts), SHARD_TEXTS)]
        return np.vstack(list(executor.map(partial(signatures, config=config), shards)))
    rng = np.random.default_rng(config.seed)
    a = rng.integers(1, int(PRIME), config.num_perm, dtype=np.uint64)
    b = rng.integers(0, int(PRIME), config.num_perm, dtype=np.uint64)
    cache: dict[str, int] = {}
    sig = np.full((len(texts), config.num_perm), PRIME, dtype=np.uint64)
    shingles = [shingle_hashes(t, config.shingle, cache) for t in texts]
    lengths = np.array([s.size for s in shingles], dtype=np.int64)
    start = 0
    while start < len(texts):
        stop, total = start, 0
        while stop < len(texts) and (total == 0 or total + lengths[stop] <= _CHUNK):
            total += int(lengths[stop])
            stop += 1
        block = shingles[start:stop]
        sizes = lengths[start:stop]
        rows = np.flatnonzero(sizes) + start
        if rows.size:
            x = np.concatenate(block)
            hashed = (a[:, None] * x[None, :] + b[:, None]) % PRIME
            offsets = np.concatenate([[0], np.cumsum(sizes[sizes > 0])[:-1]])
            sig[rows] = np.minimum.reduceat(hashed, offsets, axis=1).T
        start = stop
    return sig


def jaccard(sig_a: UInts, sig_b: UInts) -> float:
    """Ĵ = the share of equal signature positions (module docstring)."""
    return float(np.mean(sig_a == sig_b))


def dedup(
    texts: Sequence[str],
    config: MinHashConfig = MinHashConfig(),
    *,
    executor: Executor | None = None,
) -> tuple[int, ...]:
    """For each text, the position of the kept text of its near-duplicate group (itself when
    kept); positions are in input order, and the earliest text of a group is the kept one.

    With an `executor` the signatures are computed in shards on it (the map); grouping by LSH
    band stays here, on the driver, in input order (the same groups)."""
    sig = signatures(texts, config, executor=executor)
    rows = config.num_perm // config.bands
    buckets: dict[tuple[int, bytes], list[int]] = {}
    keeper = list(range(len(texts)))
    for i in range(len(texts)):
        keys = [
            (band, sig[i, band * rows : (band + 1) * rows].tobytes())
            for band in range(config.bands)
        ]
        match = _earliest_match(sig, i, keys, buckets, config.threshold)
        if match is not None:
            keeper[i] = match
            continue
        for key in keys:
            buckets.setdefault(key, []).append(i)
    return tuple(keeper)


def _earliest_match(
    sig: UInts,
    i: int,
    keys: list[tuple[int, bytes]],
    buckets: dict[tuple[int, bytes], list[int]],
    threshold: float,
) -> int | None:
    """The earliest kept text sharing a band with text i whose Ĵ reaches the threshold."""
    cands = sorted({k for key in keys for k in buckets.get(key, ())})
    if not cands:
        return None
    similar = np.flatnonzero(np.mean(sig[cands] == sig[i], axis=1) >= threshold)
    return cands[int(similar[0])] if similar.size else None
