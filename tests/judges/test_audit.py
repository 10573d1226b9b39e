"""The audit on the real TriviaQA table, pinned against computations written independently
(plain loops over the csv module's rows, scikit-learn, krippendorff, truescore, scipy), plus
invariants on synthetic tables."""

from __future__ import annotations

import math
from statistics import pstdev

import krippendorff
import numpy as np
import pytest
import truescore
from hypothesis import given, settings
from hypothesis import strategies as st
from judge_tables import synthetic
from scipy.stats import kendalltau
from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score

from keel.judges import Audit, JudgeTable, audit
from keel.judges.audit import kendall_tau_b, personality
from keel.judges.stats import Estimate

JUDGES = ("Mistral-7B", "Llama-7B", "Llama-13B", "Llama3-8B", "Gemma-2B", "Llama-70B", "EM",
          "Llama3-70B", "GPT-4", "JudgeLM", "Contains")  # fmt: skip


@pytest.fixture(scope="module")
def result(triviaqa: JudgeTable) -> Audit:
    return audit(triviaqa, penalty_category="gpt-4t", n_resamples=200)


def pairs(rows: list[dict[str, str]], judge: str) -> list[tuple[int, int]]:
    """(judge verdict, human label) for rows where both are present."""
    out = []
    for r in rows:
        if r[judge] in ("True", "False"):
            out.append((int(r[judge] == "True"), int(r["HumanJudgement"] == "True")))
    return out


