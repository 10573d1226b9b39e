"""The settings of the collapse metrics and of the watch: validated values, light to import
(the command line reads its defaults here before it loads numpy)."""

from __future__ import annotations

from dataclasses import dataclass

from keel.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """Knobs of `measure`; the defaults are documented in docs/collapse.md."""

    tail_quantile: float = 0.5
    """Rare reference types: count ≤ this quantile of the eligible types' counts."""
    tail_min_count: float = 3.0
    """Eligible types: expected in ≥ this many texts of a same-size human sample (≥ 95% kept)."""
    kl_smoothing: float = 0.5
    bleu_sample: int = 1000
    """Texts drawn for self-BLEU (each against the other sampled texts)."""
    embed_sample: int = 2000
    """Texts drawn per side for Vendi and k-NN precision/recall."""
    knn_k: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.tail_quantile <= 1.0:
            raise ConfigError(f"tail_quantile must be in [0, 1], got {self.tail_quantile}")
        if not self.tail_min_count > 0:
            raise ConfigError(f"tail_min_count must be > 0, got {self.tail_min_count}")
        if not self.kl_smoothing > 0:
            raise ConfigError(f"kl_smoothing must be > 0, got {self.kl_smoothing}")
        if self.bleu_sample < 2 or self.embed_sample < 2 or self.knn_k < 1:
            raise ConfigError("bleu_sample and embed_sample must be ≥ 2 and knn_k ≥ 1")


WATCH_METRICS = MetricsConfig(bleu_sample=300, embed_sample=500)
"""The watch's metric settings, the same for the loop, the demo and `keel watch`: self-BLEU on
300 sampled texts, Vendi and k-NN on 500 (the verdict's tail, entropy and distinct-2 are exact)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Alarm levels on the ratios generation / same-size human sample (docs/collapse.md)."""

    tail_ratio: float = 0.8
    """Below this the tail is degraded, and collapsing (early alarm) while falling significantly."""
    tail_floor: float = 0.5
    """Early alarm when the tail ratio is below this, whatever the trend."""
    trend_window: int = 5
    """Generations (the latest ones) the tail ratio's slope is fitted over."""
    trend_alpha: float = 0.005
    """A fall is significant when the slope's one-sided p-value is below this."""
    precision_ratio: float = 0.8
    entropy_ratio: float = 0.9
    distinct_ratio: float = 0.7

    def __post_init__(self) -> None:
        if not 0 <= self.tail_floor <= self.tail_ratio:
            raise ConfigError(
                f"need 0 ≤ tail floor ≤ tail ratio, got floor {self.tail_floor} "
                f"and ratio {self.tail_ratio}"
            )
        if not self.trend_window >= 3:
            raise ConfigError(f"the trend window must be ≥ 3 generations, got {self.trend_window}")
        if not 0 < self.trend_alpha < 0.5:
            raise ConfigError(f"the trend alpha must be in (0, 0.5), got {self.trend_alpha}")
        for name in ("precision_ratio", "entropy_ratio", "distinct_ratio"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name} must be ≥ 0, got {getattr(self, name)}")
