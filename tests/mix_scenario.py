"""A ledger with a known ground truth: human texts, one synthetic generation with parents, two
AI judges of known quality (one strict, one lenient), and helpers to review and flag records."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from keel.experts import ReviewItem, SimulatedPanel, Truth
from keel.ledger import Ledger
from keel.records import EntryId, Producer, text_record, verdict

VOCAB = [f"w{i}" for i in range(400)]


def sentence(rng: np.random.Generator, words: int = 14) -> str:
    """A random text over VOCAB with Zipf-like word frequencies."""
    p = 1.0 / np.arange(1, len(VOCAB) + 1)
    return " ".join(rng.choice(VOCAB, words, p=p / p.sum()))


@dataclass
class Scenario:
    human: list[EntryId]
    synthetic: list[EntryId]
    truth: dict[EntryId, Truth] = field(default_factory=dict)
    text: dict[EntryId, str] = field(default_factory=dict)

    def panel(self, error_rate: float = 0.0, seed: int = 0) -> SimulatedPanel:
        def truth(item: ReviewItem) -> Truth:
            return self.truth[item.record]

        return SimulatedPanel(truth, error_rate=error_rate, seed=seed)


# (P(accept | good), P(accept | bad)) of each AI judge
JUDGES = {"strict": (0.9, 0.05), "lenient": (0.98, 0.6)}


def build(
    led: Ledger,
    *,
    n_human: int = 60,
    n_synthetic: int = 300,
    good_share: float = 0.7,
    seed: int = 0,
) -> Scenario:
    rng = np.random.default_rng(seed)
    human_items = [text_record(sentence(rng), "human", author="corpus") for _ in range(n_human)]
    human = [a.id for a in led.append(human_items)]
    synth_items, truths = [], []
    for i in range(n_synthetic):
        parent = human[int(rng.integers(n_human))]
        synth_items.append(
            text_record(
                f"{sentence(rng)} s{i}",
                "synthetic",
                producer=Producer("toy", "1"),
                parents=[parent],
                generation=1,
            )
        )
        truths.append(bool(rng.random() < good_share))
    synthetic = [a.id for a in led.append(synth_items)]
    verdicts = []
    for rid, good in zip(synthetic, truths, strict=True):
        for name, (p_good, p_bad) in JUDGES.items():
            accept = rng.random() < (p_good if good else p_bad)
            score = float(np.clip((0.75 if accept else 0.25) + rng.normal(0, 0.1), 0, 1))
            verdicts.append(
                verdict(rid, name, "ai", label="accept" if accept else "reject", score=score)
            )
    led.append(verdicts)
    sc = Scenario(human, synthetic)
    for rid, good in zip(synthetic, truths, strict=True):
        sc.truth[rid] = "accept" if good else "reject"
    for item, rid in zip(human_items + synth_items, human + synthetic, strict=True):
        sc.text[rid] = led.payload(item[0].payload.sha256).decode()
    return sc