@pytest.mark.parametrize("judge", JUDGES)
def test_rates_match_a_loop_over_the_csv(
    result: Audit, triviaqa_rows: list[dict[str, str]], judge: str
) -> None:
    p = result.profile(judge)
    vh = pairs(triviaqa_rows, judge)
    tp = sum(1 for v, h in vh if v and h)
    fp = sum(1 for v, h in vh if v and not h)
    fn = sum(1 for v, h in vh if not v and h)
    tn = sum(1 for v, h in vh if not v and not h)
    assert p.confusion == (tp, fp, fn, tn)
    assert p.missing_verdicts == len(triviaqa_rows) - len(vh)
    n = len(vh)
    f = {k: e.value for k, e in p.figures.items()}
    assert f["accuracy"] == pytest.approx((tp + tn) / n)
    assert f["prevalence"] == pytest.approx((tp + fn) / n)
    assert f["confirmation"] == pytest.approx(tp / (tp + fn))
    assert f["detection"] == pytest.approx(tn / (tn + fp))
    assert f["bias_ratio"] == pytest.approx((tn / (tn + fp)) / (tp / (tp + fn)))
    assert f["leniency"] == pytest.approx((tp + fp) / n - (tp + fn) / n)
    v = [a for a, _ in vh]
    h = [b for _, b in vh]
    assert f["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(h, v))
    assert f["kappa"] == pytest.approx(cohen_kappa_score(v, h))
    assert f["gwet_ac1"] == pytest.approx(truescore.gwet_ac1(v, h))
    m = (sum(v) + sum(h)) / (2 * n)
    pe = m * m + (1 - m) * (1 - m)
    assert f["scott_pi"] == pytest.approx(((tp + tn) / n - pe) / (1 - pe))
    w = truescore.wilson_interval(tp + tn, n)
    acc = p.figures["accuracy"]
    assert (acc.lo, acc.hi, acc.method) == (pytest.approx(w.low), pytest.approx(w.high), "wilson")


def test_per_category_spread_and_penalty(
    result: Audit, triviaqa_rows: list[dict[str, str]]
) -> None:
    p = result.profile("Gemma-2B")
    per_model: dict[str, list[int]] = {}
    for r in triviaqa_rows:
        if r["Gemma-2B"] in ("True", "False"):
            per_model.setdefault(r["model"], []).append(int(r["Gemma-2B"] == r["HumanJudgement"]))
    acc = {m: sum(x) / len(x) for m, x in per_model.items()}
    assert {c.name: c.accuracy.value for c in p.categories} == pytest.approx(acc)
    assert p.figures["category_spread"].value == pytest.approx(pstdev(acc.values()))
    rejected = [
        r["Gemma-2B"] == "False"
        for r in triviaqa_rows
        if r["model"] == "gpt-4t" and r["HumanJudgement"] == "True" and r["Gemma-2B"]
    ]
    assert p.figures["penalty_frr"].value == pytest.approx(sum(rejected) / len(rejected))


def test_krippendorff_alpha_matches_the_reference(
    result: Audit, triviaqa_rows: list[dict[str, str]]
) -> None:
    def value(x: str) -> float:
        return {"True": 1.0, "False": 0.0}.get(x, math.nan)

    data = [[value(r[j]) for r in triviaqa_rows] for j in (*JUDGES, "HumanJudgement")]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert result.panel["alpha"].value == pytest.approx(expected)


def test_effective_judges_from_error_correlation(
    result: Audit, triviaqa_rows: list[dict[str, str]]
) -> None:
    complete = [r for r in triviaqa_rows if all(r[j] in ("True", "False") for j in JUDGES)]
    errors = np.array([[float(r[j] != r["HumanJudgement"]) for j in JUDGES] for r in complete])
    corr = np.corrcoef(errors, rowvar=False)
    rho = corr[~np.eye(len(JUDGES), dtype=bool)].mean()
    assert result.panel["error_correlation"].value == pytest.approx(rho)
    n_eff = len(JUDGES) / (1 + (len(JUDGES) - 1) * rho)
    assert result.panel["effective_judges"].value == pytest.approx(n_eff)
    assert 1 < n_eff < len(JUDGES)


def test_mcnemar_and_holm_match_truescore(
    result: Audit, triviaqa_rows: list[dict[str, str]]
) -> None:
    raw = []
    for c in result.comparisons:
        rows = [r for r in triviaqa_rows if r[c.a] and r[c.b]]
        a = [int(r[c.a] == r["HumanJudgement"]) for r in rows]
        b = [int(r[c.b] == r["HumanJudgement"]) for r in rows]
        ref = truescore.mcnemar(a, b, midp=False)
        assert c.n == len(rows)
        assert c.p_value == pytest.approx(ref.p_value, rel=1e-9, abs=1e-300)
        raw.append(ref.p_value)
    adjusted = truescore.holm(raw)
    assert [c.p_holm for c in result.comparisons] == pytest.approx(adjusted.tolist())
    assert len(result.comparisons) == 55


def test_kendall_tau_of_model_rankings(result: Audit, triviaqa_rows: list[dict[str, str]]) -> None:
    models = sorted({r["model"] for r in triviaqa_rows})
    human = [
        np.mean([r["HumanJudgement"] == "True" for r in triviaqa_rows if r["model"] == m])
        for m in models
    ]
    for judge in ("GPT-4", "EM"):
        rates = [
            np.mean([r[judge] == "True" for r in triviaqa_rows if r["model"] == m and r[judge]])
            for m in models
        ]
        tau = kendalltau(rates, human).statistic
        assert result.profile(judge).figures["kendall_tau"].value == pytest.approx(tau)


def test_kendall_tau_between_judges_matches_scipy(
    result: Audit, triviaqa_rows: list[dict[str, str]]
) -> None:
    """Every pair: τ-b between the judges' rankings of the exam-taker models by acceptance
    rate, and scipy's p-value, from rates counted over the csv rows."""
    models = sorted({r["model"] for r in triviaqa_rows})

    def rates(judge: str) -> list[float]:
        return [
            float(np.mean([r[judge] == "True" for r in triviaqa_rows
                           if r["model"] == m and r[judge]]))
            for m in models
        ]  # fmt: skip

    by_judge = {j: rates(j) for j in JUDGES}
    for c in result.comparisons:
        ref = kendalltau(by_judge[c.a], by_judge[c.b])
        assert c.kendall_tau == pytest.approx(ref.statistic)
        assert c.kendall_p == pytest.approx(ref.pvalue)
    doc = result.to_json()["comparisons"]
    assert isinstance(doc, list) and doc[0]["kendall_tau"] == result.comparisons[0].kendall_tau


def test_personalities_on_real_judges(result: Audit) -> None:
    assert result.profile("EM").personality.startswith("critic")
    assert result.profile("Gemma-2B").personality.startswith("confirmer")
    assert result.profile("GPT-4").personality == "balanced"
    for p in result.profiles:
        for name, e in p.figures.items():
            if e.method == "bootstrap" and not math.isnan(e.lo):
                assert e.lo <= e.value + 1e-9 or name in ("kendall_tau",)
                assert e.lo <= e.hi


def test_missing_human_labels_are_excluded_and_counted() -> None:
    t = synthetic(n=200, judges=2, missing=0.1)
    human = t.human.copy()
    human[:20] = np.nan
    t2 = JudgeTable(t.source, t.items, t.judges, human, t.verdicts, missing=t.missing)
    a = audit(t2, n_resamples=0)
    seen = ~np.isnan(t.verdicts[0, :20, 0])
    assert a.profiles[0].missing_human == int(seen.sum())
    assert a.profiles[0].n == int((~np.isnan(t.verdicts[0, 20:, 0])).sum())


def test_repeats_give_flip_rate_and_bootstrap_intervals() -> None:
    t = synthetic(n=300, judges=2, runs=3, seed=4)
    a = audit(t, n_resamples=100)
    v = t.verdicts[0]
    flips = np.mean([len(set(row.tolist())) > 1 for row in v])
    assert a.profiles[0].figures["flip_rate"].value == pytest.approx(flips)
    assert a.profiles[0].figures["accuracy"].method == "bootstrap"
    assert len(a.profiles[0].run_accuracy) == 3
    assert "unstable" in a.profiles[0].personality


def test_bootstrap_resamples_items_with_their_repeats() -> None:
    """Copying every run of every item changes nothing but the repeats: a judge that repeats
    itself exactly gets the same interval as with one run, not a narrower one."""
    one = synthetic(n=300, judges=2, runs=1, seed=5)
    three = JudgeTable(
        one.source, one.items, one.judges, one.human, np.repeat(one.verdicts, 3, axis=2)
    )
    a, b = audit(one, n_resamples=300, seed=3), audit(three, n_resamples=300, seed=3)
    ka, kb = a.profiles[0].figures["kappa"], b.profiles[0].figures["kappa"]
    assert (ka.value, ka.lo, ka.hi) == pytest.approx((kb.value, kb.lo, kb.hi))


def test_no_human_labels_is_an_input_error() -> None:
    t = synthetic(n=20)
    empty = JudgeTable(t.source, t.items, t.judges, np.full(20, np.nan), t.verdicts)
    with pytest.raises(Exception, match="no human labels"):
        audit(empty)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(20, 120))
