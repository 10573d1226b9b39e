"""Collapse watch and recursive-training simulator: is the data losing its tails or its diversity?

`measure` computes diversity, tail and distance metrics of a corpus against a human reference;
`watch` turns them into a verdict per generation; `simulate` runs the dynamics of recursive
training (Gaussian, mixture, Zipf categorical, regression, n-gram text) against closed forms.
"""

from typing import TYPE_CHECKING

from keel._lazy import lazy

if TYPE_CHECKING:
    from keel.collapse.embed import Embedder, HashingEmbedder, SentenceEmbedder, embedder
    from keel.collapse.metrics import (
        CollapseMetrics,
        Corpus,
        Reference,
        distinct_n,
        entropy,
        gini_simpson,
        js_divergence,
        kl_divergence,
        knn_precision_recall,
        measure,
        self_bleu,
        vendi_score,
    )
    from keel.collapse.settings import MetricsConfig, Thresholds
    from keel.collapse.simulate import (
        Simulation,
        SimulationResult,
        gaussian_expectations,
        gaussian_fixed_point,
        log_variance_moments,
        presence,
        simulate,
        theory,
        zipf_law,
    )
    from keel.collapse.watch import Generation, Watcher, WatchReport, watch

__all__ = [
    "CollapseMetrics",
    "Corpus",
    "Embedder",
    "Generation",
    "HashingEmbedder",
    "MetricsConfig",
    "Reference",
    "SentenceEmbedder",
    "Simulation",
    "SimulationResult",
    "Thresholds",
    "WatchReport",
    "Watcher",
    "distinct_n",
    "embedder",
    "entropy",
    "gaussian_expectations",
    "gaussian_fixed_point",
    "gini_simpson",
    "js_divergence",
    "kl_divergence",
    "knn_precision_recall",
    "log_variance_moments",
    "measure",
    "presence",
    "self_bleu",
    "simulate",
    "theory",
    "vendi_score",
    "watch",
    "zipf_law",
]

lazy(
    __name__,
    {
        "embed": ("Embedder", "HashingEmbedder", "SentenceEmbedder", "embedder"),
        "metrics": (
            "CollapseMetrics",
            "Corpus",
            "Reference",
            "distinct_n",
            "entropy",
            "gini_simpson",
            "js_divergence",
            "kl_divergence",
            "knn_precision_recall",
            "measure",
            "self_bleu",
            "vendi_score",
        ),
        "settings": ("MetricsConfig", "Thresholds"),
        "simulate": (
            "Simulation",
            "SimulationResult",
            "gaussian_expectations",
            "gaussian_fixed_point",
            "log_variance_moments",
            "presence",
            "simulate",
            "theory",
            "zipf_law",
        ),
        "watch": ("Generation", "Watcher", "WatchReport", "watch"),
    },
)
