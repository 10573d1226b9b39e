"""Speed against anchoring: the fresh share a loop's pace leaves it, α = min(1, r/(s·M)), and the
tail it keeps at each pace, against the branching-process and Gaussian closed forms."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from keel.collapse.simulate import (
    PACE_MAX,
    Simulation,
    pace_alpha,
    pace_grid,
    pace_sweep,
    presence,
    simulate,
    zipf_law,
)
from keel.collapse.simulate.categorical import tail_categories
from keel.errors import ConfigError
from keel_cli import Cli

Z = 4.5  # as tests/collapse/test_simulate.py: a false alarm has probability ~1e-5 per point
ZIPF = Simulation(model="categorical", categories=300, samples=600, generations=12,
                  repetitions=300, seed=7)  # fmt: skip


@pytest.mark.parametrize(
    ("review", "speed", "samples", "alpha"),
    [(600.0, 2.0, 3000, 0.1), (10_000.0, 1.0, 3000, 1.0), (3000.0, 1.0, 3000, 1.0),
     (1.0, 1.0, 100, 0.01), (1.0, 10.0, 100, 0.001)],
)  # fmt: skip
def test_alpha_is_the_reviewed_share_capped_at_one(
    review: float, speed: float, samples: int, alpha: float
) -> None:
    assert pace_alpha(speed / review, samples) == pytest.approx(alpha)


def test_the_default_grid_runs_from_alpha_one_to_one_item_a_generation() -> None:
    grid = pace_grid(3000)
    assert len(grid) == 9 and grid[0] == pytest.approx(1 / 3000) and grid[-1] == PACE_MAX
    assert pace_alpha(grid[0], 3000) == 1.0 and pace_alpha(grid[-1], 3000) == 1 / 3000
    steps = np.diff(np.log(grid))
    np.testing.assert_allclose(steps, steps[0])
    assert pace_grid(100, 3, 0.1, 10.0) == pytest.approx((0.1, 1.0, 10.0))
    assert pace_grid(100, 1, 0.5) == (0.5,)


@pytest.fixture(scope="module")
def zipf_sweep() -> object:
    return pace_sweep(ZIPF, pace_grid(ZIPF.samples, 7))


def test_points_carry_the_anchors_and_fresh_items_the_loop_trains_on(zipf_sweep: object) -> None:
    from keel.collapse.simulate import PaceResult

    assert isinstance(zipf_sweep, PaceResult)
    for p in zipf_sweep.points:
        assert p.anchors == pytest.approx(1 / p.ratio)
        assert p.alpha == pytest.approx(min(1.0, p.anchors / ZIPF.samples))
        assert p.fresh == round(p.alpha * ZIPF.samples)
    assert zipf_sweep.points[0].fresh == ZIPF.samples


def test_the_tail_falls_as_the_loop_outruns_review(zipf_sweep: object) -> None:
    """Weakly decreasing within noise, at the fresh-data level where α = 1, far below it where
    a generation gets one verified item."""
    from keel.collapse.simulate import PaceResult

    assert isinstance(zipf_sweep, PaceResult)
    tails = [p.tail for p in zipf_sweep.points]
    for a, b in itertools.pairwise(tails):
        assert b.mean <= a.mean + 3 * math.hypot(a.stderr, b.stderr)
    first, fresh = tails[0], zipf_sweep.fresh
    assert abs(first.mean - fresh.mean) <= Z * math.hypot(first.stderr, fresh.stderr)
    assert zipf_sweep.kept()[0] == pytest.approx(1.0, abs=0.03)
    assert zipf_sweep.kept()[-1] < 0.5
    assert first.low < first.mean < first.high


def test_categorical_tail_agrees_with_the_branching_process(zipf_sweep: object) -> None:
    """E[tail retention] = mean over the tail categories of P(present), `presence(M·p, n, a)`
    with a = round(α·M)/M, within Monte Carlo error at every pace."""
    from keel.collapse.simulate import PaceResult

    assert isinstance(zipf_sweep, PaceResult)
    truth = zipf_law(ZIPF.categories, ZIPF.zipf_exponent)
    tail = tail_categories(truth)
    for p in zipf_sweep.points:
        a = p.fresh / ZIPF.samples
        expected = presence(ZIPF.samples * truth[tail], ZIPF.generations, a)[:, -1].mean()
        assert p.tail.theory == pytest.approx(expected)
        assert abs(p.tail.mean - expected) <= Z * p.tail.stderr, (p.ratio, p.tail, expected)
    fresh = presence(ZIPF.samples * truth[tail], 1)[:, 1].mean()
    assert zipf_sweep.fresh.theory == pytest.approx(fresh)
    assert abs(zipf_sweep.fresh.mean - fresh) <= Z * zipf_sweep.fresh.stderr


def test_the_categorical_simulator_reports_tail_retention_with_its_closed_form() -> None:
    cfg = Simulation(model="categorical", categories=500, samples=2000, generations=8,
                     repetitions=400, seed=3)  # fmt: skip
    r = simulate(cfg)
    x = r.metrics["tail_retention"]
    assert np.all(x[:, 0] == 1.0)
    se = x.std(axis=0, ddof=1) / math.sqrt(len(x))
    assert np.all(np.abs(x.mean(axis=0) - r.theory["tail_retention"]) <= Z * se + 1e-12)


def test_gaussian_variance_ratio_agrees_with_its_closed_form() -> None:
    base = Simulation(model="gaussian", samples=20, generations=15, repetitions=3000, seed=11)
    result = pace_sweep(base, [0.01, 0.1, 0.5])
    assert [p.alpha for p in result.points] == pytest.approx([1.0, 0.5, 0.1])
    for p in result.points:
        assert p.tail.theory is not None
        assert abs(p.tail.mean - p.tail.theory) <= Z * p.tail.stderr
    assert result.points[0].tail.theory == pytest.approx(1 - 1 / 20)
    assert result.points[-1].tail.mean < result.points[0].tail.mean


def test_a_model_without_a_closed_form_still_sweeps() -> None:
    base = Simulation(model="mixture", samples=100, generations=3, repetitions=20)
    result = pace_sweep(base, [0.01, 1.0])
    assert all(p.tail.theory is None for p in result.points)
    assert result.metric.name == "tail_mass" and math.isfinite(result.points[0].tail.mean)
    doc = result.to_json()
    assert doc["points"][0]["theory"] is None and doc["config"]["loop"] == "fresh"  # type: ignore[index]


def test_progress_counts_every_generation_of_every_point() -> None:
    seen: list[tuple[int, int]] = []
    pace_sweep(replace_sizes(ZIPF), [0.1, 1.0], lambda done, total: seen.append((done, total)))
    assert seen[-1] == (2 * 3, 2 * 3) and len(seen) == 6
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def replace_sizes(cfg: Simulation) -> Simulation:
    from dataclasses import replace

    return replace(cfg, generations=3, repetitions=5)


@pytest.mark.parametrize(
    ("ratios", "message"),
    [([0.1, float("nan")], "nan (position 2)"), ([0.0], "0.0 (position 1)"),
     ([-1.0, 1.0], "-1.0 (position 1)"), ([math.inf], "inf"), ([], "give 1 to")],
)  # fmt: skip
def test_bad_ratios_are_a_config_error(ratios: list[float], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        pace_sweep(replace_sizes(ZIPF), ratios)


@pytest.mark.parametrize(
    ("base", "message"),
    [(Simulation(model="regression"), "no tail measure"),
     (Simulation(loop="accumulate"), "sets α from the pace"),
     (Simulation(loop="fresh", alpha=0.2), "sets α from the pace"),
     (Simulation(generations=1), "generations ≥ 2")],
)  # fmt: skip
def test_settings_the_sweep_cannot_honour_are_refused(base: Simulation, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        pace_sweep(base, [0.1])
    with pytest.raises(ConfigError, match="below the smallest"):
        pace_grid(100, 5, 1.0, 0.1)


SMALL = ("simulate", "--model", "categorical", "--pace", "--categories", "100",
         "--samples", "200", "--generations", "5", "--repetitions", "30")  # fmt: skip


def test_cli_pace_json_and_table(cli: Cli) -> None:
    doc = cli.json(*SMALL, "--pace-points", "5")
    assert doc["metric"] == "tail_retention" and len(doc["points"]) == 5
    first = doc["points"][0]
    assert first["alpha"] == 1.0 and first["fresh"] == 200 and first["ratio"] == 1 / 200
    assert first["ci95"][0] < first["mean"] < first["ci95"][1] and first["theory"] is not None
    assert doc["points"][-1]["ratio"] == pytest.approx(1.0)
    out = cli.ok(*SMALL, "--pace-ratios", "0.005,0.05,0.5")
    assert "tail retention at generation 5" in out and "theory" in out
    assert "0.005" in out and "0.05" in out and "0.5" in out


def test_cli_pace_html_has_a_log_x_axis(cli: Cli, tmp_path: Path) -> None:
    html = tmp_path / "pace.html"
    cli.ok(*SMALL, "--pace-min", "0.001", "--pace-max", "10", "--html", str(html))
    svg = html.read_text().split("<svg", 1)[1]
    assert "log scale" in svg
    ticks = {
        label: float(x)
        for x, label in re.findall(
            r'<text x="([\d.]+)" y="\d+" text-anchor="middle">([^<]+)</', svg
        )
    }
    xs = [ticks[t] for t in ("0.001", "0.01", "0.1", "1", "10")]
    np.testing.assert_allclose(np.diff(xs), np.diff(xs)[0], atol=0.2)  # equal steps a decade


@pytest.mark.parametrize(
    "args",
    [("--pace-ratios", "0.1,nan"), ("--pace-ratios", "0,1"), ("--pace-ratios", "-2"),
     ("--pace-ratios", "0.1,x"), ("--pace-min", "-1"), ("--pace-points", "0")],
)  # fmt: skip
def test_cli_bad_ratios_exit_2_with_one_line(cli: Cli, args: tuple[str, ...]) -> None:
    code, _, err = cli(*SMALL, *args)
    assert code == 2
    assert err.strip().startswith("error:") and len(err.strip().splitlines()) == 1, err


def test_cli_pace_options_need_pace(cli: Cli) -> None:
    code, _, err = cli("simulate", "--pace-ratios", "0.1")
    assert code == 2 and "need --pace" in err
    code, _, err = cli(*SMALL, "--pace-ratios", "0.1", "--pace-max", "2")
    assert code == 2 and "not both" in err
    doc = json.loads(cli.ok(*SMALL, "--pace-points", "1", "--json"))
    assert len(doc["points"]) == 1
