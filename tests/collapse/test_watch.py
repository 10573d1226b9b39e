"""The watch on real generated text: an n-gram model retrained on its own samples is flagged,
with a fresh human share it is not; the verdict rule and the trend test (a decline is flagged,
a plateau with retraining noise and fresh human samples are not); the tail ratio's standard
error; files and JSONL origins give alpha."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from keel.collapse.simulate import Simulation, simulate_ngram
from keel.collapse.watch import (
    Generation,
    GenerationReport,
    Thresholds,
    Trend,
    Watcher,
    read_generations,
    tail_ratio_se,
    tail_trend,
    verdict,
    watch,
)
from keel.errors import ConfigError, InputError
from keel.text import load_fortunes


def watched_run(human: list[str], **loop: object) -> list[GenerationReport]:
    """Generations of a seeded n-gram loop on `human`, watched against the same corpus (the
    watch's anchor and the simulator's reference half coincide: same seed, same split)."""
    cfg = Simulation(model="ngram", generations=10, repetitions=1, samples=3000,
                     corpus=tuple(human), **loop)  # type: ignore[arg-type]  # fmt: skip
    _, texts = simulate_ngram(cfg, np.random.default_rng(0), lambda a, b: None, keep_texts=True)
    return list(
        watch([Generation(f"gen-{g}", tuple(t)) for g, t in enumerate(texts)], human).generations
    )


@pytest.mark.slow
def test_self_training_is_flagged_and_fresh_data_is_not() -> None:
    """The real-text demonstration of docs/collapse.md (seed 0), ten generations: pure
    self-training is flagged from generation 3 on and never cleared; the α = 0.2 loop may be
    flagged while it falls to its fixed point, and is read as a plateau once it is there."""
    human = load_fortunes()
    replace = watched_run(human)
    fresh = watched_run(human, loop="fresh", alpha=0.2)
    assert [g.verdict for g in replace][3:] == ["early-collapse"] * 8
    assert all(g.trend and g.trend.p < Thresholds().trend_alpha for g in replace[3:])  # falling
    assert not any(g.verdict.endswith("collapse") for g in fresh[-5:])
    assert fresh[-1].verdict == "degraded"  # settled below 0.8, not falling
    assert not any(g.verdict == "late-collapse" for g in replace + fresh)
    assert fresh[-1].ratios["tail"] > replace[-1].ratios["tail"] + 0.3


def test_verdict_rules() -> None:
    t = Thresholds()
    ok = {"tail": 1.0, "precision": 1.0, "entropy": 1.0, "distinct_2": 1.0}
    falling, flat = Trend(5, -0.05, 0.01, -5.0, 0.0077), Trend(5, -0.01, 0.01, -1.0, 0.2)
    nan = float("nan")
    assert verdict(ok, falling, t)[0] == "healthy"  # a significant fall to a level still high
    assert verdict({**ok, "tail": 0.7}, flat, t) == (
        "degraded", ("tail ratio 0.70 < 0.8, not falling significantly: slope -0.010 a "
                     "generation over 5 generations, t -1.0, p 0.2 ≥ 0.005",),
    )  # fmt: skip
    assert verdict({**ok, "tail": 0.7}, None, t)[1] == (
        "tail ratio 0.70 < 0.8, not falling significantly: too few generations for a trend",
    )
    assert verdict({**ok, "tail": 0.7}, Trend(5, -0.05, 0.01, -5.0, 0.003), t) == (
        "early-collapse", ("tail ratio 0.70 < 0.8 and falling: slope -0.050 a generation over 5 "
                           "generations, t -5.0, p 0.003 < 0.005", "precision holds"),
    )  # fmt: skip
    assert verdict({**ok, "tail": 0.7}, falling, t)[0] == "degraded"  # p 0.0077 ≥ 0.005
    low = {**ok, "tail": 0.4, "precision": 0.5}
    assert verdict(low, flat, t) == (
        "early-collapse", ("tail ratio 0.40 < floor 0.5", "precision ratio 0.50 also low"),
    )  # fmt: skip
    assert verdict({**low, "entropy": 0.5}, falling, t)[0] == "late-collapse"
    assert verdict({**ok, "tail": nan}, None, t)[0] == "healthy"
    with pytest.raises(ConfigError, match="tail floor"):
        Thresholds(tail_ratio=0.4, tail_floor=0.5)
    with pytest.raises(ConfigError, match="trend window"):
        Thresholds(trend_window=2)
    with pytest.raises(ConfigError, match="trend alpha"):
        Thresholds(trend_alpha=float("nan"))


def test_trend_is_the_least_squares_slope_test() -> None:
    """Slope and standard error are linregress's when the residuals outweigh the sampling
    floor; otherwise the sampling variance is used; p is Student's t with n − 2 df."""
    r = [0.9, 0.84, 0.86, 0.75, 0.74, 0.7]
    fit = stats.linregress(range(6), r)
    trend = tail_trend(r, [0.001] * 6)
    assert trend is not None
    assert (trend.slope, trend.se) == pytest.approx((fit.slope, fit.stderr))
    assert trend.p == pytest.approx(fit.pvalue / 2)  # one-sided, the slope being negative
    floored = tail_trend(r, [0.05] * 6)
    assert floored is not None
    assert floored.se == pytest.approx(0.05 / np.sqrt(17.5)) and floored.slope == trend.slope
    assert tail_trend([0.9, 0.8], [0.01] * 2) is None
    assert tail_trend([0.5, *r], [0.9, *[0.001] * 6], window=6) == trend  # the last 6 only
    assert tail_trend([0.9, float("nan"), 0.7], [0.01] * 3) is None


