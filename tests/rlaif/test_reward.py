"""Reward models: Bradley–Terry and the noise-corrected fit, flip rates from anchors, the saved
weights, the run entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from preference_world import split_world

from keel.errors import ConfigError, InputError
from keel.judges import Estimate
from keel.ledger import Ledger
from keel.records import Mix, Run, parse_member_list
from keel.rlaif import (
    FitConfig,
    NoiseRates,
    Pair,
    SimulatedJudge,
    critical_judge,
    estimate_noise,
    fit_bradley_terry,
    fit_noise_corrected,
    heldout_accuracy,
    judge_both_orders,
    load_preferences,
    load_reward_model,
    log_fit,
    log_preferences,
    schedule,
    with_gold,
)

World = tuple[list[Pair], list[Pair], list[Pair]]
SMALL = FitConfig(dim=2**12, epochs=4)


def test_correction_recovers_what_asymmetric_flips_bias(world: World) -> None:
    train, anchors, held = world
    judge = critical_judge(seed=0)
    noise = estimate_noise(judge_both_orders(judge, anchors))
    judged = judge_both_orders(judge, train)
    clean = heldout_accuracy(
        fit_bradley_terry(judge_both_orders(SimulatedJudge("c"), train), SMALL).model, held
    )
    plain = heldout_accuracy(fit_bradley_terry(judged, SMALL).model, held)
    fixed = heldout_accuracy(fit_noise_corrected(judged, noise, SMALL).model, held)
    print(clean, plain, fixed)
    assert fixed.value > plain.value + 0.03
    assert fixed.value > clean.value - 0.03


def test_the_plain_fit_learns_the_critics_dislike_of_length(world: World) -> None:
    train, anchors, held = world
    judge = critical_judge(seed=0)
    judged = judge_both_orders(judge, train)
    plain = fit_bradley_terry(judged, SMALL).model
    fixed = fit_noise_corrected(
        judged, estimate_noise(judge_both_orders(judge, anchors)), SMALL
    ).model

    def prefers_longer(model: object) -> float:
        ps = [p for p in held if p.gold in ("a", "b")]
        longer = [p.a if p.longer_is_a else p.b for p in ps]
        shorter = [p.b if p.longer_is_a else p.a for p in ps]
        prompts = [p.prompt for p in ps]
        d = np.array(model.score(prompts, [r.text for r in longer])) - np.array(  # type: ignore[attr-defined]
            model.score(prompts, [r.text for r in shorter])  # type: ignore[attr-defined]
        )
        return float((d > 0).mean())

    truth = float(np.mean([(p.gold == "a") == p.longer_is_a for p in held]))
    print(truth, prefers_longer(plain), prefers_longer(fixed))
    assert prefers_longer(plain) < truth - 0.03
    assert abs(prefers_longer(fixed) - truth) < abs(prefers_longer(plain) - truth)


def test_flip_rate_intervals_cover_the_judges_rates() -> None:
    """Over 40 draws of 150 anchor pairs, each 95% Wilson interval should hold the simulated
    rate most of the time (a binomial 95% band for the count of misses is 0 to 5)."""
    pairs = split_world(0, 6000, 0, seed=5)[1]
    misses = {"plus": 0, "minus": 0}
    for k in range(40):
        anchors = pairs[150 * k : 150 * (k + 1)]
        noise = estimate_noise(judge_both_orders(critical_judge(seed=k), anchors))
        misses["plus"] += not noise.eps_plus.lo <= 0.30 <= noise.eps_plus.hi
        misses["minus"] += not noise.eps_minus.lo <= 0.15 <= noise.eps_minus.hi
    assert misses["plus"] <= 5 and misses["minus"] <= 5, misses


def test_noise_needs_both_sides_and_a_judge_better_than_chance(world: World) -> None:
    train, anchors, _ = world
    only_longer = [p for p in anchors if (p.gold == "a") == p.longer_is_a]
    with pytest.raises(InputError, match="need both"):
        estimate_noise(judge_both_orders(critical_judge(), only_longer))
    coin = NoiseRates(
        Estimate(0.6, 0.5, 0.7, "wilson"), Estimate(0.5, 0.4, 0.6, "wilson"), "longer", 9, 9
    )
    with pytest.raises(ConfigError, match="no better than chance"):
        fit_noise_corrected(judge_both_orders(critical_judge(), train[:10]), coin)
    with pytest.raises(InputError, match="no judged pairs"):
        fit_bradley_terry([])


def test_a_fit_is_deterministic_for_a_seed_and_saves_its_digest(
    world: World, tmp_path: Path
) -> None:
    judged = judge_both_orders(critical_judge(), world[0][:300])
    one = fit_bradley_terry(judged, SMALL)
    two = fit_bradley_terry(judged, SMALL)
    other = fit_bradley_terry(judged, FitConfig(dim=2**12, epochs=4, seed=1))
    assert one.model.to_bytes() == two.model.to_bytes()
    assert one.model.digest == two.model.digest != other.model.digest
    path = tmp_path / "r.keel-reward"
    digest = one.model.save(path)
    assert digest == one.model.digest
    back = load_reward_model(path)
    prompts, texts = ["a", "b"], ["some text", "other text here"]
    assert back.score(prompts, texts) == one.model.score(prompts, texts)
    assert back.score([], []) == []
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(InputError, match="cut short"):
        load_reward_model(path)
    path.write_bytes(b"nope")
    with pytest.raises(InputError, match="not a keel reward model"):
        load_reward_model(path)


def test_schedule_keeps_stages_in_order() -> None:
    stages = [[0, 1, 2], [3, 4], [5, 6, 7, 8]]
    passes = schedule(stages, epochs=4, batch=2, seed=0)
    assert len(passes) == 3 * 2  # round(2·4/(3 + 1)) passes a stage
    for n, batches in enumerate(passes):
        seen = np.concatenate(batches).tolist()
        assert sorted(seen) == [i for s in stages[: n // 2 + 1] for i in s]  # stages 1..k
    (single,) = [schedule([[0, 1, 2, 3]], epochs=3, batch=3, seed=0)]
    assert len(single) == 3 and all(
        sorted(np.concatenate(b).tolist()) == [0, 1, 2, 3] for b in single
    )


def test_log_fit_records_the_pairs_anchors_and_weights(ledger: Ledger, world: World) -> None:
    train, anchors, held = world
    judge = critical_judge()
    log_preferences(ledger, judge_both_orders(judge, train[:200] + anchors[:100]))
    every = with_gold(load_preferences(ledger))
    labelled = [
        j
        for j in every
        if j.pair.gold_entries and j.pair.prompt in {p.prompt for p in anchors[:100]}
    ]
    rest = [j for j in every if j not in labelled]
    fit = fit_noise_corrected(rest + labelled, estimate_noise(labelled), SMALL)
    acc = heldout_accuracy(fit.model, held)
    run_id = log_fit(ledger, fit, rest + labelled, anchors=labelled, accuracy=acc)
    run = ledger.locate(run_id).entry
    assert isinstance(run, Run)
    assert run.model == "reward-model/noise-corrected"
    assert run.artifact_sha256 == fit.model.digest
    assert run.config["fit"] == "noise-corrected" and run.config["seed"] == 0
    assert run.config["heldout_accuracy"]["value"] == acc.value  # type: ignore[index]
    pairs_mix = ledger.locate(run.mix).entry
    assert isinstance(pairs_mix, Mix)
    members = parse_member_list(ledger.payload(pairs_mix.members.sha256))
    assert set(members) == {i for j in rest + labelled for i in j.entries}
    (anchor_mix,) = run.uses
    anchor_members = parse_member_list(ledger.payload(ledger.payload_digest(anchor_mix)))
    assert {i for j in labelled for i in j.pair.gold_entries} <= set(anchor_members)
    report = ledger.verify()
    assert report.ok, report.problems
    with pytest.raises(InputError, match="log them first"):
        log_fit(ledger, fit, judge_both_orders(judge, train[:5]))