def test_figures_stay_in_bounds_and_ignore_item_order(seed: int, n: int) -> None:
    t = synthetic(n=n, judges=3, seed=seed, missing=0.05)
    a = audit(t, n_resamples=0)
    perm = np.random.default_rng(seed).permutation(n)
    shuffled = JudgeTable(t.source, t.items, t.judges, t.human[perm], t.verdicts[:, perm])
    b = audit(shuffled, n_resamples=0)
    for pa_, pb in zip(a.profiles, b.profiles, strict=True):
        for k, e in pa_.figures.items():
            assert e.value == pytest.approx(pb.figures[k].value, nan_ok=True)
            if k in ("accuracy", "confirmation", "detection", "balanced_accuracy"):
                assert math.isnan(e.value) or 0 <= e.value <= 1
            if k in ("kappa", "scott_pi", "gwet_ac1"):
                assert math.isnan(e.value) or -1 - 1e-9 <= e.value <= 1 + 1e-9


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=3, max_size=8), st.integers(0, 1000))
def test_kendall_tau_b_matches_scipy(x: list[float], seed: int) -> None:
    y = np.random.default_rng(seed).integers(0, 3, len(x)).astype(float)
    expected = kendalltau(x, y).statistic
    got = float(kendall_tau_b(np.array(x), y))
    assert got == pytest.approx(expected, nan_ok=True)


def test_personality_thresholds() -> None:
    def figs(ratio: float, leniency: float, kappa: float) -> dict[str, Estimate]:
        e = lambda v: Estimate(v, math.nan, math.nan, "none")  # noqa: E731
        return {"bias_ratio": e(ratio), "leniency": e(leniency), "kappa": e(kappa)}

    assert personality(figs(2.0, -0.2, 0.5)) == "critic"
    assert personality(figs(0.5, 0.2, 0.5)) == "confirmer"
    assert personality(figs(1.0, 0.0, 0.5)) == "balanced"
    assert personality(figs(1.0, 0.0, 0.1)) == "near-chance"


def grouped(
    human: list[int], judge: list[int], groups: list[int], names: tuple[str, ...]
) -> JudgeTable:
    """One judge's verdicts on items of the given groups (codes into `names`)."""
    n = len(human)
    return JudgeTable(
        "grouped", tuple(map(str, range(n))), ("j",), np.array(human, float),
        np.array(judge, float)[None, :, None], groups=names, group=np.array(groups),
        group_by="model",
    )  # fmt: skip


