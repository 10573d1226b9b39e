"""CoT-Self-Instruct: the request reasons over seeds before the prompt; Answer-Consistency with a
served model on loopback (generator and solver); RIP's percentile rule; every decision a
verdict in the ledger, on a record whose parents are the seeds'."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from keel.errors import ConfigError
from keel.ledger import Ledger
from keel.models import ServedModel
from keel.records import Record, Verdict, text_record
from keel.rlaif import (
    ServedWriter,
    TemplatedWriter,
    cot_request,
    final_answer,
    rip,
    rip_threshold,
    self_instruct,
)
from keel.rlaif.instruct import parse_generated, plan
from openai_server import last_user_text, serve

SEEDS = ["What is 2 + 3?", "What is 10 + 4?", "What is 7 + 8?", "What is 1 + 1?"]


def arithmetic(body: dict[str, Any]) -> str:
    """Writes `What is a + b?` with a right answer when the seeds include 2 + 3, a wrong one
    otherwise; solves `a + b` right every time."""
    text = last_user_text(body)
    if text.startswith("You write new prompts"):
        first = re.search(r"1\. What is (\d+) \+ (\d+)", text)
        assert first is not None
        a, b = int(first[1]), int(first[2])
        claimed = a + b + 1 if (a, b) == (1, 1) else a + b
        return (
            f"Reasoning: the seeds add two small numbers; a new sum of the same size.\n"
            f"New prompt: What is {a} + {b} + 0?\nAnswer: {claimed}"
        )
    m = re.search(r"What is (\d+) \+ (\d+)", text)
    assert m is not None
    return f"Adding them: {int(m[1]) + int(m[2])}.\nAnswer: {int(m[1]) + int(m[2])}"


def test_request_asks_for_reasoning_before_the_prompt() -> None:
    text = cot_request(SEEDS[:2], verifiable=True)
    assert "1. What is 2 + 3?" in text and "2. What is 10 + 4?" in text
    assert text.index("Reasoning:") < text.index("New prompt:") < text.index("Answer:")
    assert "Answer:" not in cot_request(SEEDS[:2], verifiable=False)


def test_parsing_answers_and_final_answers() -> None:
    g = parse_generated("Reasoning: think\nmore\nNew prompt: Say hi.\nAnswer: 4.0", SEEDS)
    assert g is not None and (g.reasoning, g.prompt, g.answer) == ("think\nmore", "Say hi.", "4.0")
    assert parse_generated("no fields", SEEDS) is None
    assert final_answer("so the answer is 12.") == "12"
    assert final_answer("Answer: Paris") == "paris"
    assert final_answer("it makes 3 then 4") == "4"
    assert final_answer("nothing") is None


def test_answer_consistency_with_a_served_model_logs_each_decision(
    ledger: Ledger, tmp_path: Path
) -> None:
    seed_ids = {
        s: a.id
        for s, a in zip(
            SEEDS, ledger.append(text_record(s, "human", author="ann") for s in SEEDS), strict=True
        )
    }
    with serve(arithmetic) as fake:
        served = ServedModel(fake.base_url, "writer", cache=tmp_path / "c.sqlite", backoff=0.01)
        out = self_instruct(
            ServedWriter(served),
            SEEDS,
            12,
            responder=served.generate,
            verifiable=True,
            k=2,
            samples=3,
            seed=1,
            ledger=ledger,
            seed_ids=seed_ids,
        )
    assert len(out) == 12
    for f in out:
        right = "1 + 1" not in f.generated.prompt
        assert f.decision.keep == right, f.decision.reason
        rec = ledger.locate(f.record or "").entry
        assert isinstance(rec, Record) and rec.origin == "synthetic"
        assert set(rec.parents) <= set(seed_ids.values()) and len(rec.parents) == 2
        v = ledger.locate(f.verdict or "").entry
        assert isinstance(v, Verdict) and v.judge == "answer-consistency"
        assert v.label == ("accept" if right else "reject") and v.record == f.record
    assert {f.decision.keep for f in out} == {True, False}


def good_first(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
    """A reward: 1 for responses to prompts that start with `good`, 0.5 for the rest."""
    return [1.0 if p.startswith("good") else 0.5 for p in prompts]


def test_rip_keeps_prompts_whose_worst_response_clears_the_seeds_percentile() -> None:
    assert rip_threshold([0.1, 0.2, 0.3, 0.4, 0.5], 50) == 0.3
    assert rip(0.35, 0.3, 50).keep and not rip(0.25, 0.3, 50).keep
    assert "the 50th percentile" in rip(0.25, 0.3, 50).reason
    with pytest.raises(ConfigError):
        rip_threshold([0.1], 120)


def test_rip_with_a_templated_writer(ledger: Ledger) -> None:
    seeds = ["good dogs run fast", "good cats sleep long", "bad birds sing", "bad fish swim"]
    words, length = plan(seeds)
    assert words[0] in ("good", "bad") and length == 3

    def responder(prompts: Sequence[str]) -> list[str]:
        return [p + " and so on" for p in prompts]

    writer = TemplatedWriter(responder, opening=1, seed=3)
    out = self_instruct(
        writer,
        seeds,
        6,
        responder=responder,
        reward=good_first,
        k=4,
        samples=2,
        percentile=50,
        ledger=ledger,
    )
    assert len(out) == 6
    for f in out:
        assert f.generated.reasoning.startswith("the seeds speak of")
        assert f.decision.keep == f.generated.prompt.startswith("good")
        v = ledger.locate(f.verdict or "").entry
        assert isinstance(v, Verdict) and v.judge == "rip" and v.score == f.decision.score
    with pytest.raises(ConfigError, match="use a ServedWriter"):
        writer.write([seeds], verifiable=True)
