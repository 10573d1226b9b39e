"""keel.judges.on_ledger: the judge factory and record selection that `keel judge run` and the
loop share; a rerun judges only what is left."""

from __future__ import annotations

import pytest

from keel.errors import ConfigError, InputError
from keel.judges import Candidates, judge_records, make_judge
from keel.ledger import Ledger
from keel.records import Producer, text_record

HUMAN = [f"the {w} sat on the mat and looked at the {v} by the door" for w in
         ("cat", "dog", "owl", "fox", "hen", "cow") for v in ("rain", "sun", "moon")]  # fmt: skip
BOT = Producer("model", "gen-1")


def fill(led: Ledger) -> list[str]:
    led.append(text_record(t, "human", author="ann", generation=0) for t in HUMAN)
    made = led.append(
        text_record("the cat " * 8 + str(i), "synthetic", producer=BOT, generation=1)
        for i in range(5)
    )
    return [a.id for a in made]


def test_candidates_select_by_reference_generation_and_origin(ledger: Ledger) -> None:
    synthetic = fill(ledger)
    c = Candidates.of(ledger)
    assert len(c.records) == len(HUMAN) + 5 and sorted(c.human) == sorted(HUMAN)
    assert c.select(ledger, generation=1) == synthetic
    assert c.select(ledger, origins=["synthetic"]) == synthetic
    assert c.select(ledger, [synthetic[2][:12], synthetic[0], synthetic[2]]) == [
        synthetic[2], synthetic[0]
    ]  # fmt: skip
    assert c.select(ledger, [synthetic[0]], generation=0) == []
    with pytest.raises(InputError, match="no entry with id"):
        c.select(ledger, ["f" * 64])


def test_judge_records_appends_verdicts_and_a_rerun_resumes(ledger: Ledger) -> None:
    synthetic = fill(ledger)
    c = Candidates.of(ledger)
    judge = make_judge("repetition", c.human, alpha=0.2)
    first = judge_records(ledger, judge, c, synthetic)
    assert first.ids == tuple(synthetic) and len(first.appended) == 5
    assert all(r.label == "reject" for r in first.results)  # far more repetitive than human text
    again = Candidates.of(ledger)
    assert again.todo(judge.id, synthetic) == []
    second = judge_records(ledger, judge, again, synthetic)
    assert second.ids == () and second.appended == ()
    assert ledger.size == len(HUMAN) + 10


def test_llm_judge_needs_a_served_model_and_a_rubric() -> None:
    with pytest.raises(ConfigError, match="served model and a rubric"):
        make_judge("llm")