def test_pooling_inflates_agreement_when_base_rates_differ_by_group() -> None:
    """A judge that accepts every answer of the strong model and rejects every answer of the
    weak one agrees with the humans by chance only within each model (κ = π = 0 there), yet
    pooled over both models its κ is high: the per-group mean shows it."""
    human = [1] * 18 + [0] * 2 + [1] * 2 + [0] * 18
    judge = [1] * 20 + [0] * 20
    groups = [0] * 20 + [1] * 20
    p = audit(grouped(human, judge, groups, ("strong", "weak")), n_resamples=200).profiles[0]
    assert p.figures["kappa"].value == pytest.approx(cohen_kappa_score(human, judge))
    assert p.figures["kappa"].value > 0.75
    assert [g.name for g in p.groups] == ["strong", "weak"]
    assert [g.n for g in p.groups] == [20, 20]
    for g in p.groups:
        assert g.kappa.value == pytest.approx(0.0)
        assert g.scott_pi.value < 0
        assert g.accuracy.value == pytest.approx(0.9)
    assert p.figures["group_mean_kappa"].value == pytest.approx(0.0)
    pis = [g.scott_pi.value for g in p.groups]
    assert p.figures["group_mean_scott_pi"].value == pytest.approx(np.mean(pis))
    assert p.figures["group_mean_accuracy"].value == pytest.approx(0.9)
    mean = p.figures["group_mean_kappa"]
    assert mean.method == "bootstrap" and mean.lo <= mean.value <= mean.hi


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_per_group_figures_match_sklearn_on_each_group(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = synthetic(n=150, judges=2, seed=seed, missing=0.05)
    codes = rng.integers(-1, 3, t.human.size)  # -1: an item outside every group
    table = JudgeTable(t.source, t.items, t.judges, t.human, t.verdicts, missing=t.missing,
                       groups=("a", "b", "c"), group=codes, group_by="g")  # fmt: skip
    a = audit(table, n_resamples=0)
    for j, p in enumerate(a.profiles):
        kappas, pis, accs = [], [], []
        for code, g in enumerate(p.groups):
            ok = (codes == code) & ~np.isnan(t.verdicts[j, :, 0]) & ~np.isnan(t.human)
            v, h = t.verdicts[j, ok, 0], t.human[ok]
            assert g.n == ok.sum()
            assert g.accuracy.value == pytest.approx(np.mean(v == h))
            kappa = cohen_kappa_score(h, v) if len(set(h) | set(v)) > 1 else math.nan
            assert g.kappa.value == pytest.approx(kappa, nan_ok=True)
            m = (v.mean() + h.mean()) / 2
            pe = m * m + (1 - m) ** 2
            pi = (np.mean(v == h) - pe) / (1 - pe) if pe < 1 else math.nan
            assert g.scott_pi.value == pytest.approx(pi, nan_ok=True)
            kappas.append(kappa)
            pis.append(pi)
            accs.append(np.mean(v == h))
        f = p.figures
        assert f["group_mean_kappa"].value == pytest.approx(np.nanmean(kappas))
        assert f["group_mean_scott_pi"].value == pytest.approx(np.nanmean(pis))
        assert f["group_mean_accuracy"].value == pytest.approx(np.mean(accs))


def test_per_exam_taker_figures_on_real_data(
    result: Audit, triviaqa_rows: list[dict[str, str]]
) -> None:
    """Per exam-taker model (Thakur et al. 2024 report alignment per exam-taker): κ, π and
    agreement from a loop over the csv, their unweighted mean beside the pooled figure."""
    models = sorted({r["model"] for r in triviaqa_rows})
    assert result.group_by == "model"
    for judge in JUDGES:
        p = result.profile(judge)
        assert [g.name for g in p.groups] == models
        kappas = []
        for g in p.groups:
            vh = pairs([r for r in triviaqa_rows if r["model"] == g.name], judge)
            v, h = [x for x, _ in vh], [y for _, y in vh]
            assert g.n == len(vh)
            assert g.kappa.value == pytest.approx(cohen_kappa_score(h, v))
            assert g.accuracy.value == pytest.approx(np.mean(np.array(v) == np.array(h)))
            kappas.append(cohen_kappa_score(h, v))
        mean = p.figures["group_mean_kappa"]
        assert mean.value == pytest.approx(np.mean(kappas))
        assert mean.lo <= mean.value <= mean.hi
    doc = result.to_json()
    assert doc["group_by"] == "model"
    first = doc["judges"][0]  # type: ignore[index]
    assert len(first["groups"]) == 9 and "group_mean_scott_pi" in first["figures"]
