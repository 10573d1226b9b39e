"""`simulate`: run every repetition of a `Simulation` with its model's simulator."""

from __future__ import annotations

import numpy as np

from keel.collapse.simulate.categorical import simulate_categorical
from keel.collapse.simulate.config import Progress, Simulation, SimulationResult
from keel.collapse.simulate.gaussian import simulate_gaussian
from keel.collapse.simulate.mixture import simulate_mixture
from keel.collapse.simulate.ngram import simulate_ngram
from keel.collapse.simulate.regression import simulate_regression
from keel.collapse.simulate.theory import theory


def simulate(
    config: Simulation, progress: Progress | None = None, *, keep_texts: bool = False
) -> SimulationResult:
    """Run every repetition of `config`; `progress(done, total)` is called once per generation."""
    rng = np.random.default_rng(config.seed)
    run = {
        "gaussian": simulate_gaussian,
        "mixture": simulate_mixture,
        "categorical": simulate_categorical,
        "regression": simulate_regression,
    }.get(config.model)
    tick = progress or (lambda done, total: None)
    if run is None:
        metrics, texts = simulate_ngram(config, rng, tick, keep_texts)
        return SimulationResult(config, metrics, {}, tuple(tuple(t) for t in texts))
    metrics = run(config, rng, tick)
    return SimulationResult(config, metrics, theory(config))
