"""The gate's anchors: targeted records count once weighted by 1/π, so the precision the gate
promises holds for the whole generation; reviewers' reputation settles disagreements."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from keel.experts.rounds import (
    close_round,
    decision,
    draw,
    enrol,
    enrolments,
    load_round,
    open_round,
    sign,
    submit,
)
from keel.judges import Rule, choose_rule, ppi_mean
from keel.ledger import Judged, Ledger
from keel.ledger.note import generate_key, parse_signer
from keel.mix import MixPolicy, build_mix
from keel.mix.anchors import standing
from keel.records import EntryId, text_record, verdict


# -- the estimates ------------------------------------------------------------------------------
def test_equal_weights_change_nothing() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(60) < 0.7).astype(float)
    f = np.where(rng.random(60) < 0.8, y, 1 - y)
    pool = (rng.random(500) < 0.6).astype(float)
    plain = ppi_mean(y, f, pool)
    same = ppi_mean(y, f, pool, anchor_weights=np.full(60, 7.5))
    assert plain.estimate is not None and same.estimate is not None
    assert same.estimate.value == pytest.approx(plain.estimate.value, abs=1e-12)
    assert same.detail["se"] == pytest.approx(plain.detail["se"], rel=1e-9)
    args = (["j"], y, f[None, :], pool[None, :])
    a, rules_a = choose_rule(*args, target_precision=0.7)
    b, rules_b = choose_rule(*args, target_precision=0.7, anchor_weights=np.full(60, 3.0))

    def figures(rules: tuple[Rule, ...]) -> list[float]:
        return [x for r in rules for x in (r.precision, r.lower_bound, r.kept_share)]

    assert figures(rules_a) == pytest.approx(figures(rules_b), rel=1e-12)
    assert a == b


def population(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2,000 records: uncertainty u, a judge's verdict f and the truth y, where the judge is
    wrong mostly on the uncertain records (as the sampler expects)."""
    rng = np.random.default_rng(seed)
    u = rng.random(2000)
    y = (rng.random(2000) < 0.75).astype(float)
    wrong = rng.random(2000) < 0.02 + 0.8 * u**4
    return u, np.where(wrong, 1 - y, y), y


def test_weighted_anchors_estimate_the_generation_and_targeted_ones_alone_do_not() -> None:
    u, f, y = population()
    truth_precision = y[f == 1].mean()
    weighted, naive, shares = [], [], []
    for seed in range(300):
        d = draw(u, 120, 0.2, seed)
        at = np.array(d.positions)
        _, (rule,) = choose_rule(
            ["j"], y[at], f[None, at], f[None, :], target_precision=0.5,
            anchor_weights=1 / d.pi[at],
        )  # fmt: skip
        _, (plain,) = choose_rule(["j"], y[at], f[None, at], f[None, :], target_precision=0.5)
        weighted.append(rule.precision)
        naive.append(plain.precision)
        est = ppi_mean(y[at], f[at], f, anchor_weights=1 / d.pi[at]).estimate
        assert est is not None
        shares.append(est.value)
    assert np.mean(weighted) == pytest.approx(truth_precision, abs=0.01)
    assert np.mean(naive) < truth_precision - 0.025  # hard cases over-represented
    assert np.mean(shares) == pytest.approx(y.mean(), abs=0.01)


def test_the_weighted_bound_holds_as_often_as_it_says() -> None:
    # the one-sided 95% lower bound on the kept records' precision, from 120 anchors drawn
    # towards the uncertain records, stays below the true precision in ≥ 95% of rounds
    u, f, y = population(1)
    truth = y[f == 1].mean()
    below = []
    for seed in range(400):
        d = draw(u, 120, 0.3, seed)
        at = np.array(d.positions)
        _, (rule,) = choose_rule(
            ["j"], y[at], f[None, at], f[None, :], target_precision=0.5, alpha=0.05,
            anchor_weights=1 / d.pi[at],
        )  # fmt: skip
        below.append(rule.lower_bound <= truth)
    assert np.mean(below) >= 0.93  # 0.95 nominal, less 2 standard errors of 400 rounds


# -- standing decisions -------------------------------------------------------------------------
def judged(*decisions: tuple[str, str]) -> Judged:
    rec, _ = text_record("t", "synthetic", generation=1)
    rid = EntryId("ab" * 32)
    expert = tuple(verdict(rid, who, "expert", label=label)[0] for who, label in decisions)
    return Judged(rid, 0, rec, (), expert)


def test_reputation_settles_a_disagreement_and_a_tie_keeps_the_latest() -> None:
    split = judged(("ana", "accept"), ("bo", "reject"))
    assert standing(split, {}) is False  # a tie: the latest decision stands
    assert standing(split, {"ana": 0.9, "bo": 0.2}) is True
    assert standing(split, {"ana": 0.0, "bo": 0.0}) is False  # no weight anywhere: a tie again
    assert standing(judged(("ana", "reject"), ("ana", "accept")), {"ana": 0.1}) is True
    assert standing(judged(), {}) is None


# -- in the mix ---------------------------------------------------------------------------------
@pytest.fixture
def led(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "k.db", create=True) as ledger:
        ledger.init_key("test.example/anchors")
        yield ledger


def test_the_mix_gate_uses_every_reviewed_record_of_a_round(led: Ledger) -> None:
    ids = [a.id for a in led.append([text_record(f"text {i}", "synthetic", generation=1)
                                     for i in range(60)])]  # fmt: skip
    led.append(
        [verdict(r, "judge-a", "ai", label="accept") for r in ids]
        + [verdict(r, "judge-b", "ai", label="accept" if i % 3 else "reject")
           for i, r in enumerate(ids)]
    )  # fmt: skip
    skey, vkey = generate_key("ana")
    enrol(led, "ana", "reviewer", vkey)
    opened = open_round(led, ["ana"], budget=20, generation=1, random_share=0.4, seed=4)
    for item in opened.round.items:
        v = decision(load_round(led, opened.id), "ana", item.record, "accept", "reads well")
        submit(led, sign(v, enrolments(led)["ana"].id, parse_signer(skey)), "reads well")
    close_round(led, opened.id)
    random = sum(i.reason == "random" for i in opened.round.items)
    assert 0 < random < 20
    counts = {}
    for anchors in ("weighted", "random"):
        policy = MixPolicy(size=30, generation=1, anchors=anchors, target_precision=0.5)
        counts[anchors] = build_mix(led, policy).counts["anchors"]
    assert counts == {"weighted": 20, "random": random}
