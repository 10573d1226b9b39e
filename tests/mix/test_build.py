"""build_mix and log_mix on real ledgers with a known ground truth: the verified floor, the
corrected gate's precision, lineage pruning, near-duplicates, and the logged member list."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import ConfigError, InputError
from keel.experts import review_generation
from keel.ledger import Ledger
from keel.mix import MixPolicy, build_mix, log_mix, read_mix, split_budget, verified_floor
from keel.records import Producer, parse_member_list, text_record, verdict
from mix_scenario import Scenario, sentence


def reviewed(led: Ledger, sc: Scenario, budget: int = 120) -> None:
    review_generation(led, sc.panel(), budget=budget, generation=1, random_share=1.0)


def precision(sc: Scenario, ids: list[str]) -> float:
    return sum(sc.truth[i] == "accept" for i in ids) / len(ids)


def test_corrected_gate_keeps_the_target_precision(ledger: Ledger, scenario: Scenario) -> None:
    reviewed(ledger, scenario)
    plan = build_mix(ledger, MixPolicy(alpha=0.2, size=200, target_precision=0.85, generation=1))
    assert plan.rule is not None and plan.rule.lower_bound >= 0.85
    gated = [m.id for m in plan.members if m.reason == "gate"]
    assert gated and precision(scenario, gated) >= 0.9
    ungated = build_mix(ledger, MixPolicy(alpha=0.2, size=200, generation=1, gate="none"))
    raw = [m.id for m in ungated.members if m.reason == "gate"]
    assert precision(scenario, raw) < precision(scenario, gated)
    assert plan.counts["anchors"] == 120


def test_verified_floor_and_reasons(ledger: Ledger, scenario: Scenario) -> None:
    reviewed(ledger, scenario)
    plan = build_mix(ledger, MixPolicy(alpha=0.3, size=150, target_precision=0.85, generation=1))
    assert len(plan.members) == 150 and plan.floor_met
    verified = [m for m in plan.members if m.reason != "gate"]
    assert len(verified) >= 45
    adopted = {m.id for m in plan.members if m.reason == "expert-adopted"}
    assert all(scenario.truth[i] == "accept" for i in adopted)
    assert all(m.id in scenario.human for m in plan.members if m.reason == "verified-human")


def test_expert_rejects_never_enter(ledger: Ledger, scenario: Scenario) -> None:
    reviewed(ledger, scenario)
    plan = build_mix(ledger, MixPolicy(alpha=0.0, size=1000, generation=1, gate="none"))
    out = review_generation(ledger, scenario.panel(), budget=120, generation=1)
    assert out.items == ()  # the step is done: re-running adds nothing
    members = {m.id for m in plan.members}
    bad = [i for i in scenario.synthetic if scenario.truth[i] == "reject"]
    reviewed_bad = {
        v.record
        for loc in ledger.iter_located()
        if (v := loc.entry).kind == "verdict" and v.judge_kind == "expert" and v.label == "reject"
    }
    assert reviewed_bad and not (members & reviewed_bad)
    assert plan.counts["expert_rejected"] == len(reviewed_bad)
    assert len(bad) > len(reviewed_bad)


def test_gate_closed_without_anchors_fills_with_verified(
    ledger: Ledger, scenario: Scenario
) -> None:
    plan = build_mix(ledger, MixPolicy(alpha=0.2, size=50, generation=1))
    assert plan.rule is None and "gate closed" in plan.note
    assert len(plan.members) == 50
    assert all(m.reason == "verified-human" for m in plan.members)


def test_judges_gate_is_the_uncorrected_majority(ledger: Ledger, scenario: Scenario) -> None:
    plan = build_mix(ledger, MixPolicy(alpha=0.0, size=1000, generation=1, gate="judges"))
    assert plan.counts["gate_accepted"] + plan.counts["gate_rejected"] == 300
    assert 0 < plan.counts["gate_accepted"] < 300


def test_lineage_pruning_drops_descendants(ledger: Ledger, scenario: Scenario) -> None:
    rng = np.random.default_rng(5)
    root = scenario.synthetic[0]
    ledger.append([verdict(root, "expert:ana", "expert", label="degenerate")])
    toy = Producer("toy")
    child = ledger.append(
        [text_record(sentence(rng), "synthetic", parents=[root], generation=2, producer=toy)]
    )[0].id
    parents = [child, scenario.human[0]]
    grandchild = ledger.append(
        [text_record(sentence(rng), "synthetic", parents=parents, generation=3, producer=toy)]
    )[0].id
    policy = MixPolicy(alpha=0.0, size=10_000, gate="none")
    members = {m.id for m in build_mix(ledger, policy).members}
    assert not {root, child, grandchild} & members
    assert scenario.human[0] in members
    kept = {m.id for m in build_mix(ledger, replace(policy, lineage=False)).members}
    assert {child, grandchild} <= kept
    flagged = build_mix(ledger, policy, flagged={scenario.synthetic[1]})
    assert scenario.synthetic[1] not in {m.id for m in flagged.members}


def test_near_duplicates_of_earlier_records_are_dropped(ledger: Ledger, scenario: Scenario) -> None:
    human_text = scenario.text[scenario.human[3]]
    copy = ledger.append(
        [text_record(human_text + " indeed", "synthetic", generation=1, producer=Producer("toy"))]
    )[0].id
    plan = build_mix(ledger, MixPolicy(alpha=0.0, size=10_000, gate="none"))
    ids = {m.id for m in plan.members}
    assert copy not in ids and scenario.human[3] in ids
    assert plan.counts["near_duplicate"] >= 1


def test_redacted_records_are_not_mixed(ledger: Ledger, scenario: Scenario) -> None:
    ledger.redact(scenario.human[0], "consent withdrawn")
    plan = build_mix(ledger, MixPolicy(alpha=1.0, size=10_000, gate="none"))
    assert scenario.human[0] not in {m.id for m in plan.members}
    assert plan.counts["redacted"] == 1


def test_log_mix_lists_exactly_the_plan(ledger: Ledger, scenario: Scenario) -> None:
    reviewed(ledger, scenario)
    plan = build_mix(ledger, MixPolicy(alpha=0.2, size=120, target_precision=0.85, generation=1))
    res = log_mix(ledger, plan)
    loc = ledger.locate(res.id)
    assert loc.entry.kind == "mix"
    payload = ledger.payload(loc.entry.members.sha256)  # type: ignore[union-attr]
    assert sorted(parse_member_list(payload)) == sorted(m.id for m in plan.members)
    logged = read_mix(ledger, res.id[:12])
    assert [j.id for j in logged.members] == [m.id for m in plan.members]
    assert logged.entry.generation == 2
    assert logged.entry.policy["alpha"] == 0.2
    assert logged.entry.policy["rule"] == plan.rule.describe()  # type: ignore[union-attr]
    assert log_mix(ledger, plan).new is False
    with pytest.raises(InputError, match="not a mix"):
        read_mix(ledger, scenario.human[0])


def test_policy_is_validated() -> None:
    with pytest.raises(ConfigError, match="alpha"):
        MixPolicy(alpha=1.5)
    with pytest.raises(ConfigError, match="fresh"):
        MixPolicy(human="fresh")
    with pytest.raises(ConfigError, match="gate must be one of"):
        MixPolicy(gate="maybe")  # type: ignore[arg-type]


@given(
    alpha=st.sampled_from([0.0, 0.1, 0.2, 0.25, 1 / 3, 0.5, 0.7, 1.0]),
    size=st.integers(1, 500),
    n_ver=st.integers(0, 600),
    n_syn=st.integers(0, 600),
)
def test_split_budget_keeps_the_floor(alpha: float, size: int, n_ver: int, n_syn: int) -> None:
    syn, ver = split_budget(alpha, size, n_ver, n_syn)
    assert 0 <= syn <= n_syn and 0 <= ver <= n_ver and syn + ver <= size
    a = Fraction(repr(alpha))
    if syn + ver:
        assert ver >= a * (syn + ver)  # the verified share never drops below alpha
    floor = verified_floor(alpha, size)
    if n_ver >= floor:
        assert ver >= floor
        assert syn + ver == min(size, n_ver + n_syn)  # the full size when the data allow it
