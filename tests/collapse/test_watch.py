"""The watch on real generated text: an n-gram model retrained on its own samples is flagged,
with a fresh human share it is not; the verdict rule; the tail ratio's standard error; files and
JSONL origins give alpha."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keel.collapse.simulate import Simulation, simulate_ngram
from keel.collapse.watch import (
    Generation,
    GenerationReport,
    Thresholds,
    Watcher,
    read_generations,
    tail_ratio_se,
    verdict,
    watch,
)
from keel.errors import ConfigError, InputError
from keel.text import load_fortunes


def watched_run(human: list[str], **loop: object) -> list[GenerationReport]:
    """Generations of a seeded n-gram loop on `human`, watched against the same corpus (the
    watch's anchor and the simulator's reference half coincide: same seed, same split)."""
    cfg = Simulation(model="ngram", generations=4, repetitions=1, samples=3000,
                     corpus=tuple(human), **loop)  # type: ignore[arg-type]  # fmt: skip
    _, texts = simulate_ngram(cfg, np.random.default_rng(0), lambda a, b: None, keep_texts=True)
    return list(
        watch([Generation(f"gen-{g}", tuple(t)) for g, t in enumerate(texts)], human).generations
    )


@pytest.mark.slow
def test_self_training_is_flagged_and_fresh_data_is_not() -> None:
    """The real-text demonstration of docs/collapse.md (seed 0), first four generations."""
    human = load_fortunes()
    replace = watched_run(human)
    fresh = watched_run(human, loop="fresh", alpha=0.2)
    assert [g.verdict for g in replace] == ["healthy"] * 3 + ["early-collapse"] * 2
    assert all(g.verdict == "healthy" for g in fresh)
    assert all(g.tail_z < -Thresholds().trend_z for g in replace[1:])  # still falling
    assert fresh[-1].tail_z > -1.5 and fresh[-1].ratios["tail"] > replace[-1].ratios["tail"] + 0.1


def test_verdict_rules() -> None:
    t = Thresholds()
    ok = {"tail": 1.0, "precision": 1.0, "entropy": 1.0, "distinct_2": 1.0}
    assert verdict(ok, -10.0, t)[0] == "healthy"  # a significant fall to a level still high
    assert verdict({**ok, "tail": 0.7}, -1.0, t)[0] == "healthy"  # a low but stable level
    assert verdict({**ok, "tail": 0.7}, -3.0, t) == (
        "early-collapse", ("tail ratio 0.70 < 0.8 and falling (z -3.0 < -2.58)", "precision holds"),
    )  # fmt: skip
    low = {**ok, "tail": 0.4, "precision": 0.5}
    assert verdict(low, 0.5, t) == (
        "early-collapse", ("tail ratio 0.40 < floor 0.5", "precision ratio 0.50 also low"),
    )  # fmt: skip
    assert verdict({**low, "entropy": 0.5}, -3.0, t)[0] == "late-collapse"
    assert verdict({**ok, "tail": float("nan")}, float("nan"), t)[0] == "healthy"
    with pytest.raises(ConfigError, match="tail floor"):
        Thresholds(tail_ratio=0.4, tail_floor=0.5)


@settings(max_examples=30, deadline=None)
@given(
    st.floats(0.05, 0.95), st.floats(0.3, 0.99), st.integers(200, 3000), st.integers(0, 2**32 - 1)
)
def test_tail_ratio_se_matches_binomial_draws(p: float, b: float, n: int, seed: int) -> None:
    """The delta-method standard error is the spread of kept/human over binomial shares."""
    rng = np.random.default_rng(seed)
    kept, human = rng.binomial(n, p, 20_000) / n, rng.binomial(n, b, 20_000) / n
    assert tail_ratio_se(p, b, n) == pytest.approx(np.std(kept / human), rel=0.06)


def test_files_folders_and_origins(tmp_path: Path) -> None:
    (tmp_path / "gen-1.jsonl").write_text(
        '{"text": "a human line", "origin": "human"}\n{"text": "a model line", "origin": '
        '"synthetic"}\n\n{"text": "another", "origin": "synthetic"}\n{"text": "x"}\n'
    )
    (tmp_path / "gen-0.txt").write_text("one\n\ntwo\n")
    gens = read_generations([tmp_path])
    assert [g.name for g in gens] == ["gen-0", "gen-1"]
    assert gens[0].texts == ("one", "two") and gens[0].alpha is None
    assert gens[1].alpha == pytest.approx(1 / 3)
    (tmp_path / "bad.jsonl").write_text('{"text": 1}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1"):
        read_generations([tmp_path / "bad.jsonl"])
    with pytest.raises(InputError, match="no such file"):
        read_generations([tmp_path / "missing"])


def test_watch_needs_generations_and_a_reference() -> None:
    with pytest.raises(InputError):
        watch([], ["x"] * 50)
    with pytest.raises(InputError):
        watch([Generation("g", ("a",))], ["x"] * 5)


def test_a_watcher_fed_one_generation_at_a_time_equals_the_batch_watch() -> None:
    human = load_fortunes()[:600]
    gens = [Generation(f"g{i}", tuple(human[100 * i : 100 * i + 80])) for i in range(3)]
    batch = watch(gens, human[300:])
    w = Watcher.start(human[300:])
    for g in gens:
        w.add(g)
    assert w.report() == batch
