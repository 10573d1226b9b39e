"""Curriculum: difficulty from margins and disagreement, stages easy to hard, fits that keep
the order, curriculum against shuffled."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from keel.errors import ConfigError
from keel.rlaif import (
    FitConfig,
    JudgedPair,
    Pair,
    Response,
    RewardFit,
    Shown,
    SimulatedJudge,
    compare_orders,
    critical_judge,
    curriculum,
    difficulty,
    fit_bradley_terry,
    judge_both_orders,
    schedule,
)

PAIR = Pair("q", Response("long answer here"), Response("short"), "a")


def judged(*shown: Shown, judge: str = "j") -> JudgedPair:
    return JudgedPair(PAIR, judge, "ai", shown)


def test_difficulty_follows_the_formula() -> None:
    agree = judged(Shown(True, "first"), Shown(False, "second"))
    swapped = judged(Shown(True, "first"), Shown(False, "first"))  # picks the first slot
    thin = judged(Shown(True, "first", score=0.2), Shown(False, "second", score=0.4))
    (a, s, t) = difficulty([agree, swapped, thin])
    assert a.difficulty == 0 and a.order_disagreement == 0
    assert s.difficulty == 1 and s.order_disagreement == 1
    assert t.difficulty == pytest.approx(1 - 0.3)
    other = judged(Shown(True, "second"), Shown(False, "first"), judge="k")
    (both,) = difficulty([agree], [other])
    assert both.difficulty == 1 and both.judge_disagreement == 1


def test_curriculum_stages_go_easy_to_hard(world: tuple[list[Pair], ...]) -> None:
    pairs = world[0][:300]
    j1 = judge_both_orders(critical_judge(seed=1), pairs)
    j2 = judge_both_orders(SimulatedJudge("k", 0.2, 0.2, seed=2), pairs)
    plan = curriculum(j1, j2, stages=3)
    assert sorted(i for s in plan.stages for i in s) == list(range(300))
    levels = [[plan.difficulty[i].difficulty for i in s] for s in plan.stages]
    assert all(max(x) <= min(y) for x, y in itertools.pairwise(levels))
    assert levels[0][0] < levels[-1][-1]
    with pytest.raises(ConfigError, match="at least one stage"):
        curriculum(j1, stages=0)


def test_a_curriculum_fit_visits_stages_in_order(world: tuple[list[Pair], ...]) -> None:
    pairs = world[0][:200]
    j1 = judge_both_orders(critical_judge(seed=1), pairs)
    plan = curriculum(j1, stages=4)
    stage_of = {i: k for k, s in enumerate(plan.stages) for i in s}

    def fit(stages: Sequence[Sequence[int]] | None) -> RewardFit:
        return fit_bradley_terry(j1, FitConfig(dim=2**12, epochs=2), stages=stages)

    curriculum_fit = fit(plan.stages)
    assert curriculum_fit.curriculum and curriculum_fit.run_config()["order"] == "curriculum"
    assert len(curriculum_fit.losses) == len(plan.stages)  # round(2·2/5) = 1 pass a stage
    by_pair = [[2 * k, 2 * k + 1] for k in range(len(pairs))]  # two showings per pair
    passes = schedule(
        [[i for k in s for i in by_pair[k]] for s in plan.stages], epochs=2, batch=32, seed=0
    )
    for n, batches in enumerate(passes):
        newest = [stage_of[i // 2] for b in batches for i in b.tolist()]
        assert max(newest) == n  # pass n holds stages 0..n, none later
    cmp = compare_orders(fit, plan, world[2][:300], n_resamples=200)
    assert 0.5 < cmp.curriculum.value <= 1 and 0.5 < cmp.shuffled.value <= 1
    assert cmp.difference.lo <= cmp.difference.value <= cmp.difference.hi
    assert cmp.difference.value == pytest.approx(cmp.curriculum.value - cmp.shuffled.value)
