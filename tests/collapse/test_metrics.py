"""Collapse metrics: hand-checked values, nltk's BLEU as an independent reference for self-BLEU,
and invariants (bounds, symmetry, permutation invariance) with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from keel.collapse import (
    Corpus,
    MetricsConfig,
    Reference,
    distinct_n,
    entropy,
    gini_simpson,
    js_divergence,
    kl_divergence,
    knn_precision_recall,
    measure,
    self_bleu,
    vendi_score,
)
from keel.collapse.metrics import document_counts, tail_types
from keel.errors import ConfigError, InputError
from keel.text import encode_corpus, load_fortunes, tokenize_all


def corpus_of(texts: list[list[str]]) -> Corpus:
    return Corpus(*encode_corpus(texts, {}))


def test_distinct_n_counts_within_texts_only() -> None:
    c = corpus_of([["a", "b", "a"], ["b", "a"]])
    assert distinct_n(c, 1) == 2 / 5
    assert distinct_n(c, 2) == 2 / 3  # ab, ba, ba: never the pair across texts
    assert np.isnan(distinct_n(c, 4))


def test_entropy_gini_simpson_and_divergences_by_hand() -> None:
    assert entropy([1, 1, 1, 1]) == pytest.approx(2.0)
    assert gini_simpson([1, 1]) == pytest.approx(0.5)
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    assert kl_divergence([5, 5], [5, 5], 0.5) == pytest.approx(0.0)
    assert kl_divergence([5, 5], [10, 0], 0.5) > 0


@given(st.lists(st.integers(0, 50), min_size=2, max_size=30), st.randoms())
def test_diversity_bounds_and_permutation_invariance(counts: list[int], rnd: object) -> None:
    if sum(counts) == 0:
        return
    k = sum(c > 0 for c in counts)
    h = entropy(counts)
    assert -1e-9 <= h <= np.log2(k) + 1e-9
    assert 0 <= gini_simpson(counts) <= 1 - 1 / k + 1e-12
    shuffled = list(counts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert entropy(shuffled) == pytest.approx(h)


@given(
    st.lists(st.integers(0, 20), min_size=3, max_size=3),
    st.lists(st.integers(0, 20), min_size=3, max_size=3),
)
def test_js_is_symmetric_and_bounded(p: list[int], q: list[int]) -> None:
    if sum(p) == 0 or sum(q) == 0:
        return
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p))
    assert 0 <= js_divergence(p, q) <= 1


def test_self_bleu_equals_nltk_sentence_bleu_against_the_others() -> None:
    toks = tokenize_all(load_fortunes(("zippy",))[:40])
    smooth = SmoothingFunction().method1
    expected = np.mean(
        [
            sentence_bleu([t for j, t in enumerate(toks) if j != i], h, smoothing_function=smooth)
            for i, h in enumerate(toks)
        ]
    )
    assert self_bleu(corpus_of(toks)) == pytest.approx(expected, rel=1e-9)
    assert self_bleu(corpus_of([["same", "text", "is", "here"]] * 5)) == pytest.approx(1.0)


def test_self_bleu_of_texts_shorter_than_its_n_grams() -> None:
    """No 4-gram (or no 3-gram) in the whole sample: the precision is ε, as in nltk."""
    smooth = SmoothingFunction().method1
    for toks in ([["a", "b"], ["c", "d", "e"], ["a"]], [["a", "b"], ["a", "b", "c"]]):
        expected = np.mean(
            [
                sentence_bleu(
                    [t for j, t in enumerate(toks) if j != i], h, smoothing_function=smooth
                )
                for i, h in enumerate(toks)
            ]
        )
        assert self_bleu(corpus_of(toks)) == pytest.approx(expected, rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(3, 30), st.integers(2, 8), st.integers(0, 1000))
def test_vendi_is_between_one_and_n(n: int, d: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert 1 - 1e-9 <= vendi_score(x) <= n + 1e-9
    assert vendi_score(np.tile(x[:1], (n, 1))) == pytest.approx(1.0)
    assert vendi_score(np.eye(d)) == pytest.approx(d)


def test_knn_precision_recall_separates_mode_collapse() -> None:
    rng = np.random.default_rng(0)
    real = rng.standard_normal((400, 3))
    same = rng.standard_normal((400, 3))
    p, r = knn_precision_recall(real, same, 5)
    assert p > 0.9 and r > 0.9
    collapsed = 0.1 * rng.standard_normal((400, 3))
    p2, r2 = knn_precision_recall(real, collapsed, 5)
    assert p2 > 0.9 and r2 < 0.5


@pytest.fixture(scope="module")
def shuffled() -> list[str]:
    """The `fortunes` collection in a seeded random order (the file is grouped by theme)."""
    texts = load_fortunes(("fortunes",))
    return [texts[i] for i in np.random.default_rng(7).permutation(len(texts))]


@pytest.fixture(scope="module")
def reference(shuffled: list[str]) -> Reference:
    return Reference.build(shuffled[:3000], config=MetricsConfig(seed=1))


def test_measure_flags_tail_loss_of_a_narrow_corpus(
    reference: Reference, shuffled: list[str]
) -> None:
    human = shuffled[3000:4000]
    narrow = [" ".join(t.split()[:6]) for t in human[:50]] * 20
    h, n = measure(human, reference), measure(narrow, reference)
    assert n.tail_retention < h.tail_retention
    assert n.distinct_2 < h.distinct_2 and n.entropy_1 < h.entropy_1
    assert n.self_bleu > h.self_bleu and n.vendi < h.vendi and n.recall < h.recall
    assert n.kl_to_reference > h.kl_to_reference
    for v in (h.distinct_1, h.tail_retention, h.singleton_retention, h.precision, h.recall):
        assert 0 <= v <= 1


def test_token_id_input_matches_text_input() -> None:
    texts = ["a b c", "a b", "c d e f"]
    ids = [[1, 2, 3], [1, 2], [3, 4, 5, 6]]
    cfg = MetricsConfig(tail_min_count=1)
    mt = measure(texts, Reference.build(texts, config=cfg))
    mi = measure(ids, Reference.build(ids, config=cfg))
    assert (mt.distinct_2, mt.entropy_1, mt.tail_retention, mt.singleton_retention) == (
        mi.distinct_2, mi.entropy_1, mi.tail_retention, mi.singleton_retention,
    )  # fmt: skip
    assert mt.tail_retention == 1.0
    assert np.isnan(mi.vendi)


def test_tail_is_the_rare_types_a_same_size_human_sample_keeps() -> None:
    docs = np.array([0, 1, 2, 3, 6, 8, 10, 40, 100])  # texts of the reference holding each type
    # a corpus half the reference's size expects d/2 texts: eligible d ≥ 6, their median 10
    assert tail_types(docs, 0.5, 0.5, 3.0).tolist() == [4, 5, 6]
    assert tail_types(docs, 1.0, 0.5, 3.0).tolist() == [4, 5, 6, 7, 8]
    # ten times the size: every seen type is eligible (expected ≥ 10)
    assert tail_types(docs, 0.5, 10.0, 3.0).tolist() == [1, 2, 3, 4]
    texts = corpus_of([["a", "b", "a"], ["b"], ["c"]])
    assert document_counts(texts, 4).tolist() == [1, 2, 1, 0]
    assert len(tail_types(docs, 0.5, 0.01, 3.0)) == 0


def test_a_human_sample_keeps_its_tail_but_not_the_singletons(
    reference: Reference, shuffled: list[str]
) -> None:
    human = measure(shuffled[3000:4000], reference)
    assert human.tail_retention > 0.9  # each tail type: presence ≥ 1 - exp(-3) = 0.95
    assert human.singleton_retention < 0.5


def test_bad_inputs(reference: Reference) -> None:
    with pytest.raises(InputError):
        measure([], reference)
    with pytest.raises(InputError):
        measure([[1, 2]], reference)
    with pytest.raises(ConfigError):
        MetricsConfig(tail_quantile=2.0)
    with pytest.raises(ConfigError):
        MetricsConfig(tail_min_count=0)
