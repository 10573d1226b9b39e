"""Reviewer reputation: each figure against an independent implementation (scipy, sklearn,
krippendorff, a loop over pairs for Correlated Agreement), recovery of simulated accuracies,
determinism, and the errors."""

from __future__ import annotations

import itertools
import json
import math
import random
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score

from keel.errors import InputError
from keel.experts.reputation import DS_ITERATIONS, Reputation, Review, reputation
from keel.judges.correct import dawid_skene


def simulate(
    accuracy: list[float],
    n_items: int,
    overlap: int,
    *,
    gold_share: float = 0.0,
    seed: int = 0,
) -> tuple[list[Review], dict[str, bool]]:
    """Items adopted with probability 0.6, each decided by `overlap` distinct reviewers, each
    right with their accuracy; reviewer k is named f"r{k}"."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n_items) < 0.6
    reviews = []
    for t in range(n_items):
        for k in rng.choice(len(accuracy), overlap, replace=False):
            right = rng.random() < accuracy[k]
            reviews.append(Review(f"r{k}", f"item{t:05d}", bool(truth[t] == right), 10.0))
    gold = {f"item{t:05d}": bool(truth[t]) for t in range(n_items) if rng.random() < gold_share}
    return reviews, gold


def by_name(rep: Reputation) -> dict[str, dict[str, object]]:
    return {s.reviewer: s.to_json() for s in rep.reviewers}


def from_matrix(m: np.ndarray) -> list[Review]:
    """Reviews from a (reviewers × items) 1/0/NaN matrix."""
    return [
        Review(f"r{j}", f"i{t:03d}", bool(m[j, t]))
        for j, t in zip(*np.nonzero(~np.isnan(m)), strict=True)
    ]


# -- gold ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("correct", "wrong"), [(0, 1), (1, 0), (7, 3), (40, 2), (0, 25)])
def test_gold_bound_is_the_beta_quantile(correct: int, wrong: int) -> None:
    reviews = [Review("a", f"g{k}", True) for k in range(correct + wrong)]
    gold = {f"g{k}": k < correct for k in range(correct + wrong)}
    (score,) = reputation(reviews, gold, covers=100).reviewers
    assert (score.gold_n, score.gold_correct) == (correct + wrong, correct)
    assert score.gold_accuracy == correct / (correct + wrong)
    assert score.gold_lower == pytest.approx(
        sps.beta.ppf(0.05, 1 + correct, 1 + wrong), rel=1e-12, abs=1e-15
    )
    assert score.weight == max(2 * score.gold_lower - 1, 0.0)


def test_without_gold_the_gold_figures_are_nan_and_weight_falls_back_to_dawid_skene() -> None:
    reviews, _ = simulate([0.95, 0.9, 0.85], 300, 3)
    rep = reputation(reviews, covers=len(reviews))
    for s in rep.reviewers:
        assert s.gold_n == 0
        assert math.isnan(s.gold_accuracy) and math.isnan(s.gold_lower)
        assert s.weight == pytest.approx(max(2 * s.ds_accuracy - 1, 0))
        assert s.to_json()["gold_lower"] is None


# -- Dawid-Skene -----------------------------------------------------------------------------
def test_dawid_skene_runs_exactly_the_fixed_number_of_iterations() -> None:
    rng = np.random.default_rng(1)
    m = (rng.random((4, 50)) < 0.5).astype(float)
    assert dawid_skene(m, max_iter=DS_ITERATIONS, tol=-math.inf).iterations == DS_ITERATIONS == 50


def test_ds_accuracy_is_the_prior_weighted_mean_of_sensitivity_and_specificity() -> None:
    rng = np.random.default_rng(2)
    m = np.where(rng.random((4, 30)) < 0.6, (rng.random((4, 30)) < 0.7).astype(float), np.nan)
    m[3, :] = np.nan
    m[3, 0] = 1.0  # reviewer 3 decided one item only ...
    m[:3, 0] = np.nan  # ... that no one else did: no overlap, no Dawid-Skene accuracy
    m[:, 29] = [1.0, np.nan, np.nan, np.nan]
    gold = {"i029": False, "i001": True}
    rep = reputation(from_matrix(m), gold, covers=200)
    cols = [t for t in range(30) if (~np.isnan(m[:, t])).sum() >= 2 or t in (1, 29)]
    anchors = np.full(len(cols), np.nan)
    anchors[cols.index(29)], anchors[cols.index(1)] = 0.0, 1.0
    fit = dawid_skene(m[:3, cols], anchors, max_iter=50, tol=-math.inf)
    want = fit.prior * fit.sensitivity + (1 - fit.prior) * fit.specificity
    got = [s.ds_accuracy for s in rep.reviewers]
    np.testing.assert_allclose(got[:3], want, rtol=1e-12)
    assert math.isnan(got[3])


def test_accuracy_ranking_is_recovered_by_ds_accuracy_weight_and_peer() -> None:
    accuracy = [0.97, 0.9, 0.8, 0.7, 0.6]
    reviews, gold = simulate(accuracy, 3000, 3, gold_share=0.2, seed=0)
    rep = reputation(reviews, gold, covers=len(reviews))
    scores = {s.reviewer: s for s in rep.reviewers}
    names = [f"r{k}" for k in range(len(accuracy))]
    for figure in ("ds_accuracy", "weight", "peer", "gold_lower"):
        values = [getattr(scores[n], figure) for n in names]
        assert values == sorted(values, reverse=True), (figure, values)
    for n, a in zip(names, accuracy, strict=True):
        assert scores[n].ds_accuracy == pytest.approx(a, abs=0.03)
        assert scores[n].gold_n > 0
        assert scores[n].weight == pytest.approx(max(2 * scores[n].gold_lower - 1, 0))


# -- agreement -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_alpha_equals_the_krippendorff_package(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = np.where(rng.random((6, 40)) < 0.5, (rng.random((6, 40)) < 0.6).astype(float), np.nan)
    m[: seed + 1, :10] = 1.0  # some agreement, more with the seed
    rep = reputation(from_matrix(m), covers=1000)
    want = krippendorff.alpha(reliability_data=m, level_of_measurement="nominal")
    assert rep.alpha == pytest.approx(want, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_kappa_equals_sklearn_for_every_pair_with_enough_shared_items(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = np.where(rng.random((5, 60)) < 0.4, (rng.random((5, 60)) < 0.5).astype(float), np.nan)
    m[1, :30] = m[0, :30]  # one pair agreeing more
    rep = reputation(from_matrix(m), covers=1000, min_shared=8)
    expected = set()
    for a, b in itertools.combinations(range(5), 2):
        both = ~np.isnan(m[a]) & ~np.isnan(m[b])
        if both.sum() >= 8:
            expected.add((f"r{a}", f"r{b}"))
    assert {(a, b) for a, b, _, _ in rep.kappa} == expected
    for name_a, name_b, n, kappa in rep.kappa:
        ja, jb = int(name_a[1:]), int(name_b[1:])
        both = ~np.isnan(m[ja]) & ~np.isnan(m[jb])
        assert n == both.sum()
        assert kappa == pytest.approx(cohen_kappa_score(m[ja, both], m[jb, both]), rel=1e-12)


# -- Correlated Agreement --------------------------------------------------------------------
def correlated_agreement_by_loop(reviews: list[Review]) -> dict[str, float]:
    """The Correlated Agreement score straight from its definition, one pair and task at a time."""
    said: dict[str, dict[str, int]] = {}
    for r in reviews:
        said.setdefault(r.reviewer, {})[r.item] = int(r.adopt)
    names = sorted(said)
    joint = np.zeros((2, 2))
    for i, j in itertools.permutations(names, 2):
        for t in said[i].keys() & said[j].keys():
            joint[said[i][t], said[j][t]] += 1
    p = joint / joint.sum()
    s = (p - np.outer(p.sum(1), p.sum(0)) > 1e-12).astype(float)
    out = {}
    for i in names:
        terms = []
        for j in names:
            if j == i or len(said[i]) < 2 or len(said[j]) < 2:
                continue
            for t in said[i].keys() & said[j].keys():
                fi = np.bincount([v for u, v in said[i].items() if u != t], minlength=2)
                fj = np.bincount([v for u, v in said[j].items() if u != t], minlength=2)
                fi, fj = fi / fi.sum(), fj / fj.sum()
                terms.append(s[said[i][t], said[j][t]] - fi @ s @ fj)
        out[i] = float(np.mean(terms)) if terms else math.nan
    return out


@pytest.mark.parametrize("seed", range(3))
def test_correlated_agreement_matches_its_definition(seed: int) -> None:
    reviews, _ = simulate([0.9, 0.8, 0.6, 0.5, 0.95], 40, 3, seed=seed)
    reviews.append(Review("lonely", "item00000", True))  # one decision: no other task
    got = {s.reviewer: s.peer for s in reputation(reviews, covers=999).reviewers}
    want = correlated_agreement_by_loop(reviews)
    assert math.isnan(got.pop("lonely")) and math.isnan(want.pop("lonely"))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_constant_and_random_reviewers_score_near_zero_an_accurate_one_clearly_positive() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    truth = rng.random(n) < 0.6
    answer = {
        "accurate": np.where(rng.random(n) < 0.95, truth, ~truth),
        "accurate2": np.where(rng.random(n) < 0.9, truth, ~truth),
        "accurate3": np.where(rng.random(n) < 0.85, truth, ~truth),
        "constant": np.ones(n, dtype=bool),
        "coin": rng.random(n) < 0.5,
    }
    reviews = [Review(k, f"t{t}", bool(v[t])) for k, v in answer.items() for t in range(n)]
    peer = {s.reviewer: s.peer for s in reputation(reviews, covers=len(reviews)).reviewers}
    assert abs(peer["constant"]) < 1e-9  # exactly 0: its peers' frequencies cancel the bonus
    assert abs(peer["coin"]) < 0.02
    assert peer["accurate"] > 0.15
    assert peer["accurate"] > max(peer["constant"], peer["coin"]) + 0.1


# -- time ------------------------------------------------------------------------------------
def test_median_seconds_and_too_fast() -> None:
    reviews = [
        Review("quick", "a", True, 1.0),
        Review("quick", "b", True, 2.0),
        Review("quick", "c", False, 30.0),
        Review("slow", "a", True, 4.0),
        Review("slow", "b", True, 20.0),
        Review("untimed", "a", True),
    ]
    s = {x.reviewer: x for x in reputation(reviews, covers=6).reviewers}
    assert (s["quick"].median_seconds, s["quick"].too_fast) == (2.0, True)
    assert (s["slow"].median_seconds, s["slow"].too_fast) == (12.0, False)
    assert math.isnan(s["untimed"].median_seconds) and not s["untimed"].too_fast
    assert s["quick"].to_json()["too_fast"] is True
    assert reputation(reviews, covers=6, fast_seconds=1.0).reviewers[0].too_fast is False


# -- determinism and shape -------------------------------------------------------------------
def test_the_same_reviews_in_any_order_give_the_same_json() -> None:
    reviews, gold = simulate([0.9, 0.8, 0.7, 0.6], 200, 2, gold_share=0.2, seed=5)
    rep = reputation(reviews, gold, covers=1234, min_shared=5)
    shuffled = reviews.copy()
    random.Random(0).shuffle(shuffled)
    again = reputation(shuffled, dict(reversed(gold.items())), covers=1234, min_shared=5)
    assert json.dumps(again.to_json()) == json.dumps(rep.to_json())
    assert [s.reviewer for s in rep.reviewers] == sorted(s.reviewer for s in rep.reviewers)
    assert rep.covers == 1234 and rep.to_json()["covers"] == 1234


def test_a_later_decision_by_the_same_reviewer_replaces_the_earlier() -> None:
    reviews = [Review("a", "x", True), Review("b", "x", True), Review("a", "x", False)]
    rep = reputation(reviews, {"x": True}, covers=3, min_shared=1)
    a = rep.reviewers[0]
    assert (a.n, a.gold_n, a.gold_correct) == (1, 1, 0)
    assert rep.kappa == (("a", "b", 1, rep.kappa[0][3]),)


reviews_strategy = st.lists(
    st.builds(
        Review,
        st.sampled_from("abcd"),
        st.sampled_from([f"i{k}" for k in range(6)]),
        st.booleans(),
        st.none() | st.floats(0, 100),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    reviews_strategy,
    st.dictionaries(st.sampled_from([f"i{k}" for k in range(8)]), st.booleans()),
    st.integers(1, 4),
)
def test_any_small_set_of_reviews_gives_sane_numbers(
    reviews: list[Review], gold: dict[str, bool], min_shared: int
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = reputation(reviews, gold, covers=len(reviews), min_shared=min_shared)
    text = json.dumps(rep.to_json(), allow_nan=False)
    assert json.loads(text)["covers"] == len(reviews)
    assert len(rep.reviewers) == len({r.reviewer for r in reviews})
    assert sum(s.n for s in rep.reviewers) == len({(r.reviewer, r.item) for r in reviews})
    for s in rep.reviewers:
        assert 0.0 <= s.weight <= 1.0
        for v in (s.gold_accuracy, s.gold_lower, s.ds_accuracy):
            assert math.isnan(v) or 0.0 <= v <= 1.0
        assert math.isnan(s.peer) or -1.0 <= s.peer <= 1.0
        assert math.isnan(s.median_seconds) or 0.0 <= s.median_seconds <= 100.0
    assert math.isnan(rep.alpha) or -1.0 <= rep.alpha <= 1.0
    for _, _, n, kappa in rep.kappa:
        assert n >= min_shared
        assert math.isnan(kappa) or -1.0 <= kappa <= 1.0 + 1e-12


# -- errors ----------------------------------------------------------------------------------
def test_no_reviews_is_an_input_error_that_says_what_to_do() -> None:
    with pytest.raises(InputError, match=r"no reviews to score.*run a review round"):
        reputation([], covers=0)


@pytest.mark.parametrize(
    ("reviews", "kwargs", "message"),
    [
        ([Review("", "x", True)], {}, "no reviewer id"),
        ([Review("a", "", True)], {}, "no item"),
        ([Review("a", "x", 1)], {}, "adopt must be True or False"),  # type: ignore[arg-type]
        ([Review("a", "x", True, -1.0)], {}, "seconds must be"),
        ([Review("a", "x", True, math.nan)], {}, "seconds must be"),
        ([Review("a", "x", True)], {"covers": -1}, "covers must be"),
        ([Review("a", "x", True)], {"fast_seconds": math.inf}, "fast_seconds"),
        ([Review("a", "x", True)], {"min_shared": 0}, "min_shared"),
        (["a"], {}, "not a Review"),
    ],
)
def test_bad_input_is_an_input_error(
    reviews: list[Review], kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"covers": 10, **kwargs}
    with pytest.raises(InputError, match=message):
        reputation(reviews, **args)  # type: ignore[arg-type]


def test_a_gold_decision_must_be_a_bool() -> None:
    with pytest.raises(InputError, match="gold item 'x'"):
        reputation([Review("a", "x", True)], {"x": 1}, covers=1)  # type: ignore[dict-item]
