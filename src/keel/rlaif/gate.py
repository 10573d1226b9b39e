"""The Goodhart gate: stop policy optimisation when the proxy reward is being gamed.

A policy trained on a proxy reward (a reward model, an AI judge) can raise the proxy while the
quality the proxy stands for falls ("when a measure becomes a target, it ceases to be a good
measure": Goodhart 1975; Gao, Schulman & Hilton 2023 measure it for reward models as the
policy moves away from its reference in KL). The gate watches a held-out gold reward (expert
anchors, or a demo's ground truth) beside the proxy and the KL to the reference, and stops
when, over the last W steps,

    slope(gold) ≤ −δ_gold   and   slope(proxy) > δ_proxy   and   slope(KL) > δ_KL,

each slope the ordinary least-squares slope b = Σ(t − t̄)(y_t − ȳ) / Σ(t − t̄)² of the
per-step means y_t on the step index t: gold falling while the proxy and the distance from the
reference rise is the signature of reward hacking. A healthy run, where gold follows the
proxy, is never stopped by it; a run whose gold wanders without the proxy rising is not
stopped either (that is noise, or a bad proxy, not hacking).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keel.errors import ConfigError


def slope(values: Sequence[float]) -> float:
    """Least-squares slope of `values` on their index 0, 1, …: Σ(t − t̄)(y − ȳ) / Σ(t − t̄)²."""
    n = len(values)
    if n < 2:
        raise ConfigError(f"a slope needs at least 2 values, got {n}: widen the gate's window")
    t_mean = (n - 1) / 2
    y_mean = sum(values) / n
    num = sum((t - t_mean) * (y - y_mean) for t, y in enumerate(values))
    den = sum((t - t_mean) ** 2 for t in range(n))
    return num / den


@dataclass(frozen=True, slots=True)
class GateConfig:
    """The gate's window W (steps) and thresholds on the per-step slopes (module docstring)."""

    window: int = 8
    min_gold_drop: float = 0.002
    """δ_gold: gold must fall by at least this much per step."""
    min_proxy_rise: float = 0.0
    """δ_proxy: the proxy must rise by more than this per step (0: any rise)."""
    min_kl_rise: float = 0.0
    """δ_KL: the KL to the reference must rise by more than this per step (0: any rise)."""

    def __post_init__(self) -> None:
        if self.window < 3:
            raise ConfigError(f"the gate's window must be at least 3 steps, got {self.window}")
        if self.min_gold_drop < 0 or self.min_proxy_rise < 0 or self.min_kl_rise < 0:
            raise ConfigError(
                "the gate's thresholds are magnitudes: give min_gold_drop, min_proxy_rise and "
                f"min_kl_rise >= 0 (got {self.min_gold_drop}, {self.min_proxy_rise}, "
                f"{self.min_kl_rise})"
            )


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The gate's decision after `step` (0-based): stop or go, why, and the slopes it read
    (None before the window is full)."""

    stop: bool
    step: int
    reason: str
    gold_slope: float | None = None
    proxy_slope: float | None = None
    kl_slope: float | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "stop": self.stop,
            "step": self.step,
            "reason": self.reason,
            "gold_slope": self.gold_slope,
            "proxy_slope": self.proxy_slope,
            "kl_slope": self.kl_slope,
        }


def check_gate(
    gold: Sequence[float],
    proxy: Sequence[float],
    kl: Sequence[float],
    config: GateConfig | None = None,
) -> GateDecision:
    """The gate's decision on the per-step means so far (one value per step, all three alike)."""
    cfg = config or GateConfig()
    n = len(gold)
    if len(proxy) != n or len(kl) != n:
        raise ConfigError(
            f"the gate needs one gold, proxy and KL value per step; got {n}, {len(proxy)} and "
            f"{len(kl)}"
        )
    step = n - 1
    if n < cfg.window:
        return GateDecision(False, step, f"watching: {n} of {cfg.window} steps in the window")
    w = cfg.window
    g, p, k = slope(gold[-w:]), slope(proxy[-w:]), slope(kl[-w:])
    hacked = g <= -cfg.min_gold_drop and p > cfg.min_proxy_rise and k > cfg.min_kl_rise
    where = f"over steps {n - w}-{step}"
    if hacked:
        reason = (
            f"reward hacking {where}: gold falls {g:+.4f}/step while the proxy rises "
            f"{p:+.4f}/step and the KL to the reference rises {k:+.4f}/step; stopped"
        )
    else:
        reason = f"healthy {where}: gold {g:+.4f}/step, proxy {p:+.4f}/step, KL {k:+.4f}/step"
    return GateDecision(hacked, step, reason, g, p, k)
