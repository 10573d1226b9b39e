"""The simulated experts' ground truth: human text passes at the chosen rate, repetitive text is
degenerate, word salad is rejected."""

from __future__ import annotations

import numpy as np
import pytest

from keel.errors import ConfigError
from keel.loop import GroundTruth
from keel.text import load_fortunes, tokenize


@pytest.fixture(scope="module")
def split() -> tuple[list[str], list[str]]:
    human = load_fortunes()
    order = np.random.default_rng(0).permutation(len(human))
    return [human[i] for i in order[:3000]], [human[i] for i in order[3000:4000]]


def test_held_out_human_text_is_accepted_at_the_chosen_rate(
    split: tuple[list[str], list[str]],
) -> None:
    reference, held_out = split
    truth = GroundTruth.fit(reference, reject_quantile=0.05)
    labels = truth.labels(held_out)
    accepted = labels.count("accept") / len(labels)
    assert 0.90 <= accepted <= 0.99  # 5% rejected by construction, a few degenerate


def test_repetition_and_word_salad(split: tuple[list[str], list[str]]) -> None:
    reference = split[0]
    truth = GroundTruth.fit(reference)
    rng = np.random.default_rng(1)
    words = sorted({w for t in reference for w in tokenize(t)})
    salad = [" ".join(rng.choice(words, 20)) for _ in range(50)]
    loops = ["the cat the cat the cat the cat the cat the cat", "no no no no no no no no", "ok"]
    assert set(truth.labels(loops)) == {"degenerate"}
    assert truth.labels(salad).count("reject") >= 45


def test_too_few_reference_texts() -> None:
    with pytest.raises(ConfigError, match="≥ 20 human texts"):
        GroundTruth.fit(["one text"] * 10)
