"""The simulator's closed sets of settings: models, loops and refits (light, for the CLI)."""

from __future__ import annotations

from typing import Literal

Model = Literal["gaussian", "mixture", "categorical", "regression", "ngram"]
Loop = Literal["replace", "accumulate", "fresh", "augment"]
Refit = Literal["mle", "unbiased"]
MODELS: tuple[Model, ...] = ("gaussian", "mixture", "categorical", "regression", "ngram")
LOOPS: tuple[Loop, ...] = ("replace", "accumulate", "fresh", "augment")
