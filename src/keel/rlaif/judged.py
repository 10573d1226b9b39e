"""Rewards read from judges, no reward model in between (d-RLAIF: Lee et al. 2023, "RLAIF vs.
RLHF", arXiv 2309.00267, §2.2 "direct RLAIF": the LLM scores each response and the score is
the reward).

Two sources: any keel judge's score on the full text (prompt then completion; the offline
judges' conformal p-values, or an `LLMJudge`'s rubric score through a cached `ServedModel`);
and the same score calibrated on expert anchors by histogram binning (Zadrozny & Elkan 2001,
"Obtaining calibrated probability estimates from decision trees and naive Bayesian
classifiers", ICML): the scores are cut into B equal bins (b/B, (b+1)/B], the first closed at 0,
as `keel.judges`' calibration curve cuts them, and a score's calibrated reward is the share of
anchors in its bin that the experts accepted, shrunk towards the anchors' overall share by
(k·ȳ + Σy_b)/(k + n_b) so that a bin of two anchors does not jump to 0 or 1 (k pseudo-anchors,
a Beta prior centred on ȳ). The reward is then the judge's score read as P(an expert accepts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from keel.errors import ConfigError, InputError
from keel.judges import Judge, JudgeResult, wilson
from keel.rlaif.policy import RewardFn


def _full_texts(prompts: Sequence[str], completions: Sequence[str]) -> list[str]:
    if len(prompts) != len(completions):
        raise InputError(
            f"{len(prompts)} prompts for {len(completions)} completions: give one prompt per "
            "completion"
        )
    return [f"{p} {c}".strip() for p, c in zip(prompts, completions, strict=True)]


def _scores(results: Sequence[JudgeResult], judge: str) -> list[float]:
    out = []
    for i, r in enumerate(results):
        if r.score is None or not math.isfinite(r.score):
            raise InputError(
                f"judge {judge} gave no score for completion {i} ({r.error or r.rationale!r}): "
                "a reward needs a score for every completion; fix the judge's prompt or model"
            )
        out.append(float(r.score))
    return out


def judge_reward(judge: Judge) -> RewardFn:
    """The judge's score of prompt + completion as the reward (d-RLAIF)."""

    def reward(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        return _scores(judge.judge(_full_texts(prompts, completions)), judge.id)

    return reward


@dataclass(frozen=True, slots=True)
class AnchorCalibration:
    """Per-bin expert acceptance of a judge's scores on anchors (module docstring)."""

    bins: int
    counts: tuple[int, ...]
    accepted: tuple[float, ...]
    """Shrunk share of anchors accepted per bin: the calibrated reward of a score there."""
    overall: float
    prior: float

    def __call__(self, score: float) -> float:
        """The calibrated reward of one score in [0, 1]."""
        return self.accepted[_bin(score, self.bins)]

    def to_json(self) -> dict[str, object]:
        est = wilson(self.overall * sum(self.counts), sum(self.counts))
        return {
            "bins": self.bins,
            "counts": list(self.counts),
            "accepted": list(self.accepted),
            "overall": self.overall,
            "overall_interval": [est.lo, est.hi],
            "prior_anchors": self.prior,
        }


def _bin(score: float, bins: int) -> int:
    if not 0.0 <= score <= 1.0:
        raise InputError(f"score {score} is outside [0, 1]: calibrate scores on that scale")
    return max(0, min(bins - 1, math.ceil(score * bins) - 1))


def calibrate_on_anchors(
    scores: Sequence[float], accepted: Sequence[bool], *, bins: int = 5, prior: float = 2.0
) -> AnchorCalibration:
    """Fit the binning from a judge's scores on anchors and the experts' accept/reject."""
    if len(scores) != len(accepted):
        raise InputError(f"{len(scores)} scores for {len(accepted)} expert labels: pair them")
    if len(scores) < 2 * bins:
        raise InputError(
            f"{len(scores)} anchors for {bins} bins: label at least {2 * bins} anchors or use "
            "fewer bins"
        )
    if bins < 1 or prior < 0:
        raise ConfigError(f"need bins >= 1 and prior >= 0, got {bins} and {prior}")
    counts = [0] * bins
    yes = [0] * bins
    for s, a in zip(scores, accepted, strict=True):
        b = _bin(s, bins)
        counts[b] += 1
        yes[b] += int(a)
    overall = sum(yes) / len(scores)
    shares = tuple(
        (prior * overall + y) / (prior + n) if prior + n > 0 else overall
        for y, n in zip(yes, counts, strict=True)
    )
    return AnchorCalibration(bins, tuple(counts), shares, overall, prior)


def calibrated_reward(judge: Judge, calibration: AnchorCalibration) -> RewardFn:
    """The judge's score mapped through the anchors' calibration: P(an expert accepts)."""
    raw = judge_reward(judge)

    def reward(prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        return [calibration(s) for s in raw(prompts, completions)]

    return reward
