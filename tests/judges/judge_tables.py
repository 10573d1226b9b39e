"""Small synthetic judge tables with known error rates, for invariants."""

from __future__ import annotations

import numpy as np

from keel.judges import JudgeTable


def synthetic(
    n: int = 400, judges: int = 3, runs: int = 1, seed: int = 1, missing: float = 0.0
) -> JudgeTable:
    """Judges with known error rates on random items; some verdicts missing at random."""
    rng = np.random.default_rng(seed)
    human = (rng.random(n) < 0.6).astype(float)
    tpr = np.linspace(0.95, 0.6, judges)[:, None, None]
    tnr = np.linspace(0.5, 0.95, judges)[:, None, None]
    u = rng.random((judges, n, runs))
    h = human[None, :, None]
    v = np.where(h == 1, u < tpr, u >= tnr).astype(float)
    v[rng.random(v.shape) < missing] = np.nan
    return JudgeTable(
        source="synthetic",
        items=tuple(str(i) for i in range(n)),
        judges=tuple(f"j{k}" for k in range(judges)),
        human=human,
        verdicts=v,
        missing=np.isnan(v).sum(axis=(1, 2)),
    )
