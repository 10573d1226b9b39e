"""The ground truth the simulated expert panel answers from, built from held-out human text.

A text is
- ``degenerate`` when it has fewer than 3 tokens or its distinct-3 (distinct trigrams over
  trigrams, Li et al. 2016) is below the `degenerate_quantile` of human texts' — a repetitive
  loop no human wrote; its descendants are pruned from later mixes;
- ``reject`` when its mean log-likelihood per token under a trigram Kneser–Ney model of the
  human reference is below the `reject_quantile` of held-out human texts' — text that the human
  distribution would rarely produce;
- ``accept`` otherwise.

The reference model is trained on 80% of the reference texts and the likelihood threshold set on
the other 20%, so that a human text is rejected with probability `reject_quantile` (a conformal
threshold; Vovk et al. 2005). This is the demo's stand-in for what real experts know; it sees
human data that the loop's generators and judges never see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from keel.errors import ConfigError
from keel.experts import Truth
from keel.judges import DistinctN, MeanLogLikelihood
from keel.models import NGramModel
from keel.text import tokenize


@dataclass(frozen=True, slots=True)
class GroundTruth:
    """Labels texts accept / reject / degenerate (the module docstring)."""

    likelihood: MeanLogLikelihood
    min_likelihood: float
    distinct: DistinctN
    min_distinct: float

    @classmethod
    def fit(
        cls,
        reference: Sequence[str],
        *,
        reject_quantile: float = 0.05,
        degenerate_quantile: float = 0.01,
        seed: int = 0,
    ) -> GroundTruth:
        """Train the reference model and set both thresholds on human texts."""
        if len(reference) < 20:
            raise ConfigError(f"the ground truth needs ≥ 20 human texts, got {len(reference)}")
        order = np.random.default_rng(seed).permutation(len(reference))
        cut = int(0.8 * len(reference))
        model = NGramModel.train([reference[i] for i in order[:cut]], order=3)
        held = [reference[i] for i in order[cut:]]
        likelihood = MeanLogLikelihood(model)
        distinct = DistinctN(3)
        return cls(
            likelihood,
            float(np.quantile(likelihood(held), reject_quantile)),
            distinct,
            float(np.quantile(distinct(reference), degenerate_quantile)),
        )

    def labels(self, texts: Sequence[str]) -> list[Truth]:
        """The ground-truth label of each text."""
        ll = self.likelihood(texts)
        d3 = self.distinct(texts)
        out: list[Truth] = []
        for text, lik, dis in zip(texts, ll.tolist(), d3.tolist(), strict=True):
            if len(tokenize(text)) < 3 or dis < self.min_distinct:
                out.append("degenerate")
            elif lik < self.min_likelihood:
                out.append("reject")
            else:
                out.append("accept")
        return out
