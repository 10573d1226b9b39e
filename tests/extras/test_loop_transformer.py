"""The loop with the [lm] extra's transformer as its generator: trained, logged and resumed like
the n-gram model (its digest reproduces on resume)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extra_modules import need
from keel.ledger import Ledger
from keel.loop import Step, load_config, run_loop
from keel.records import Run
from small_loop import write_loop

pytestmark = pytest.mark.extra


class StopError(Exception):
    """Stops the loop after a step."""


def test_a_transformer_loop_runs_and_resumes(tmp_path: Path) -> None:
    need("torch", "lm")
    path = write_loop(
        tmp_path,
        generations=1,
        generator={"kind": "transformer", "steps": 20, "samples": 200, "max_tokens": 20},
    )

    def stop(step: Step) -> None:
        if (step.generation, step.name) == (1, "judge") and not step.skipped:
            raise StopError

    with pytest.raises(StopError):
        run_loop(load_config(path), on_step=stop)
    result = run_loop(load_config(path))  # retrains: the digest must match the logged run
    assert result.generations[1].records > 150
    with Ledger.open(tmp_path / "keel.db", create=False) as led:
        runs = [loc.entry for loc in led.entries("run")]
    assert len(runs) == 1 and isinstance(runs[0], Run)
    assert runs[0].model == "small-transformer/gen-1" and runs[0].config["kind"] == "transformer"
