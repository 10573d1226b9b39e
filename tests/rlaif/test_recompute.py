"""The reward-model figures of a logged fit, recomputed from the ledger by an independent
script (tests/rlaif/recompute_reward.py: its own tokeniser and hashing, numpy and scipy)."""

from __future__ import annotations

from pathlib import Path

import pytest
from recompute_reward import main

from keel.ledger import Ledger
from keel.rlaif import (
    FitConfig,
    Pair,
    critical_judge,
    fit_from_ledger,
    judge_both_orders,
    log_preferences,
)


@pytest.mark.parametrize("corrected", [False, True])
def test_an_independent_script_agrees(
    tmp_path: Path, world: tuple[list[Pair], list[Pair], list[Pair]], corrected: bool
) -> None:
    train, anchors, _ = world
    db = tmp_path / "k.db"
    with Ledger.open(db) as led:
        log_preferences(led, judge_both_orders(critical_judge(), train[:600] + anchors[:300]))
        done = fit_from_ledger(led, corrected=corrected, config=FitConfig(dim=2**12, epochs=4))
    weights = tmp_path / "w.bin"
    weights.write_bytes(done.fit.model.to_bytes())
    got = main([str(db), done.run, "--weights", str(weights)])
    assert got["weights_sha256_ok"]
    assert got["heldout"] == done.heldout and got["trained_pairs"] == done.trained
    assert got["accuracy_of_weights"]["value"] == done.accuracy.value
    assert got["accuracy_of_weights"]["lo"] == pytest.approx(done.accuracy.lo, abs=1e-12)
    assert got["refit_accuracy"]["value"] == pytest.approx(done.accuracy.value, abs=0.04)
    if corrected:
        assert done.fit.noise is not None
        assert got["eps_plus"]["value"] == pytest.approx(done.fit.noise.eps_plus.value, abs=1e-12)
        assert got["eps_minus"]["hi"] == pytest.approx(done.fit.noise.eps_minus.hi, abs=1e-12)
