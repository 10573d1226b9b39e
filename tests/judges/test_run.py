"""Judges that run: strict parsing of LLM answers (unparseable counted, never guessed), the LLM
judge over a real loopback server, conformal offline judges, and verdict entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import ConfigError, InputError
from keel.judges import (
    JudgeCounts,
    JudgeResult,
    LLMJudge,
    Rubric,
    conformal_p_values,
    likelihood_judge,
    parse_judgement,
    repetition_judge,
    run_judge,
    to_verdicts,
)
from keel.models import ServedModel
from keel.records import parse_entry, sha256_hex
from keel.text import load_fortunes
from openai_server import judge_by_keyword, serve

RUBRIC = Rubric("helpful-v1", "Accept texts that are good, clear and on topic.")
ID = "ab" * 32


@pytest.fixture(scope="module")
def fortunes() -> list[str]:
    texts = load_fortunes()
    return [texts[i] for i in np.random.default_rng(0).permutation(len(texts))]


@pytest.mark.parametrize(
    ("answer", "label", "score"),
    [
        ('{"verdict": "accept", "score": 0.8, "rationale": "fine"}', "accept", 0.8),
        ('  {"verdict": "Reject", "score": 0, "rationale": ""}\n', "reject", 0.0),
        ('```json\n{"verdict": "accept", "score": 1, "rationale": "ok"}\n```', "accept", 1.0),
        ('{"verdict": "reject", "score": 0.1, "rationale": "x", "extra": 3}', "reject", 0.1),
    ],
)
def test_well_formed_answers_parse(answer: str, label: str, score: float) -> None:
    r = parse_judgement(answer)
    assert (r.label, r.score, r.error) == (label, score, None)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("Accept. The text is fine.", "not a JSON object"),
        ('Sure! {"verdict": "accept", "score": 0.9, "rationale": "ok"}', "not a JSON object"),
        ('["accept", 0.9]', "not an object"),
        ('{"verdict": "maybe", "score": 0.5, "rationale": "?"}', '"verdict" must be'),
        ('{"verdict": "accept", "score": 1.5, "rationale": "?"}', '"score" must be'),
        ('{"verdict": "accept", "score": true, "rationale": "?"}', '"score" must be'),
        ('{"verdict": "accept", "score": "0.9", "rationale": "?"}', '"score" must be'),
        ('{"verdict": "accept", "score": 0.9}', '"rationale" must be'),
    ],
)
def test_malformed_answers_are_unparseable_not_guessed(answer: str, why: str) -> None:
    r = parse_judgement(answer)
    assert not r.parsed and r.score is None
    assert r.error is not None and why in r.error
    assert r.rationale == answer


@given(st.text(max_size=200))
def test_parsing_never_raises_and_bounds_scores(answer: str) -> None:
    r = parse_judgement(answer)
    assert r.parsed == (r.label in ("accept", "reject"))
    assert (r.score is None) == (not r.parsed)
    assert r.score is None or 0.0 <= r.score <= 1.0


def test_llm_judge_over_the_wire_counts_unparseable() -> None:
    texts = ["a good text", "a bad text", "garble here", "good and fenced"]
    with serve(judge_by_keyword) as fake:
        judge = LLMJudge(ServedModel(fake.base_url, "judge-model"), RUBRIC)
        results = judge.judge(texts)
        system = fake.bodies[0]["messages"][0]
    assert [r.label for r in results] == ["accept", "reject", None, "accept"]
    assert [r.score for r in results] == [0.9, 0.2, None, 0.9]
    assert JudgeCounts.of(results) == JudgeCounts(4, 2, 1, 1)
    assert system["role"] == "system" and RUBRIC.text in system["content"]
    assert fake.bodies[0]["temperature"] == 0.0
    assert judge.id == "llm:judge-model"
    assert judge.rubric == f"helpful-v1@{sha256_hex(RUBRIC.text.encode())[:12]}"


def test_verdict_entries_skip_unparseable() -> None:
    results = [
        JudgeResult("accept", 0.9, "clear"),
        JudgeResult(None, None, "prose", "not JSON"),
        JudgeResult("reject", 0.1, "off topic"),
    ]
    judge = LLMJudge(ServedModel("http://127.0.0.1:1/v1", "m"), RUBRIC, "judge-a")
    ids = [ID, "cd" * 32, "ef" * 32]
    entries = to_verdicts(judge, ids, results)
    assert [v.record for v, _ in entries] == [ID, "ef" * 32]
    v, data = entries[1]
    assert (v.judge, v.judge_kind, v.label, v.score, v.rubric) == (
        "judge-a", "ai", "reject", 0.1, judge.rubric)  # fmt: skip
    assert data == b"off topic"
    assert parse_entry(orjson.dumps(v.to_json())) == v
    with pytest.raises(InputError, match="3 record ids for 2"):
        to_verdicts(judge, ids, results[:2])


@given(
    st.lists(st.floats(-100, 100), min_size=1, max_size=50),
    st.lists(st.floats(-100, 100), min_size=1, max_size=20),
)
def test_conformal_p_values_are_bounded_and_monotone(cal: list[float], vals: list[float]) -> None:
    v = np.sort(np.array(vals))
    p = conformal_p_values(np.array(cal), v)
    assert np.all(p >= 1 / (len(cal) + 1)) and np.all(p <= 1)
    assert np.all(np.diff(p) >= 0)


def test_conformal_p_values_are_valid_for_exchangeable_data() -> None:
    rng = np.random.default_rng(0)
    hits = [
        float((conformal_p_values(rng.normal(size=99), rng.normal(size=1)) <= 0.1)[0])
        for _ in range(4000)
    ]
    assert abs(np.mean(hits) - 0.1) < 0.015


def test_likelihood_judge_accepts_human_text_and_rejects_word_salad(fortunes: list[str]) -> None:
    train, held = fortunes[:3000], fortunes[3000:3400]
    judge = likelihood_judge(train, order=3, alpha=0.05)
    human = JudgeCounts.of(judge.judge(held))
    rng = np.random.default_rng(1)
    types = sorted({w for text in held for w in text.split()})
    salad = [" ".join(rng.choice(types, size=20)) for _ in range(200)]
    junk = JudgeCounts.of(judge.judge(salad))
    assert human.accepted / human.judged > 0.9
    assert junk.rejected / junk.judged > 0.9
    r = judge.judge([held[0]])[0]
    assert "mean log-likelihood per token" in r.rationale and 0 < (r.score or 0) <= 1
    assert judge.id == "ngram3-human" and judge.kind == "ai"


def test_repetition_judge_rejects_loops(fortunes: list[str]) -> None:
    judge = repetition_judge(fortunes[:2000])
    loop = "the answer is the answer is the answer is the answer is the answer is"
    results = judge.judge([loop, fortunes[2500]])
    assert [r.label for r in results] == ["reject", "accept"]


def test_offline_judges_refuse_too_few_human_texts() -> None:
    with pytest.raises(ConfigError, match=r"nothing could be rejected.*at least 19"):
        repetition_judge(["one text", "another"], alpha=0.05)
    with pytest.raises(ConfigError, match="needs human texts"):
        likelihood_judge(["alone"])


def test_run_judge_reports_progress(fortunes: list[str]) -> None:
    judge = repetition_judge(fortunes[:100], alpha=0.2)
    seen: list[int] = []
    results = run_judge(judge, fortunes[100:170], chunk=32, on_done=seen.append)
    assert len(results) == 70 and seen == [32, 64, 70]


def test_rubric_files(tmp_path: Path) -> None:
    toml = tmp_path / "r.toml"
    toml.write_text('id = "tone"\ntext = """Be kind."""\n')
    assert Rubric.load(toml) == Rubric("tone", "Be kind.")
    md = tmp_path / "concise.md"
    md.write_text("Accept concise texts.\n")
    assert Rubric.load(md) == Rubric("concise", "Accept concise texts.")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n')
    with pytest.raises(InputError, match=r"bad\.toml needs string keys id"):
        Rubric.load(bad)
    with pytest.raises(InputError, match="cannot read rubric"):
        Rubric.load(tmp_path / "missing.txt")
