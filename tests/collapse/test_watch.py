"""The watch on real generated text: an n-gram model retrained on its own samples is flagged,
human text is healthy; files and JSONL origins give alpha; the gate levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from keel.collapse.simulate import Simulation, simulate_ngram
from keel.collapse.watch import (
    Generation,
    GenerationReport,
    Thresholds,
    read_generations,
    verdict,
    watch,
)
from keel.errors import InputError
from keel.text import load_fortunes


def watched_run(human: list[str], **loop: object) -> list[GenerationReport]:
    """Generations of a seeded n-gram loop on `human`, watched against the same corpus (the
    watch's anchor and the simulator's reference half coincide: same seed, same split)."""
    cfg = Simulation(model="ngram", generations=4, repetitions=1, samples=1200,
                     corpus=tuple(human), **loop)  # type: ignore[arg-type]  # fmt: skip
    _, texts = simulate_ngram(cfg, np.random.default_rng(0), lambda a, b: None, keep_texts=True)
    return list(
        watch([Generation(f"gen-{g}", tuple(t)) for g, t in enumerate(texts)], human).generations
    )


@pytest.mark.slow
def test_self_training_is_flagged_and_fresh_data_stops_the_tail_loss() -> None:
    human = load_fortunes(("fortunes",))[:6000]
    replace = watched_run(human)
    fresh = watched_run(human, loop="fresh", alpha=0.2)
    tail_r = [g.ratios["tail"] for g in replace]
    tail_f = [g.ratios["tail"] for g in fresh]
    assert replace[0].verdict == fresh[0].verdict == "healthy"  # gen-0 is human text
    assert all(np.diff(tail_r) < 0)  # the critical process keeps losing
    assert [g.verdict for g in replace][2:] == ["early-collapse"] * 3
    assert [g.verdict for g in fresh][:3] == ["healthy"] * 3
    assert all(f > r + 0.03 for f, r in zip(tail_f[2:], tail_r[2:], strict=True))
    # fresh data: a stationary tail (trend → 0) whose level, ~0.75 of a human sample's, is
    # below the 0.8 default, so generations 3+ are flagged too (docs/collapse.md explains)
    assert fresh[-1].tail_trend > -0.02 and replace[-1].tail_trend < -0.05
    assert all(g.verdict != "late-collapse" for g in replace + fresh)


def test_verdict_rules() -> None:
    t = Thresholds()
    ok = {"tail": 1.0, "precision": 1.0, "entropy": 1.0, "distinct_2": 1.0}
    assert verdict(ok, t)[0] == "healthy"
    assert verdict({**ok, "tail": 0.5}, t) == ("early-collapse", ("tail ratio 0.50 < 0.8",
                                                                   "precision holds"))  # fmt: skip
    assert verdict({**ok, "tail": 0.5, "entropy": 0.5}, t)[0] == "late-collapse"
    assert verdict({**ok, "tail": float("nan")}, t)[0] == "healthy"


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
