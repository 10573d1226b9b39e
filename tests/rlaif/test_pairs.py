"""Preference pairs: the simulated judges, the sources, the ledger round trip, the audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.errors import ConfigError, InputError
from keel.ledger import Ledger
from keel.models import NGramModel
from keel.records import Preference, entry_bytes, parse_entry, preference
from keel.rlaif import (
    Pair,
    Response,
    SimulatedJudge,
    audit_preferences,
    critical_judge,
    degrade,
    degraded_pairs,
    judge_both_orders,
    length_judge,
    load_preferences,
    log_preferences,
    read_preferences,
    sampled_pairs,
    with_gold,
)


def test_preference_entry_refuses_what_it_cannot_log() -> None:
    a, b = "ab" * 32, "cd" * 32
    with pytest.raises(InputError, match="choice must be one of first, second, tie"):
        preference(a, b, "j", "ai", "left")
    with pytest.raises(InputError, match="two different records"):
        preference(a, a, "j", "ai", "first")
    with pytest.raises(InputError, match="judge kind"):
        preference(a, b, "j", "robot", "first")
    p, data = preference(a, b, "j", "ai", "tie", prompt="ef" * 32, score=0.5, rationale="why")
    assert data == b"why" and p.rationale is not None
    assert parse_entry(entry_bytes(p)) == p


def test_simulated_judge_is_deterministic_and_keeps_its_rates(
    world: tuple[list[Pair], list[Pair], list[Pair]],
) -> None:
    train = world[0]
    judge = critical_judge(seed=3)
    once = judge_both_orders(judge, train)
    assert once == judge_both_orders(judge, train)
    assert [j.shown for j in once[:10]] == [j.shown for j in judge_both_orders(judge, train[:10])]
    flips = {True: [0, 0], False: [0, 0]}
    for j in once:
        better_longer = (j.pair.gold == "a") == j.pair.longer_is_a
        for s in j.shown:
            flips[better_longer][0] += s.for_a != (1.0 if j.pair.gold == "a" else 0.0)
            flips[better_longer][1] += 1
    longer, shorter = (k / n for k, n in (flips[True], flips[False]))
    assert longer == pytest.approx(0.30, abs=0.04)
    assert shorter == pytest.approx(0.15, abs=0.03)
    with pytest.raises(ConfigError, match="flip_longer must be in"):
        SimulatedJudge("x", flip_longer=1.5)
    with pytest.raises(InputError, match="known preference"):
        judge.compare([Pair("p", Response("x"), Response("y"))], a_first=True)


def test_degraded_pairs_prefer_the_less_degraded() -> None:
    texts = ["the quick brown fox jumps over the lazy dog and runs far away"] * 30
    pairs = degraded_pairs(texts, seed=1)
    assert len(pairs) == 30
    for p in pairs:
        worse = p.b if p.gold == "a" else p.a
        assert worse.origin == "synthetic" and worse.producer is not None
        assert p.a.text != p.b.text or p.a.producer != p.b.producer
    import numpy as np

    assert degrade("one two three", 0.0, np.random.default_rng(0)) == "one two three"
    with pytest.raises(ConfigError, match="two or more levels"):
        degraded_pairs(texts, levels=(0.5,))


def test_sampled_pairs_from_a_keel_generator() -> None:
    model = NGramModel.train(["a cat sat on the mat", "a dog sat on the log"] * 5, order=2)
    pairs = sampled_pairs(model, ["a cat", "a dog"], producer="ngram2", seed=0, max_tokens=5)
    assert len(pairs) == 2
    assert all(p.gold is None and p.a.producer == "ngram2" for p in pairs)


def test_pairs_round_trip_through_the_ledger_with_both_orders(
    ledger: Ledger, world: tuple[list[Pair], list[Pair], list[Pair]]
) -> None:
    pairs = world[1][:40]
    judged = judge_both_orders(critical_judge(seed=1), pairs)
    logged = log_preferences(ledger, judged)
    assert len(logged.preferences) == 80 and len(logged.gold) == 40
    assert log_preferences(ledger, judged).appended == 0  # the same entries again: nothing new
    shown = [ledger.locate(i).entry for i in logged.preferences]
    assert all(isinstance(e, Preference) for e in shown)
    firsts = {(e.first, e.second) for e in shown if isinstance(e, Preference)}
    assert all((b, a) in firsts for a, b in firsts)  # each pair shown in both orders
    back = with_gold(load_preferences(ledger))
    assert len(back) == 40
    want = {(j.pair.prompt, frozenset((j.pair.a.text, j.pair.b.text))): j for j in judged}
    for j in back:
        orig = want[(j.pair.prompt, frozenset((j.pair.a.text, j.pair.b.text)))]
        best = lambda x: x.pair.a.text if x.pair.gold == "a" else x.pair.b.text  # noqa: E731
        assert best(j) == best(orig)
        assert sorted(s.for_a if j.pair.a == orig.pair.a else 1 - s.for_a for s in j.shown) == (
            sorted(s.for_a for s in orig.shown)
        )
        assert len(j.entries) == 2 and len(j.pair.gold_entries) == 1
    ledger.checkpoint()
    report = ledger.verify()
    assert report.ok, report.problems


def test_audit_sees_position_length_and_self_preference(
    world: tuple[list[Pair], list[Pair], list[Pair]],
) -> None:
    pairs = world[1][:300]
    own = [Pair(p.prompt, Response(p.a.text, "synthetic", "judge-lm"), p.b, p.gold) for p in pairs]
    judges = [
        (SimulatedJudge("fair", 0.1, 0.1, seed=2), pairs),
        (SimulatedJudge("slot", 0.1, 0.1, first_bias=0.5, seed=2), pairs),
        (length_judge(bias=0.6, seed=2), pairs),
        (SimulatedJudge("self", 0.1, 0.1, self_bias=0.5, model="judge-lm", seed=2), own),
    ]
    judged = [j for judge, ps in judges for j in judge_both_orders(judge, ps)]
    profiles = {p.judge: p for p in audit_preferences(judged)}
    assert "first-slot bias" in profiles["slot"].personality
    assert profiles["slot"].figures["first_wins"].lo > 0.6
    assert profiles["slot"].figures["consistency"].value < 0.7
    assert "first-slot bias" not in profiles["fair"].personality
    assert (
        profiles["sim:length"].figures["longer_wins"].value
        > profiles["fair"].figures["longer_wins"].value + 0.1
    )
    assert profiles["self"].figures["self_preference"].lo > 0.1
    assert "self-preferring" in profiles["self"].personality
    with pytest.raises(InputError, match="no judged pairs"):
        audit_preferences([])


def test_read_preferences_groups_showings_and_names_bad_lines(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        "prompt,first,second,choice,judge,kind\n"
        "q,yes it is,no,first,j1,ai\n"
        "q,no,yes it is,b,j1,ai\n"
        "q,yes it is,no,a,alice,expert\n"
    )
    judged = read_preferences(f)
    assert len(judged) == 2
    ai = with_gold(judged)
    assert len(ai) == 1 and ai[0].judge == "j1" and len(ai[0].shown) == 2
    assert ai[0].for_a == (1.0 if ai[0].pair.a.text == "yes it is" else 0.0)
    best = ai[0].pair.a if ai[0].pair.gold == "a" else ai[0].pair.b
    assert best.text == "yes it is"
    f.write_text("first,second,choice\nx,y,maybe\n")
    with pytest.raises(InputError, match=r"p.csv:2: choice 'maybe' is not first"):
        read_preferences(f, judge="j")
    f.write_text("first,second\nx,y\n")
    with pytest.raises(InputError, match="'choice'"):
        read_preferences(f, judge="j")
    f.write_text("first,second,choice\nx,y,first\n")
    with pytest.raises(InputError, match="no judge"):
        read_preferences(f)
