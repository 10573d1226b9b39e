"""`metrics.distinct` (the sort-based `np.unique` the n-gram metrics use) and `ngram_keys`
(no ranking for bigrams): the same values, and n-gram ids that sort as the n-grams do."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from keel.collapse.metrics import Corpus, distinct, ngram_keys

ints = st.lists(st.integers(-(2**62), 2**62), max_size=200)


@given(ints)
def test_distinct_is_numpy_unique(values: list[int]) -> None:
    keys = np.array(values, dtype=np.int64)
    assert np.array_equal(distinct(keys), np.unique(keys))


texts = st.lists(st.lists(st.integers(0, 6), max_size=8), min_size=1, max_size=12)


@given(texts, st.integers(1, 4))
def test_ngram_ids_sort_as_the_ngrams(corpus: list[list[int]], n: int) -> None:
    ids = np.array([t for text in corpus for t in text], dtype=np.int64)
    offsets = np.cumsum([0, *(len(t) for t in corpus)]).astype(np.int64)
    keys, text_of = ngram_keys(Corpus(ids, offsets), n)
    grams = [
        (tuple(text[i : i + n]), k)
        for k, text in enumerate(corpus)
        for i in range(len(text) - n + 1)
    ]
    assert len(keys) == len(grams)
    assert list(text_of) == [k for _, k in grams]
    for (a, _), ka in zip(grams, keys, strict=True):
        for (b, _), kb in zip(grams, keys, strict=True):
            assert (ka < kb) == (a < b) and (ka == kb) == (a == b)
