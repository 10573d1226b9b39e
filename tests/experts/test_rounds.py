"""Review rounds on a ledger: the sample and its inclusion probabilities, assignment, signed
decisions, closing with the gold answers; and what a reviewer may not do."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from keel.errors import InputError
from keel.experts.rounds import (
    assign,
    close_round,
    decision,
    draw,
    enrol,
    enrolments,
    inclusion_probabilities,
    load_round,
    open_round,
    refresh,
    sign,
    submit,
)
from keel.ledger import Ledger
from keel.ledger.note import generate_key, parse_signer
from keel.records import EntryId, Verdict, text_record, verdict


@given(
    u=st.lists(st.floats(0, 1), min_size=1, max_size=60),
    budget_share=st.floats(0, 1),
    share=st.floats(0.01, 1),
)
@example(u=[5e-324], budget_share=1.0, share=0.5)  # a subnormal uncertainty once lost mass
def test_probabilities_sum_to_the_budget_and_stay_in_range(
    u: list[float], budget_share: float, share: float
) -> None:
    budget = round(budget_share * len(u))
    pi, base = inclusion_probabilities(np.array(u), budget, share)
    assert pi.sum() == pytest.approx(budget, abs=1e-9)
    assert np.all(pi <= 1 + 1e-12)
    assert np.all(pi >= base - 1e-12)
    drawn = draw(np.array(u), budget, share, seed=3)
    assert len(set(drawn.positions)) == len(drawn.positions) == budget


def test_every_item_is_drawn_with_its_probability() -> None:
    """Over many seeds each item is drawn with frequency π_i, and as `random` with frequency
    s·b/N: the labels keep an equal-probability random sample inside the targeted one."""
    u = np.linspace(0, 1, 20) ** 2
    budget, share, runs = 6, 0.5, 4000
    pi, base = inclusion_probabilities(u, budget, share)
    drawn, as_random = np.zeros(20), np.zeros(20)
    for seed in range(runs):
        d = draw(u, budget, share, seed)
        for p, why in zip(d.positions, d.reasons, strict=True):
            drawn[p] += 1
            as_random[p] += why == "random"
    se = np.sqrt(pi * (1 - pi) / runs) + 1e-9
    assert np.all(np.abs(drawn / runs - pi) < 4.5 * se + 1e-3)
    se_r = np.sqrt(base * (1 - base) / runs)
    assert np.all(np.abs(as_random / runs - base) < 4.5 * se_r)


def test_each_round_has_about_its_share_of_random_anchors() -> None:
    """The labels are drawn item by item: a round gets about s·b random anchors, never all or
    none at once (as one systematic point would give when every π is equal)."""
    counts = [sum(why == "random" for why in draw(np.ones(100), 40, 0.5, seed).reasons)
              for seed in range(300)]  # fmt: skip
    assert min(counts) >= 10
    assert max(counts) <= 30
    assert np.mean(counts) == pytest.approx(20, abs=0.6)


def test_weighting_by_inverse_probability_estimates_the_whole_pool() -> None:
    """Horvitz–Thompson: Σ y_i/π_i over the drawn items is unbiased for Σ y_i, although the
    sampler favours uncertain items (where bad records concentrate here)."""
    rng = np.random.default_rng(0)
    u = rng.random(200)
    bad = (rng.random(200) < 0.1 + 0.6 * u).astype(float)  # more bad records where u is high
    estimates, naive = [], []
    for seed in range(1500):
        d = draw(u, 30, 0.3, seed)
        picks = np.array(d.positions)
        estimates.append((bad[picks] / d.pi[picks]).sum() / 200)
        naive.append(bad[picks].mean())
    assert np.mean(estimates) == pytest.approx(bad.mean(), abs=0.01)
    assert np.mean(naive) > bad.mean() + 0.05  # the unweighted mean is biased


def test_assignment_balances_load_and_is_reproducible() -> None:
    records = [EntryId(f"{i:064x}") for i in range(30)]
    to = assign(records, ["ana", "bo", "cy", "dee"], 2, seed=1)
    assert to == assign(records, ["ana", "bo", "cy", "dee"], 2, seed=1)
    assert all(len(set(r)) == 2 for r in to)
    load = Counter(r for rs in to for r in rs)
    assert max(load.values()) - min(load.values()) <= 1
    with pytest.raises(Exception, match="overlap must be between 1 and the 4 reviewers"):
        assign(records, ["ana", "bo", "cy", "dee"], 5, seed=1)


def test_at_equal_load_the_more_reputable_reviewer_gets_the_item() -> None:
    records = [EntryId(f"{i:064x}") for i in range(3)]
    to = assign(records, ["ana", "bo"], 1, seed=0, weights={"ana": 0.1, "bo": 0.9})
    assert to == [("bo",), ("ana",), ("bo",)]  # bo first, then the load evens out


# -- on a ledger -------------------------------------------------------------------------------
@pytest.fixture
def led(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "k.db", create=True) as ledger:
        ledger.init_key("test.example/review")
        yield ledger


def a_generation(led: Ledger, n: int = 40) -> list[EntryId]:
    """n synthetic records of generation 1, judged by two AI judges that disagree on some."""
    ids = [a.id for a in led.append([text_record(f"text {i}", "synthetic", generation=1)
                                     for i in range(n)])]  # fmt: skip
    led.append(
        [verdict(r, "judge-a", "ai", label="accept") for r in ids]
        + [verdict(r, "judge-b", "ai", label="accept" if i % 3 else "reject")
           for i, r in enumerate(ids)]
    )  # fmt: skip
    return ids


def people(led: Ledger, *names: str) -> dict[str, str]:
    keys = {}
    for name in names:
        skey, vkey = generate_key(name)
        enrol(led, name, "reviewer", vkey)
        keys[name] = skey
    return keys


def decide(led: Ledger, round_id: str, who: str, skey: str, record: str, what: str) -> Verdict:
    state = load_round(led, round_id)
    v = decision(state, who, record, what, f"{who} read it: {what}", seconds=7.25)
    signed = sign(v, enrolments(led)[who].id, parse_signer(skey))
    submit(led, signed, f"{who} read it: {what}")
    return signed


def test_a_round_from_opening_to_close_verifies(led: Ledger) -> None:
    ids = a_generation(led)
    human = led.append([text_record("a known good human text", "human")])[0].id
    keys = people(led, "ana", "bo", "cy")
    opened = open_round(led, ["ana", "bo", "cy"], budget=10, generation=1, overlap=2,
                        gold={human: "accept"}, guidelines="Adopt what reads as human.",
                        seed=5)  # fmt: skip
    items = opened.round.items
    assert len(items) == 11
    assert sum(i.reason == "gold" for i in items) == 1
    assert all(len(i.reviewers) == 2 for i in items if i.reason != "gold")
    assert next(i for i in items if i.reason == "gold").reviewers == ("ana", "bo", "cy")
    assert {i.record for i in items if i.reason != "gold"} <= set(ids)
    assert opened.round.gold is not None
    state = load_round(led, opened.id)
    for who, skey in keys.items():
        for item in state.queue(who):
            decide(led, opened.id, who, skey, item.record, "accept")
    state = load_round(led, opened.id)
    assert all(not state.queue(who) for who in keys)
    assert state.progress("ana")[0] == state.progress("ana")[1] > 0
    close_round(led, opened.id)
    assert load_round(led, opened.id).closed
    report = led.verify()
    assert report.ok, report.problems


def test_a_refreshed_state_is_the_state_read_afresh(led: Ledger) -> None:
    a_generation(led)
    keys = people(led, "ana", "bo")
    opened = open_round(led, ["ana", "bo"], budget=6, generation=1, overlap=2, seed=3)
    held = load_round(led, opened.id)
    assert refresh(led, held) is held  # nothing new: nothing read
    for who in ("ana", "bo"):
        decide(led, opened.id, who, keys[who], held.queue(who)[0].record, "reject")
    led.append([text_record("unrelated", "human")])
    close_round(led, opened.id)
    assert refresh(led, held) == load_round(led, opened.id)
    assert refresh(led, held).closed and len(refresh(led, held).decisions) == 2


def test_a_reviewer_decides_only_their_own_open_items(led: Ledger) -> None:
    a_generation(led)
    keys = people(led, "ana", "bo")
    opened = open_round(led, ["ana", "bo"], budget=6, generation=1, overlap=1, seed=2)
    state = load_round(led, opened.id)
    bo_item = state.queue("bo")[0].record
    with pytest.raises(InputError, match="not in ana's queue"):
        decision(state, "ana", bo_item, "accept", "mine now")
    with pytest.raises(InputError, match="needs a rationale"):
        decision(state, "bo", bo_item, "accept", "   ")
    with pytest.raises(InputError, match="a decision is accept, reject, degenerate"):
        decision(state, "bo", bo_item, "maybe", "unsure")
    first = decide(led, opened.id, "bo", keys["bo"], bo_item, "reject")
    size = led.size
    again = submit(led, first, "bo read it: reject")  # a double submit: the same entry
    assert (again.new, led.size) == (False, size)
    with pytest.raises(InputError, match="already decided"):
        decision(load_round(led, opened.id), "bo", bo_item, "accept", "changed my mind")
    close_round(led, opened.id)
    with pytest.raises(InputError, match="round is closed"):
        decision(load_round(led, opened.id), "ana", state.queue("ana")[0].record, "accept", "x")


def test_a_forged_or_borrowed_signature_is_refused_before_the_log(led: Ledger) -> None:
    a_generation(led)
    keys = people(led, "ana", "bo")
    opened = open_round(led, ["ana", "bo"], budget=4, generation=1, seed=0)
    state = load_round(led, opened.id)
    item = state.queue("ana")[0].record
    v = decision(state, "ana", item, "accept", "fine")
    size = led.size
    enrolled = enrolments(led)
    with pytest.raises(InputError, match="does not verify"):
        submit(led, sign(v, enrolled["ana"].id, parse_signer(keys["bo"])), "fine")
    with pytest.raises(InputError, match="each reviewer signs with their own key"):
        submit(led, sign(v, enrolled["bo"].id, parse_signer(keys["bo"])), "fine")
    with pytest.raises(InputError, match="rationale does not match"):
        submit(led, sign(v, enrolled["ana"].id, parse_signer(keys["ana"])), "something else")
    assert led.size == size


def test_opening_needs_enrolled_reviewers_and_real_gold(led: Ledger) -> None:
    a_generation(led)
    people(led, "ana")
    with pytest.raises(InputError, match="not enrolled: zed"):
        open_round(led, ["ana", "zed"], budget=3)
    with pytest.raises(InputError, match="is not a record of this ledger"):
        open_round(led, ["ana"], budget=3, gold={EntryId("ab" * 32): "accept"})


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), budget=st.integers(0, 12), overlap=st.integers(1, 3))
def test_any_round_is_reproducible_from_its_seed(
    tmp_path_factory: pytest.TempPathFactory, seed: int, budget: int, overlap: int
) -> None:
    rounds = []
    for k in range(2):
        with Ledger.open(tmp_path_factory.mktemp("r") / f"{k}.db", create=True) as led:
            a_generation(led, 15)
            for name in ("ana", "bo", "cy"):  # a fixed key per name, so both ledgers agree
                enrol(led, name, "reviewer", FIXED[name])
            rounds.append(open_round(led, ["ana", "bo", "cy"], budget=budget, overlap=overlap,
                                     seed=seed).round)  # fmt: skip
    assert rounds[0] == rounds[1]
    assert len(rounds[0].items) == budget


FIXED = {name: generate_key(name)[1] for name in ("ana", "bo", "cy")}
