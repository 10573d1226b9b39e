"""The n-gram text model: retrained on its own sampled texts, measured like real generations."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import fields

import numpy as np

from keel.collapse.metrics import CollapseMetrics, Reference, measure
from keel.collapse.settings import MetricsConfig
from keel.collapse.simulate.config import FloatArray, Progress, Simulation, next_training
from keel.errors import ConfigError
from keel.models import NGramModel
from keel.text import detokenize, load_fortunes, tokenize_all

NGRAM_METRICS = MetricsConfig(bleu_sample=300, embed_sample=500)


def simulate_ngram(
    cfg: Simulation,
    rng: np.random.Generator,
    tick: Progress,
    keep_texts: bool = False,
) -> tuple[dict[str, FloatArray], list[list[str]]]:
    """Retrain an n-gram model on its own samples; measure each generation's samples.

    The human corpus is split in half (seeded): the reference the metrics compare against,
    and the pool that real and fresh data come from. Generation 0 is a sample of the pool.
    Returns the metrics and, when `keep_texts`, the texts of every generation of repetition 0.
    """
    human = list(cfg.corpus) if cfg.corpus is not None else load_fortunes()
    order = rng.permutation(len(human))
    half = len(human) // 2
    reference = Reference.build([human[i] for i in order[:half]], config=NGRAM_METRICS)
    pool = tokenize_all(human[i] for i in order[half:])
    if len(pool) < cfg.samples:
        raise ConfigError(
            f"the human pool has {len(pool)} texts, fewer than --samples {cfg.samples}"
        )
    names = [f.name for f in fields(CollapseMetrics)]
    out = {k: np.full((cfg.repetitions, cfg.generations + 1), np.nan) for k in names}
    kept: list[list[str]] = []
    total = cfg.repetitions * cfg.generations
    for r in range(cfg.repetitions):
        for g, gen_texts in enumerate(ngram_generations(cfg, pool, rng)):
            if g:
                tick(r * cfg.generations + g, total)
            _record_texts(out, r, g, gen_texts, reference)
            if keep_texts and r == 0:
                kept.append([detokenize(t) for t in gen_texts])
    return out, kept


def ngram_generations(
    cfg: Simulation, pool: Sequence[list[str]], rng: np.random.Generator
) -> Iterator[list[list[str]]]:
    """One run of the n-gram loop: generation 0 (`samples` human texts drawn from `pool`, as
    token lists), then the samples of each model n = 1 … `generations`, the loop building
    model n's training set from generation n - 1 (and fresh texts of `pool`)."""

    def draw_human(count: int) -> list[list[str]]:
        return [pool[i] for i in rng.choice(len(pool), count, replace=False)]

    gen_texts = draw_human(cfg.samples)
    train: list[list[str]] | None = None
    real: list[list[str]] | None = None
    for g, fresh in enumerate(cfg.fresh_counts(), start=0):
        yield gen_texts
        human_part = draw_human(int(fresh)) if g > 0 else gen_texts
        synth = gen_texts if g > 0 else None
        new = human_part if synth is None else human_part + synth[: cfg.samples - int(fresh)]
        if g == 0:
            real = new
        train = next_training(cfg.loop, train, new, real, synth, _join)
        model = NGramModel.train(train, order=cfg.order)
        gen_texts = _ngram_samples(model, cfg, rng)
    yield gen_texts


def _join(a: list[list[str]], b: list[list[str]]) -> list[list[str]]:
    return a + b


def _ngram_samples(model: NGramModel, cfg: Simulation, rng: np.random.Generator) -> list[list[str]]:
    drawn = math.ceil(cfg.samples / cfg.keep)
    texts = model.sample(drawn, seed=rng, temperature=cfg.temperature)
    if drawn == cfg.samples:
        return texts
    per_token = np.array([lp.mean() for lp in model.token_log_probs(texts)])
    best = np.argsort(-per_token, kind="stable")[: cfg.samples]
    return [texts[i] for i in np.sort(best)]


def _record_texts(
    out: dict[str, FloatArray], r: int, g: int, texts: Sequence[list[str]], ref: Reference
) -> None:
    m = measure([detokenize(t) for t in texts], ref)
    for k, v in m.to_dict().items():
        out[k][r, g] = v
