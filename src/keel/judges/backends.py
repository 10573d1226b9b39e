"""The judges that run: an LLM judge over a served model with a rubric, and offline judges.

Every judge answers accept or reject with a score in [0, 1] and a rationale. The offline judges
need no service: each computes a statistic of a text and its conformal p-value against held-out
human texts (Vovk, Gammerman & Shafer, "Algorithmic Learning in a Random World", 2005),

    p(x) = (1 + #{i : s_i ≤ s(x)}) / (n + 1),

where s_1 … s_n are the statistic on n human calibration texts; low statistics are un-human.
A text is accepted when p(x) ≥ α. For a human text exchangeable with the calibration texts,
P(p ≤ α) ≤ α, so α is the share of genuine human text the judge wrongly rejects, at most.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from keel.errors import ConfigError
from keel.judges.base import JudgeResult, Rubric, parse_judgement
from keel.models import ChatRequest, NGramModel, Sampling, ServedModel
from keel.records import JudgeKind
from keel.text import tokenize

FloatArray = npt.NDArray[np.float64]
JUDGE_PROMPT = """You judge texts for a training set. The rubric:

{rubric}

Judge the text in the user message against the rubric. Answer with one JSON object and nothing
else: {{"verdict": "accept" or "reject", "score": a number from 0 to 1 (how well the text meets
the rubric), "rationale": "one or two sentences"}}."""


@dataclass(frozen=True, slots=True)
class LLMJudge:
    """A served model asked to judge each text against a rubric (`JUDGE_PROMPT`)."""

    served: ServedModel
    criteria: Rubric
    name: str | None = None
    """The judge id (default: llm:<model>)."""
    sampling: Sampling = field(default_factory=lambda: Sampling(temperature=0.0, max_tokens=512))
    kind: JudgeKind = "ai"

    @property
    def id(self) -> str:
        return self.name or f"llm:{self.served.model}"

    @property
    def rubric(self) -> str | None:
        return self.criteria.ref

    def judge(self, texts: Sequence[str]) -> list[JudgeResult]:
        system = JUDGE_PROMPT.format(rubric=self.criteria.text)
        reqs = [ChatRequest.of(t, system=system, sampling=self.sampling) for t in texts]
        return [parse_judgement(c.text) for c in self.served.complete(reqs)]


# -- offline judges ----------------------------------------------------------------------------
def conformal_p_values(calibration: FloatArray, values: FloatArray) -> FloatArray:
    """p = (1 + #{calibration ≤ value}) / (n + 1) for each value (the module docstring)."""
    ranked = np.sort(calibration)
    below = np.searchsorted(ranked, values, side="right")
    return np.asarray((1.0 + below) / (len(ranked) + 1.0), dtype=np.float64)


Statistic = Callable[[Sequence[str]], FloatArray]


class Scorer(Protocol):
    """A language model that gives ln p of each token of each text (and of its end marker)."""

    def token_log_probs(self, texts: Sequence[str]) -> list[FloatArray]: ...


@dataclass(frozen=True, slots=True)
class MeanLogLikelihood:
    """L(x) = (1/T) Σ_t ln p(w_t | h_t) over the T tokens of x and its end, under `model`."""

    model: Scorer
    name: str = "mean log-likelihood per token"

    def __call__(self, texts: Sequence[str]) -> FloatArray:
        return np.array([float(lp.mean()) for lp in self.model.token_log_probs(texts)])


@dataclass(frozen=True, slots=True)
class DistinctN:
    """distinct-n(x) = distinct n-grams / n-grams of one text (Li et al., NAACL 2016); 1 when
    the text has fewer than n tokens. Low values are repetitive, degenerate text."""

    n: int = 3
    name: str = "distinct-3"

    def __call__(self, texts: Sequence[str]) -> FloatArray:
        out = np.ones(len(texts))
        for i, text in enumerate(texts):
            toks = tokenize(text)
            grams = list(zip(*(toks[k:] for k in range(self.n)), strict=False))
            if grams:
                out[i] = len(set(grams)) / len(grams)
        return out


@dataclass(frozen=True, slots=True)
class CalibratedJudge:
    """An offline judge: a statistic's conformal p-value against human texts is the score;
    accept when it is at least `alpha` (the module docstring)."""

    id: str
    statistic: Statistic
    statistic_name: str
    calibration: FloatArray
    alpha: float = 0.05
    kind: JudgeKind = "ai"
    rubric: str | None = None

    def judge(self, texts: Sequence[str]) -> list[JudgeResult]:
        values = self.statistic(texts)
        pvals = conformal_p_values(self.calibration, values)
        n = len(self.calibration)
        return [
            JudgeResult(
                "accept" if p >= self.alpha else "reject",
                float(p),
                f"{self.statistic_name} {v:.3f}; conformal p-value {p:.3f} against {n} "
                f"held-out human texts (accept at {self.alpha:g} or more)",
            )
            for v, p in zip(values.tolist(), pvals.tolist(), strict=True)
        ]


def calibrated(
    judge_id: str, statistic: Statistic, name: str, texts: Sequence[str], alpha: float
) -> CalibratedJudge:
    """An offline judge of `statistic` calibrated on the human `texts`."""
    if not 0 < alpha < 1:
        raise ConfigError(f"the acceptance threshold alpha must be in (0, 1), got {alpha}")
    n = len(texts)
    if 1 / (n + 1) > alpha:
        raise ConfigError(
            f"{judge_id}: {n} human calibration texts give p-values of at least 1/{n + 1}, "
            f"above alpha {alpha:g}, so nothing could be rejected: add human texts "
            f"(at least {math.ceil(1 / alpha) - 1}) or raise the threshold"
        )
    return CalibratedJudge(judge_id, statistic, name, np.sort(statistic(texts)), alpha)


def likelihood_judge(
    human: Sequence[str],
    *,
    order: int = 3,
    calibration_share: float = 0.2,
    alpha: float = 0.05,
    seed: int = 0,
    judge_id: str | None = None,
) -> CalibratedJudge:
    """Train an n-gram model on verified human texts and calibrate L(x) on a held-out share."""
    if not 0 < calibration_share < 1:
        raise ConfigError(f"calibration_share must be in (0, 1), got {calibration_share}")
    if len(human) < 2:
        raise ConfigError(f"the likelihood judge needs human texts to train on; got {len(human)}")
    order_ = np.random.default_rng(seed).permutation(len(human))
    n_cal = min(max(1, round(calibration_share * len(human))), len(human) - 1)
    train = [human[i] for i in order_[n_cal:]]
    held = [human[i] for i in order_[:n_cal]]
    stat = MeanLogLikelihood(NGramModel.train(train, order=order))
    return calibrated(judge_id or f"ngram{order}-human", stat, stat.name, held, alpha)


def repetition_judge(
    human: Sequence[str], *, n: int = 3, alpha: float = 0.05, judge_id: str | None = None
) -> CalibratedJudge:
    """Flag texts more repetitive (lower distinct-n) than human texts, calibrated on them."""
    if n < 1:
        raise ConfigError(f"distinct-n needs n >= 1, got {n}")
    stat = DistinctN(n, f"distinct-{n}")
    return calibrated(judge_id or f"distinct{n}-human", stat, stat.name, human, alpha)
