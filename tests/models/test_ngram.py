"""The n-gram model: normalised Kneser-Ney distributions, exact sampling of p^(1/T) at any
temperature (rejection and explicit fallback, small and fortune-sized models), seeded sampling
and log-likelihoods."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from keel.errors import ConfigError
from keel.models import NGramModel, ngram, perplexity
from keel.text import BOS_ID, load_fortunes, tokenize, tokenize_all

TEXTS = [
    tokenize(t)
    for t in [
        "the cat sat on the mat.",
        "the dog sat on the log.",
        "a cat and a dog met on the mat.",
        "the bird flew over the dog and the cat.",
        "rare words like sesquipedalian appear once.",
    ]
    * 3
]


@pytest.fixture(scope="module")
def model() -> NGramModel:
    return NGramModel.train(TEXTS, order=3)


def histories(model: NGramModel) -> np.ndarray:
    the, cat, zzz = (model.vocab.index[w] for w in ("the", "cat", "dog"))
    return np.array([[BOS_ID, BOS_ID], [BOS_ID, the], [the, cat], [zzz, zzz], [cat, the]])


def test_every_next_word_distribution_sums_to_one(model: NGramModel) -> None:
    probs = model.next_word_probs(histories(model))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    assert (probs[:, BOS_ID] == 0).all()
    assert (probs[:, 3:] > 0).all()


def test_log_prob_matches_the_full_distribution(model: NGramModel) -> None:
    h = histories(model)
    words = np.array([model.vocab.index[w] for w in ("the", "sat", "sat", "mat", ".")])
    dense = model.next_word_probs(h)[np.arange(len(h)), words]
    np.testing.assert_allclose(np.exp(model.log_prob(h, words)), dense, rtol=1e-12)


@pytest.mark.parametrize("temperature", [1.0, 0.6, 1.7])
@pytest.mark.parametrize("row", range(5))
@pytest.mark.parametrize("rounds", [ngram.REJECTION_ROUNDS, 0])
def test_sampling_follows_the_model(
    model: NGramModel, temperature: float, row: int, rounds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exact p^(1/T) sampling, by rejection and by the explicit fallback (rounds = 0)."""
    monkeypatch.setattr(ngram, "REJECTION_ROUNDS", rounds)
    assert_draws_follow(model, histories(model)[row], temperature)


def assert_draws_follow(model: NGramModel, history: np.ndarray, temperature: float) -> None:
    """20,000 draws after `history` pass a χ² test against p^(1/T) / Σ p^(1/T)."""
    h = np.tile(history, (20_000, 1))
    drawn = model.draw(h, np.random.default_rng(4), model.tempered(temperature))
    p = model.next_word_probs(h[:1])[0] ** (1 / temperature)
    p /= p.sum()
    seen = np.bincount(drawn, minlength=len(p))
    common = p * len(h) >= 5
    assert seen[~common].sum() <= max(3 * p[~common].sum() * len(h), 10)
    observed, expected = seen[common], p[common] * seen[common].sum() / p[common].sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_tempered_sampling_is_exact_on_the_fortune_model() -> None:
    big = NGramModel.train(tokenize_all(load_fortunes()), order=3)
    ids = big.vocab.index
    for words in ((BOS_ID, BOS_ID), (ids["of"], ids["the"]), (ids["the"], ids["."])):
        assert_draws_follow(big, np.array(words), 0.8)


def test_sampling_is_seeded_and_lower_temperature_is_more_typical(model: NGramModel) -> None:
    assert model.sample(50, seed=3) == model.sample(50, seed=3)
    hot = model.sample(300, seed=1, temperature=1.5)
    cold = model.sample(300, seed=1, temperature=0.5)
    assert perplexity(model, cold) < perplexity(model, hot)
    assert all(len(t) <= 60 for t in hot)


def test_text_log_likelihood_is_the_sum_of_token_terms(model: NGramModel) -> None:
    toks = tokenize("the cat sat on the log.")
    per_token = model.token_log_probs([toks])[0]
    assert len(per_token) == len(toks) + 1
    assert model.text_log_likelihood(toks) == pytest.approx(per_token.sum())
    assert model.text_log_likelihood(toks) > model.text_log_likelihood(tokenize("log the on cat"))


def test_unknown_words_keep_a_finite_probability(model: NGramModel) -> None:
    assert np.isfinite(model.text_log_likelihood(["never", "seen"]))


def test_bad_settings_are_config_errors(model: NGramModel) -> None:
    with pytest.raises(ConfigError):
        NGramModel.train(TEXTS, order=0)
    with pytest.raises(ConfigError):
        model.sample(1, temperature=0)
    with pytest.raises(ConfigError, match="overflows 64-bit n-gram keys"):
        NGramModel.train(TEXTS, order=10**20)  # refused at once, not after computing V**order


def test_unigram_model_works() -> None:
    m = NGramModel.train(TEXTS, order=1)
    assert len(m.sample(10, seed=0)) == 10
    assert np.isfinite(perplexity(m, TEXTS))


def test_training_on_strings_tokenises_them_like_keel_text() -> None:
    texts = ["The cat sat on the mat.", "A dog sat on the log!"]
    from_strings = NGramModel.train(texts, order=2)
    from_tokens = NGramModel.train([tokenize(t) for t in texts], order=2)
    assert from_strings.vocab.tokens == from_tokens.vocab.tokens
    assert "cat" in from_strings.vocab.tokens
    text = ["the", "cat", "sat"]
    assert from_strings.text_log_likelihood(text) == from_tokens.text_log_likelihood(text)
    assert from_strings.text_log_likelihood("The cat sat") == from_strings.text_log_likelihood(text)


def test_prompts_are_continued_under_their_context(model: NGramModel) -> None:
    prompts = ["the cat", "rare words like", "zebras unknown", ""]
    texts = model.generate(len(prompts), seed=4, prompts=prompts, max_tokens=5)
    for prompt, text in zip(prompts, texts, strict=True):
        toks, given = tokenize(text), tokenize(prompt)
        assert toks[: len(given)] == given
        assert len(toks) - len(given) <= 5
    # the prompt is the context: after "words like" the model has seen only "sesquipedalian"
    many = model.generate(200, seed=5, prompts=["rare words like"] * 200, max_tokens=1)
    top, count = Counter(many).most_common(1)[0]
    assert top == "rare words like sesquipedalian" and count > 100
    with pytest.raises(ConfigError, match="one per text"):
        model.generate(2, prompts=["the"])


def test_digest_identifies_the_trained_parameters() -> None:
    a = NGramModel.train(TEXTS, order=3)
    assert a.digest() == NGramModel.train(TEXTS, order=3).digest()
    assert a.digest() != NGramModel.train(TEXTS[1:], order=3).digest()
    assert a.digest() != NGramModel.train(TEXTS, order=2).digest()
