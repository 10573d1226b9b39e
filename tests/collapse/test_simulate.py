"""The simulator against closed forms, within Monte Carlo error, at parameters drawn by a seeded
generator (so that nothing is tuned to one setting): Gaussian MLE and unbiased refits, the
fresh-data fixed point, the categorical Gini-Simpson decay and the branching-process presence
of categories (support), OLS label regeneration."""

from __future__ import annotations

import numpy as np
import pytest

from keel.collapse import (
    Simulation,
    gaussian_expectations,
    gaussian_fixed_point,
    log_variance_moments,
    presence,
    simulate,
    zipf_law,
)
from keel.errors import ConfigError

PARAMS = np.random.default_rng(20240724)
Z = 4.5  # |mean - theory| < Z standard errors: a false alarm has probability ~1e-5 per point


def within_mc_error(sim: np.ndarray, theory: np.ndarray) -> None:
    mean = sim.mean(axis=0)
    se = sim.std(axis=0, ddof=1) / np.sqrt(len(sim))
    bad = np.abs(mean - theory) > Z * se + 1e-12
    assert not bad.any(), f"off at generations {np.flatnonzero(bad)}: {mean[bad]} vs {theory[bad]}"


@pytest.mark.parametrize("m", PARAMS.integers(5, 60, size=3).tolist())
def test_gaussian_mle_variance_decays_as_one_minus_one_over_m_to_the_n(m: int) -> None:
    cfg = Simulation(model="gaussian", generations=30, repetitions=4000, samples=m, seed=m)
    r = simulate(cfg)
    n = np.arange(31)
    within_mc_error(r.metrics["variance"], (1 - 1 / m) ** n)
    np.testing.assert_allclose(r.theory["variance"], (1 - 1 / m) ** n)


@pytest.mark.parametrize("m", PARAMS.integers(4, 40, size=2).tolist())
def test_gaussian_unbiased_keeps_the_mean_variance_while_log_spread_grows(m: int) -> None:
    cfg = Simulation(generations=25, repetitions=4000, samples=m, refit="unbiased", seed=m)
    r = simulate(cfg)
    within_mc_error(r.metrics["variance"][:, :8], np.ones(8))
    mean_log, var_log = log_variance_moments(m, 25, "unbiased")
    logs = np.log(r.metrics["variance"])
    within_mc_error(logs, mean_log)
    var_se = var_log * np.sqrt(2 / len(logs)) * 1.5  # se of a sample variance (near-normal)
    assert np.all(np.abs(logs.var(axis=0, ddof=1) - var_log) <= Z * var_se + 1e-12)
    assert var_log[-1] > 10 * var_log[1] > 0


@pytest.mark.parametrize("alpha", PARAMS.uniform(0.05, 0.6, size=2).round(2).tolist())
@pytest.mark.parametrize("refit", ["mle", "unbiased"])
def test_fresh_share_settles_at_the_fixed_point(alpha: float, refit: str) -> None:
    m = int(PARAMS.integers(10, 50))
    cfg = Simulation(
        loop="fresh", alpha=alpha, generations=60, repetitions=3000, samples=m,
        refit=refit, seed=m,  # type: ignore[arg-type]
    )  # fmt: skip
    r = simulate(cfg)
    s, _ = gaussian_expectations(cfg)
    within_mc_error(r.metrics["variance"], s)
    a = round(alpha * m) / m
    long, _ = gaussian_expectations(
        Simulation(loop="fresh", alpha=alpha, generations=3000, samples=m, refit=refit)  # type: ignore[arg-type]
    )
    assert long[-1] == pytest.approx(gaussian_fixed_point(a, m, refit), rel=1e-6)  # type: ignore[arg-type]
    assert r.mean("variance")[-10:].min() > 0.5 * gaussian_fixed_point(a, m, refit)  # type: ignore[arg-type]


def test_fixed_point_limits() -> None:
    assert gaussian_fixed_point(1.0, 50) == pytest.approx(1 - 1 / 50)
    assert gaussian_fixed_point(1.0, 50, "unbiased") == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        gaussian_fixed_point(0.0, 50)


def test_scheduled_alpha_to_zero_collapses_like_replace() -> None:
    cfg = Simulation(loop="fresh", alpha=0.5, alpha_decay=0.5, generations=80, samples=20,
                     repetitions=2000)  # fmt: skip
    s, _ = gaussian_expectations(cfg)
    within_mc_error(simulate(cfg).metrics["variance"], s)
    assert s[-1] < 0.25


@pytest.mark.parametrize("m", PARAMS.integers(20, 300, size=2).tolist())
def test_categorical_gini_simpson_decays_by_one_minus_one_over_m(m: int) -> None:
    k, s = int(PARAMS.integers(20, 200)), float(PARAMS.uniform(0.6, 1.6))
    cfg = Simulation(model="categorical", categories=k, zipf_exponent=s, samples=m,
                     generations=40, repetitions=2000, seed=m)  # fmt: skip
    r = simulate(cfg)
    p = zipf_law(k, s)
    expected = (1 - (p * p).sum()) * (1 - 1 / m) ** np.arange(41)
    within_mc_error(r.metrics["gini_simpson"], expected)
    assert np.all(np.diff(r.mean("support")) <= 0)