def test_a_flat_series_falls_significantly_at_the_nominal_rate() -> None:
    """Independent noise of any variance: the one-sided p is uniform, so p < α in a share α
    of windows (20,000 Gaussian windows of 5); the sampling floor only lowers that share."""
    rng = np.random.default_rng(0)

    def share(spread: float, floor: float) -> float:
        p = [tail_trend(0.7 + rng.normal(0, spread, 5), [floor] * 5) for _ in range(20_000)]
        return float(np.mean([t is not None and t.p < 0.05 for t in p]))

    assert share(0.01, 1e-6) == pytest.approx(0.05, abs=0.006)
    assert share(0.05, 1e-6) == pytest.approx(0.05, abs=0.006)
    assert share(0.01, 0.01) < 0.045


DEMO_ANCHORED = (1.0, 0.873, 0.845, 0.77, 0.72, 0.726, 0.71, 0.603, 0.706, 0.712, 0.632)
DEMO_SELF_CONSUMING = (1.0, 0.894, 0.782, 0.679, 0.6, 0.532, 0.488, 0.442, 0.409, 0.385, 0.352)
"""Tail ratios of two arms of `keel demo` (seed 0) before the trend test; standard errors
0.014–0.016."""


def series_verdicts(tail: tuple[float, ...], t: Thresholds) -> str:
    """The tail verdicts (h, d, E) of a series as the watch gives them, one letter a generation."""
    ok = {"precision": 1.0, "entropy": 1.0, "distinct_2": 1.0}
    out = ""
    for g, r in enumerate(tail):
        trend = tail_trend(tail[: g + 1], [0.015] * (g + 1), t.trend_window)
        v, _ = verdict({**ok, "tail": r}, trend, t)
        out += {"healthy": "h", "degraded": "d", "early-collapse": "E"}[v]
    return out


def test_a_plateau_with_dips_is_degraded_and_a_steady_decline_is_flagged_in_time() -> None:
    """The anchored arm used to flip early-collapse → healthy → early-collapse (generations 3,
    7, 10) on its plateau; now it is collapsing while it still falls (generation 4), then
    degraded but stable through its dips. The self-consuming arm is flagged at generation 3,
    its first tail ratio below 0.7."""
    t = Thresholds()
    assert series_verdicts(DEMO_ANCHORED, t) == "hhhdEdddddd"
    assert series_verdicts(DEMO_SELF_CONSUMING, t) == "hhdEEEEEEEE"


def test_fresh_human_samples_are_never_collapsing() -> None:
    """A stationary series: every generation a fresh human sample of the same size."""
    human = load_fortunes()
    rng = np.random.default_rng(1)
    pool = human[1::2]
    gens = [
        Generation(f"gen-{g}", tuple(pool[i] for i in rng.choice(len(pool), 300, replace=False)))
        for g in range(11)
    ]
    report = watch(gens, human[::2])
    assert {g.verdict for g in report.generations} == {"healthy"}
    assert report.first_collapse() is None and not report.fails("degraded")
    stable = replace(
        report, generations=tuple(replace(g, verdict="degraded") for g in report.generations)
    )
    assert stable.fails("degraded") and not stable.fails("early")  # the gates: docs/collapse.md


@settings(max_examples=30, deadline=None)
@given(
    st.floats(0.05, 0.95), st.floats(0.3, 0.99), st.integers(200, 3000), st.integers(0, 2**32 - 1)
)
def test_tail_ratio_se_matches_binomial_draws(p: float, b: float, n: int, seed: int) -> None:
    """The delta-method standard error is the spread of kept/human over binomial shares."""
    rng = np.random.default_rng(seed)
    kept, human = rng.binomial(n, p, 20_000) / n, rng.binomial(n, b, 20_000) / n
    assert tail_ratio_se(p, b, n) == pytest.approx(np.std(kept / human), rel=0.06)


def test_files_folders_and_origins(tmp_path: Path) -> None:
    (tmp_path / "gen-1.jsonl").write_text(
        '{"text": "a human line", "origin": "human"}\n{"text": "a model line", "origin": '
        '"synthetic"}\n\n{"text": "another", "origin": "synthetic"}\n{"text": "x"}\n'
    )
    (tmp_path / "gen-0.txt").write_text("one\n\ntwo\n")
    gens = read_generations([tmp_path])
    assert [g.name for g in gens] == ["gen-0", "gen-1"]
    assert gens[0].texts == ("one", "two") and gens[0].alpha is None
    assert gens[1].alpha == pytest.approx(1 / 3)
    (tmp_path / "bad.jsonl").write_text('{"text": 1}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1"):
        read_generations([tmp_path / "bad.jsonl"])
    with pytest.raises(InputError, match="no such file"):
        read_generations([tmp_path / "missing"])


def test_watch_needs_generations_and_a_reference() -> None:
    with pytest.raises(InputError):
        watch([], ["x"] * 50)
    with pytest.raises(InputError):
        watch([Generation("g", ("a",))], ["x"] * 5)


def test_a_watcher_fed_one_generation_at_a_time_equals_the_batch_watch() -> None:
    human = load_fortunes()[:600]
    gens = [Generation(f"g{i}", tuple(human[100 * i : 100 * i + 80])) for i in range(3)]
    batch = watch(gens, human[300:])
    w = Watcher.start(human[300:])
    for g in gens:
        w.add(g)
    assert w.report() == batch
