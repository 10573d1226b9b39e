"""Rewards from judges: an offline judge's score as the reward, the anchors' histogram-binning
calibration, and direct rubric rewards from an LLM judge behind a real HTTP server on loopback
(cached: a second pass costs no request)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keel.errors import InputError
from keel.judges import LLMJudge, Rubric, repetition_judge
from keel.models import ServedModel
from keel.rlaif import calibrate_on_anchors, calibrated_reward, judge_reward
from openai_server import last_user_text, serve

HUMAN = [f"the {w} sat on a mat by the door of house {i}" for i, w in enumerate("abcdefghij" * 4)]


def test_offline_judge_score_is_the_reward() -> None:
    reward = judge_reward(repetition_judge(HUMAN, alpha=0.1))
    r = reward(["say", "say"], ["something new about the cat", "the the the the the the the"])
    assert r[0] > r[1]
    assert all(0 <= x <= 1 for x in r)


def test_calibration_reads_scores_as_expert_acceptance() -> None:
    scores = [(i + 0.5) / 40 for i in range(40)]
    accepted = [s > 0.5 for s in scores]
    cal = calibrate_on_anchors(scores, accepted, bins=4, prior=0.0)
    assert cal.counts == (10, 10, 10, 10)
    assert cal.accepted == (0.0, 0.0, 1.0, 1.0)
    assert cal(0.0) == 0.0 and cal(0.9) == 1.0
    shrunk = calibrate_on_anchors(scores, accepted, bins=4, prior=2.0)
    assert 0 < shrunk(0.1) < 0.1 and 0.9 < shrunk(0.9) < 1
    assert shrunk.to_json()["overall"] == 0.5


def test_calibration_refuses_too_few_anchors() -> None:
    with pytest.raises(InputError, match="label at least 10 anchors"):
        calibrate_on_anchors([0.1, 0.9], [False, True], bins=5)
    with pytest.raises(InputError, match="outside"):
        calibrate_on_anchors([1.5] * 10, [True] * 10, bins=5)


def lenient(body: dict[str, Any]) -> str:
    """A judge that likes every text that mentions a cat: 0.9 for those, 0.6 for the rest."""
    text = last_user_text(body)
    score = 0.9 if "cat" in text else 0.6
    return json.dumps({"verdict": "accept", "score": score, "rationale": "fine"})


def test_rubric_reward_through_a_served_judge_is_calibrated_and_cached(tmp_path: Path) -> None:
    cache = tmp_path / "judge.sqlite"
    rubric = Rubric("cats", "The text is about a cat.")
    with serve(lenient) as fake:
        judge = LLMJudge(ServedModel(fake.base_url, "judge", cache=cache, backoff=0.01), rubric)
        # experts accept only a third of what this lenient judge scores 0.6
        anchors = [0.9] * 10 + [0.6] * 12
        labels = [True] * 10 + [True] * 4 + [False] * 8
        cal = calibrate_on_anchors(anchors, labels, bins=5, prior=0.0)
        reward = calibrated_reward(judge, cal)
        prompts = ["write", "write"]
        got = reward(prompts, ["about a cat", "about a dog"])
        assert got == pytest.approx([1.0, 1 / 3])
        assert judge_reward(judge)(prompts, ["about a cat", "about a dog"]) == [0.9, 0.6]
        assert fake.calls == 2
        assert "The text is about a cat." in fake.bodies[0]["messages"][0]["content"]
        assert last_user_text(fake.bodies[0]) in ("write about a cat", "write about a dog")


def test_a_judge_without_a_score_is_an_error_naming_the_completion() -> None:
    with serve(lambda body: "no json here") as fake:
        judge = LLMJudge(ServedModel(fake.base_url, "judge", backoff=0.01), Rubric("r", "x"))
        with pytest.raises(InputError, match="no score for completion 0"):
            judge_reward(judge)(["p"], ["c"])
