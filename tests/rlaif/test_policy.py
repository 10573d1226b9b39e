"""Policy optimisation on a tiny GPT-2 built from a config, with a tokenizer trained here on the
fortunes (nothing downloaded): GRPO and DPO log β, KL and rewards per step; the Goodhart gate
stops a run that games a length-biased judge and lets a healthy one finish; a checkpoint's
lineage in the ledger reaches the preference pairs and the judges behind its reward model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from extra_modules import need
from keel.judges import LLMJudge, Rubric, repetition_judge
from keel.ledger import Ledger, trace
from keel.models import ServedModel
from keel.records import Digest, Record, Run, mix, preference, text_record, verdict
from keel.rlaif import (
    GateConfig,
    PolicyConfig,
    PolicyLog,
    StepLog,
    TinyPolicy,
    calibrate_on_anchors,
    calibrated_reward,
    dpo,
    grpo,
    judge_reward,
)
from keel.text import load_fortunes
from openai_server import last_user_text, serve

pytestmark = [pytest.mark.extra, pytest.mark.slow]
SMALL = PolicyConfig(
    layers=1,
    width=32,
    heads=2,
    context=28,
    vocab=600,
    sft_steps=60,
    sft_batch=16,
    steps=8,
    prompts_per_step=3,
    group=4,
    max_new_tokens=12,
    lr=3e-3,
    group_steps=4,
)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    need("torch", "rl")
    need("transformers", "rl")
    need("tokenizers", "rl")
    return [t for t in load_fortunes() if len(t.split()) <= 25][:1500]


def prompts_of(texts: Sequence[str]) -> list[str]:
    return [" ".join(t.split()[:3]) for t in texts[:60]]


def words(completions: Sequence[str]) -> list[int]:
    return [len(c.split()) for c in completions]


def length_judge(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    """A judge with a pure length bias: the longer, the better."""
    return [min(1.0, n / SMALL.max_new_tokens) for n in words(completions)]


def expert(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    """The gold: experts accept a reply of at most 5 words, not a ramble."""
    return [1.0 if n <= 5 else 0.0 for n in words(completions)]


def test_grpo_on_an_offline_judge_logs_beta_kl_and_reward(texts: list[str]) -> None:
    policy = TinyPolicy.build(texts, SMALL)
    before = policy.digest()
    seen: list[StepLog] = []
    run = grpo(
        policy, prompts_of(texts), judge_reward(repetition_judge(texts)), on_step=seen.append
    )
    assert [s.step for s in run.steps] == list(range(SMALL.steps)) and list(run.steps) == seen
    assert all(s.beta == SMALL.beta and s.kl >= 0 and 0 <= s.proxy <= 1 for s in run.steps)
    assert all(s.gold is None for s in run.steps) and run.gate is None
    assert run.steps[-1].kl > 0
    assert run.weights_sha256 == policy.digest() != before
    assert json.loads(json.dumps(run.to_json()))["config"]["beta"] == SMALL.beta


def short_and_sweet(body: dict[str, Any]) -> str:
    """A served rubric judge: 0.9 for a text of at most 8 words, 0.3 for a longer one."""
    score = 0.9 if len(last_user_text(body).split()) <= 8 else 0.3
    return json.dumps({"verdict": "accept", "score": score, "rationale": "counted"})


def test_grpo_on_rubric_scores_of_a_served_judge_calibrated_on_anchors(
    texts: list[str], tmp_path: Path
) -> None:
    policy = TinyPolicy.build(texts, replace(SMALL, steps=3))
    with serve(short_and_sweet) as fake:
        served = ServedModel(fake.base_url, "judge", cache=tmp_path / "c.sqlite", backoff=0.01)
        judge = LLMJudge(served, Rubric("brief", "Short fortunes are better."))
        anchors = calibrate_on_anchors([0.9] * 6 + [0.3] * 6, [True] * 5 + [False] * 7, bins=2)
        run = grpo(policy, prompts_of(texts), calibrated_reward(judge, anchors))
        assert fake.calls == 3 * SMALL.prompts_per_step * SMALL.group
    assert all(anchors(0.3) <= s.proxy <= anchors(0.9) for s in run.steps)
    assert anchors(0.3) < anchors(0.9)


def test_gate_stops_length_hacking(texts: list[str]) -> None:
    cfg = replace(SMALL, steps=30, beta=0.01)
    policy = TinyPolicy.build(texts, SMALL).copy(cfg)
    run = grpo(policy, prompts_of(texts), length_judge, gold=expert, gate=GateConfig(window=6))
    assert run.stopped, [s.to_json() for s in run.steps]
    assert run.gate is not None and "reward hacking" in run.gate.reason
    assert len(run.steps) < cfg.steps
    first, last = run.steps[0], run.steps[-1]
    assert last.length > first.length and last.kl > first.kl


def test_gate_lets_a_healthy_run_finish(texts: list[str]) -> None:
    policy = TinyPolicy.build(texts, SMALL)
    run = grpo(policy, prompts_of(texts), expert, gold=expert, gate=GateConfig(window=6))
    assert not run.stopped and len(run.steps) == SMALL.steps
    assert run.gate is not None and run.gate.reason.startswith("healthy")


def test_dpo_widens_the_margin_on_its_pairs(texts: list[str]) -> None:
    policy = TinyPolicy.build(texts, SMALL)
    pairs = [
        (p, " ".join(t.split()[3:8]), "the the the the the")
        for p, t in zip(prompts_of(texts), texts, strict=False)
    ]
    run = dpo(policy, pairs, gold=expert)
    assert len(run.steps) == SMALL.steps and run.method == "dpo"
    assert run.steps[-1].proxy > run.steps[0].proxy
    assert all(s.kl >= 0 and s.gold is not None for s in run.steps)


def test_checkpoint_lineage_reaches_the_pairs_and_their_judges(
    texts: list[str], ledger: Ledger
) -> None:
    # what a reward-model fit logs (keel.rlaif.reward): responses, both showings, the pairs' mix
    # and the fit's run entry on it
    prompt, good, bad = ledger.append(
        [
            text_record("a prompt", "human", author="ann"),
            text_record("a fine reply", "human", author="ann"),
            text_record("a reply reply", "synthetic"),
        ]
    )
    shown = [
        preference(good.id, bad.id, "critical-judge", "ai", "first", prompt=prompt.id),
        preference(bad.id, good.id, "critical-judge", "ai", "second", prompt=prompt.id),
    ]
    prefs = [a.id for a in ledger.append(shown)]
    pairs_mix = ledger.append([mix(prefs, {"role": "preference pairs"})])[0].id
    fit = Run(pairs_mix, "keel.rlaif.reward", {"fit": "noise-corrected"}, Digest("ab" * 32))
    reward_run = ledger.append([(fit, None)])[0].id

    policy = TinyPolicy.build(texts, SMALL)
    prompts = prompts_of(texts)[:5]
    log = PolicyLog(ledger, prompts, SMALL, reward_run=reward_run, prompt_author="fortunes")
    run = grpo(policy, prompts, length_judge, on_group=log)
    run_id = log.finish(run)
    assert len(log.checkpoints) == 2  # 8 steps in groups of 4

    final = ledger.locate(run_id).entry
    assert isinstance(final, Run) and final.artifact_sha256 == run.weights_sha256
    assert final.uses == (reward_run, log.checkpoints[-1]) and final.mix == log.prompts_mix
    assert final.config["beta"] == SMALL.beta and final.config["seed"] == SMALL.seed

    review = verdict(log.prompt_ids[prompts[0]], "ann", "expert", label="accept")
    reviewed = ledger.append([review])[0].id
    t = trace(ledger, log.checkpoints[-1])
    assert [j.id for j in t.judgements] == [reviewed] and "ann" not in t.judges
    ids = {r.located.id for r in t.reached}
    assert {log.checkpoints[0], reward_run, pairs_mix, *prefs, prompt.id, good.id} <= ids
    assert "critical-judge" in t.judges
    completions = [
        r
        for r in t.of_kind("record")
        if isinstance(r.entry, Record) and r.entry.producer is not None
    ]
    assert completions and all(
        c.entry.producer.model == "keel.rlaif.policy"  # type: ignore[union-attr]
        and c.entry.parents[0] in log.prompt_ids.values()  # type: ignore[union-attr]
        for c in completions
    )
