"""The expert step: the simulated panel's error rate and labelling, the choice of the review
sample, and the decisions as ledger verdicts (resumable)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from keel.errors import ConfigError, InputError
from keel.experts import (
    Decision,
    ReviewItem,
    SimulatedPanel,
    Truth,
    choose_for_review,
    decision_verdicts,
    review_generation,
    uncertainty,
)
from keel.ledger import Ledger, Snapshot
from keel.records import EntryId, entry_bytes, entry_id, text_record, verdict
from mix_scenario import build


def items(n: int) -> list[ReviewItem]:
    return [ReviewItem(EntryId(f"{i:064x}"), f"text {i}", "random", 0.0) for i in range(n)]


def truth_by_parity(item: ReviewItem) -> Truth:
    return "accept" if int(item.record, 16) % 2 else "reject"


@pytest.mark.parametrize("error_rate", [0.0, 0.1, 0.3])
def test_panel_error_rate_is_measured_back(error_rate: float) -> None:
    n = 4000
    panel = SimulatedPanel(truth_by_parity, error_rate=error_rate, seed=7)
    decisions = panel.review(items(n))
    wrong = sum(
        d.adopt != (truth_by_parity(i) == "accept")
        for i, d in zip(items(n), decisions, strict=True)
    )
    sd = math.sqrt(error_rate * (1 - error_rate) / n)
    assert abs(wrong / n - error_rate) <= 4 * sd  # within binomial error
    assert all(d.reviewer.startswith("simulated-expert-") for d in decisions)
    assert all("SIMULATED" in d.rationale for d in decisions)
    assert {d.reviewer for d in decisions} == {f"simulated-expert-{k}" for k in (1, 2, 3)}


def test_panel_answers_do_not_depend_on_the_batch() -> None:
    panel = SimulatedPanel(truth_by_parity, error_rate=0.4, seed=1)
    batch = items(200)
    forward = {d.record: d for d in panel.review(batch)}
    backward = {d.record: d for d in panel.review(batch[::-1])}
    assert forward == backward
    other = SimulatedPanel(truth_by_parity, error_rate=0.4, seed=2).review(batch)
    assert [d.adopt for d in other] != [forward[i.record].adopt for i in batch]


def test_degenerate_truth_keeps_its_label_and_is_validated() -> None:
    panel = SimulatedPanel(lambda _: "degenerate", error_rate=0.0)
    assert {(d.adopt, d.label) for d in panel.review(items(5))} == {(False, "degenerate")}
    with pytest.raises(ConfigError, match="error_rate"):
        SimulatedPanel(truth_by_parity, error_rate=1.5)
    with pytest.raises(InputError, match="ground truth"):
        SimulatedPanel(lambda _: "maybe").review(items(1))  # type: ignore[arg-type,return-value]


votes_st = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(0, 60)),
    elements=st.sampled_from([0.0, 1.0, np.nan]),
)


@given(votes_st, st.lists(st.floats(0, 1), min_size=4, max_size=4))
def test_uncertainty_is_bounded(votes: np.ndarray, rel: list[float]) -> None:
    u = uncertainty(votes, np.array(rel[: votes.shape[0]]))
    assert np.all((u >= 0) & (u <= 1))


def test_uncertainty_extremes() -> None:
    agree = np.array([[1.0, 0.0], [1.0, 0.0]])
    split = np.array([[1.0], [0.0]])
    assert uncertainty(agree).tolist() == [0.0, 0.0]
    assert uncertainty(split).tolist() == [1.0]
    assert uncertainty(agree, np.array([0.5, 0.5])).tolist() == [1.0, 1.0]  # chance judges
    assert uncertainty(np.array([[1.0, 0.0]]), np.array([0.75])).tolist() == [0.5, 0.5]
    with pytest.raises(InputError, match="reliability"):
        uncertainty(agree, np.array([1.0]))


@given(votes_st, st.integers(0, 80), st.floats(0.05, 1.0), st.integers(0, 5))
def test_sample_has_a_random_share_and_the_most_uncertain(
    votes: np.ndarray, budget: int, share: float, seed: int
) -> None:
    s = choose_for_review(votes, budget, random_share=share, seed=seed)
    n = votes.shape[1]
    assert len(s.positions) == min(budget, n) == len(set(s.positions))
    n_random = s.reasons.count("random")
    if s.positions:
        assert n_random >= min(len(s.positions), max(1, math.ceil(share * min(budget, n))))
    targeted = [p for p, r in zip(s.positions, s.reasons, strict=True) if r == "uncertain"]
    rest = sorted(set(range(n)) - set(s.positions))
    if targeted and rest:
        assert min(s.uncertainty[targeted]) >= max(s.uncertainty[rest])


def test_review_generation_logs_expert_verdicts_once(ledger: Ledger) -> None:
    sc = build(ledger, n_human=10, n_synthetic=80)
    out = review_generation(ledger, sc.panel(error_rate=0.0), budget=30, generation=1, seed=3)
    assert len(out.items) == 30 and len(out.appended) == 30
    assert out.items[0].reason == "random"
    assert {i.reason for i in out.items} == {"random", "uncertain"}
    snap = Snapshot.load(ledger)
    for item in out.items:
        j = snap.get(item.record)
        assert j.expert[0].judge_kind == "expert"
        assert j.expert[0].rubric == f"keel-review/{item.reason}"
        assert j.adopted == (sc.truth[item.record] == "accept")
        assert "SIMULATED" in ledger.payload(j.expert[0].rationale.sha256).decode()  # type: ignore[union-attr]
    again = review_generation(ledger, sc.panel(), budget=30, generation=1)
    assert again.already_reviewed == 30 and again.items == () and again.appended == ()
    more = review_generation(ledger, sc.panel(), budget=40, generation=1)
    assert len(more.items) == 10


def test_reliability_must_name_every_judge(ledger: Ledger) -> None:
    sc = build(ledger, n_human=5, n_synthetic=20)
    with pytest.raises(InputError, match="lenient"):
        review_generation(ledger, sc.panel(), budget=5, reliability={"strict": 0.9})
    out = review_generation(
        ledger, sc.panel(), budget=5, reliability={"strict": 0.9, "lenient": 0.6}
    )
    assert len(out.items) == 5


def test_decisions_must_answer_the_items() -> None:
    batch = items(2)
    stray = Decision(EntryId("f" * 64), True, "x", "why")
    with pytest.raises(InputError, match="not sent to review"):
        decision_verdicts(batch, [stray])
    ((v, data),) = decision_verdicts(batch[:1], [Decision(batch[0].record, False, "ana", "off")])
    assert (v.label, v.score, v.judge_kind, data) == ("reject", 0.0, "expert", b"off")


def test_a_snapshot_read_on_top_of_an_earlier_one_equals_a_full_read(ledger: Ledger) -> None:
    first = [text_record(f"text {i}", "human") for i in range(5)]
    later, later_bytes = text_record("logged after its verdict", "synthetic")
    later_id = entry_id(entry_bytes(later))
    steps = [
        lambda: ledger.append(first),
        lambda: ledger.append([verdict(a.id, "j", "ai", label="accept") for a in ledger.recent(5)]),
        lambda: ledger.append(
            [verdict(later_id, "j", "ai", label="reject")], allow_unknown_refs=True
        ),
        lambda: ledger.append([(later, later_bytes)]),
        lambda: ledger.append([verdict(later_id, "e", "expert", label="accept")]),
    ]
    snap = None
    for step in steps:
        step()
        snap = Snapshot.load(ledger, snap)
        assert snap == Snapshot.load(ledger)
    assert snap is not None and snap.size == ledger.size
    late = snap.get(later_id)
    assert [v.judge for v in late.ai] == ["j"] and late.adopted is True
