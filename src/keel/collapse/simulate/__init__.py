"""The recursive-training simulator: fit a model, sample from it, refit on the samples, repeat.

Generation 0 is the true (human) distribution; the model of generation n ≥ 1 is fitted on a
training set of `samples` points built by the loop from samples of model n - 1 (for n = 1 these
are human data):

- ``replace``: only the samples of model n - 1 (fully synthetic; Shumailov et al., Nature 2024);
- ``accumulate``: every training set so far plus the new samples (Gerstgrasser et al. 2024);
- ``fresh``: a share aₙ of fresh human data, the rest synthetic; aₙ = a·decayⁿ⁻¹ (aₙ → 0 when
  decay < 1; Bertrand et al., ICLR 2024; Alemohammad et al., ICLR 2024);
- ``augment``: the fixed human set of generation 1 plus the new samples.

Sampling bias: synthetic samples come from the model at temperature T (p^(1/T); a Gaussian's
variance scaled by T). The judge filter draws ⌈M/keep⌉ synthetic samples and keeps the M most
typical (highest model density). Every model is vectorised over repetitions.

One module per model (`gaussian`, `categorical`, `mixture`, `regression`, `ngram`), the closed
forms in `theory`, the experiment and its result in `config`, the driver `simulate` in `run`,
and in `pace` the sweep of loop speed against human review (`pace_sweep`: α = min(1, r/(s·M))).
"""

from typing import TYPE_CHECKING

from keel._lazy import lazy
from keel.collapse.simulate.choices import (
    LOOPS,
    MODELS,
    PACE_MAX,
    PACE_POINTS,
    Loop,
    Model,
    Refit,
)

if TYPE_CHECKING:
    from keel.collapse.simulate.categorical import CATEGORICAL_TAIL, zipf_law
    from keel.collapse.simulate.config import (
        MAX_VALUES,
        FloatArray,
        Progress,
        Simulation,
        SimulationResult,
    )
    from keel.collapse.simulate.gaussian import TAIL_Z
    from keel.collapse.simulate.mixture import Mixture, fit_mixture, true_mixture
    from keel.collapse.simulate.ngram import NGRAM_METRICS, ngram_generations, simulate_ngram
    from keel.collapse.simulate.pace import (
        PACE_METRICS,
        Estimate,
        PaceMetric,
        PacePoint,
        PaceResult,
        pace_alpha,
        pace_grid,
        pace_sweep,
    )
    from keel.collapse.simulate.run import simulate
    from keel.collapse.simulate.theory import (
        gaussian_expectations,
        gaussian_fixed_point,
        log_variance_moments,
        presence,
        theory,
    )

__all__ = [
    "CATEGORICAL_TAIL",
    "LOOPS",
    "MAX_VALUES",
    "MODELS",
    "NGRAM_METRICS",
    "PACE_MAX",
    "PACE_METRICS",
    "PACE_POINTS",
    "TAIL_Z",
    "Estimate",
    "FloatArray",
    "Loop",
    "Mixture",
    "Model",
    "PaceMetric",
    "PacePoint",
    "PaceResult",
    "Progress",
    "Refit",
    "Simulation",
    "SimulationResult",
    "fit_mixture",
    "gaussian_expectations",
    "gaussian_fixed_point",
    "log_variance_moments",
    "ngram_generations",
    "pace_alpha",
    "pace_grid",
    "pace_sweep",
    "presence",
    "simulate",
    "simulate_ngram",
    "theory",
    "true_mixture",
    "zipf_law",
]

lazy(
    __name__,
    {
        "categorical": ("CATEGORICAL_TAIL", "zipf_law"),
        "config": ("MAX_VALUES", "FloatArray", "Progress", "Simulation", "SimulationResult"),
        "gaussian": ("TAIL_Z",),
        "mixture": ("Mixture", "fit_mixture", "true_mixture"),
        "ngram": ("NGRAM_METRICS", "ngram_generations", "simulate_ngram"),
        "pace": (
            "PACE_METRICS",
            "Estimate",
            "PaceMetric",
            "PacePoint",
            "PaceResult",
            "pace_alpha",
            "pace_grid",
            "pace_sweep",
        ),
        "run": ("simulate",),
        "theory": (
            "gaussian_expectations",
            "gaussian_fixed_point",
            "log_variance_moments",
            "presence",
            "theory",
        ),
    },
)
