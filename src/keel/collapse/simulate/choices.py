"""The simulator's closed sets of settings: models, loops and refits, and the pace sweep's
defaults (light, for the CLI)."""

from __future__ import annotations

from typing import Literal

Model = Literal["gaussian", "mixture", "categorical", "regression", "ngram"]
Loop = Literal["replace", "accumulate", "fresh", "augment"]
Refit = Literal["mle", "unbiased"]
MODELS: tuple[Model, ...] = ("gaussian", "mixture", "categorical", "regression", "ngram")
LOOPS: tuple[Loop, ...] = ("replace", "accumulate", "fresh", "augment")
PACE_MAX = 1.0
"""The pace sweep's default largest s/r: one verified item a generation (α = 1/M), the last pace
at which a generation still gets an anchor; beyond s/r = 2 it gets none."""
PACE_POINTS = 9
"""The pace sweep's default number of ratios s/r, log-spaced from 1/M (α = 1) to `PACE_MAX`."""