@pytest.mark.parametrize("alpha", [0.0, round(float(PARAMS.uniform(0.1, 0.4)), 2)])
def test_support_follows_the_branching_process_presence(alpha: float) -> None:
    """E[support] = Σ_k P(category k present): critical Galton-Watson decay under replace, a
    stationary level with fresh data (Poisson limit of the multinomial refit, M ≫ 1)."""
    k, m = int(PARAMS.integers(500, 2000)), int(PARAMS.integers(2000, 5000))
    cfg = Simulation(model="categorical", loop="fresh" if alpha else "replace", alpha=alpha,
                     categories=k, samples=m, generations=10, repetitions=800, seed=k)  # fmt: skip
    r = simulate(cfg)
    a = round(alpha * m) / m
    expected = presence(m * zipf_law(k, cfg.zipf_exponent), 10, a).sum(axis=0)
    np.testing.assert_allclose(r.theory["support"], expected)
    within_mc_error(r.metrics["support"], expected)


def test_presence_closed_forms() -> None:
    f = [0.0]
    for _ in range(6):
        f.append(np.exp(f[-1] - 1))  # f_n(0) of the critical Poisson(1) Galton-Watson process
    np.testing.assert_allclose(presence(3.0, 6), 1 - np.array([0.0, *f[1:]]) ** 3)
    np.testing.assert_allclose(presence(2.0, 4, sampled=True)[1:], presence(2.0, 5)[2:])
    stationary = presence(3.0, 200, 0.2)[-1]
    assert presence(3.0, 200)[-1] < 0.05
    assert 0.5 < stationary < 1 - np.exp(-3)


def test_regression_error_grows_linearly_under_replace_and_stays_bounded_under_accumulate() -> None:
    d = int(PARAMS.integers(2, 12))
    t = d + int(PARAMS.integers(8, 60))
    sigma = float(PARAMS.uniform(0.3, 2.0))
    unit = sigma**2 * d / (t - d - 1)
    n = np.arange(31)
    rep = simulate(Simulation(model="regression", loop="replace", samples=t, dim=d, noise=sigma,
                              generations=30, repetitions=3000))  # fmt: skip
    within_mc_error(rep.metrics["test_error"], unit * n)
    acc = simulate(Simulation(model="regression", loop="accumulate", samples=t, dim=d,
                              noise=sigma, generations=30, repetitions=3000))  # fmt: skip
    bound = unit * np.concatenate([[0], np.cumsum(1 / n[1:] ** 2)])
    within_mc_error(acc.metrics["test_error"], bound)
    assert acc.mean("test_error")[-1] < unit * np.pi**2 / 6 * 1.1


def test_fresh_and_accumulate_resist_collapse_in_every_model() -> None:
    for model in ("gaussian", "categorical", "mixture"):
        base = {"model": model, "generations": 30, "repetitions": 30, "samples": 60}
        key = {"gaussian": "variance", "categorical": "gini_simpson", "mixture": "variance"}[model]
        replace = simulate(Simulation(**base)).mean(key)[-1]  # type: ignore[arg-type]
        fresh = simulate(Simulation(loop="fresh", alpha=0.3, **base)).mean(key)[-1]  # type: ignore[arg-type]
        augment = simulate(Simulation(loop="augment", **base)).mean(key)[-1]  # type: ignore[arg-type]
        assert replace < fresh and replace < augment, model


def test_sampling_bias_and_typical_filter_speed_up_collapse() -> None:
    base = Simulation(generations=10, repetitions=500, samples=50)
    plain = simulate(base).mean("variance")[-1]
    cold = simulate(Simulation(generations=10, repetitions=500, samples=50, temperature=0.8))
    kept = simulate(Simulation(generations=10, repetitions=500, samples=50, keep=0.8))
    assert cold.mean("variance")[-1] < 0.2 * plain
    assert kept.mean("variance")[-1] < 0.2 * plain
    s, _ = gaussian_expectations(Simulation(generations=10, samples=50, temperature=0.8))
    within_mc_error(cold.metrics["variance"], s)


def test_seeded_and_json_ready() -> None:
    cfg = Simulation(model="categorical", generations=5, repetitions=10, categories=50)
    a, b = simulate(cfg), simulate(cfg)
    np.testing.assert_array_equal(a.metrics["entropy"], b.metrics["entropy"])
    doc = a.to_json()
    assert doc["generations"] == list(range(6))
    assert set(doc["metrics"]) == set(a.metrics)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [{"alpha": 0.2}, {"model": "nope"}, {"keep": 0.0}, {"model": "regression", "samples": 5}],
)
def test_invalid_settings_are_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Simulation(**bad)  # type: ignore[arg-type]


@pytest.mark.slow
def test_ngram_loop_loses_tails_and_fresh_data_slows_it() -> None:
    texts = tuple(load_texts())
    base = {"model": "ngram", "generations": 3, "repetitions": 1, "samples": 800, "corpus": texts}
    replace = simulate(Simulation(**base)).metrics  # type: ignore[arg-type]
    fresh = simulate(Simulation(loop="fresh", alpha=0.5, **base)).metrics  # type: ignore[arg-type]
    assert replace["support"][0, -1] < replace["support"][0, 1] < replace["support"][0, 0]
    assert fresh["support"][0, -1] > replace["support"][0, -1]


def load_texts() -> list[str]:
    from keel.text import load_fortunes

    return load_fortunes(("limerick", "murphy", "zippy", "startrek"))
