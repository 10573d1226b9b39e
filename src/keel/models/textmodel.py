"""What the loop needs from a generator it trains: texts sampled from it, optionally continuing
prompts (so that each synthetic record has a parent), and a digest of its parameters that ties
the run entry to the exact model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class TextModel(Protocol):
    """A trained text generator."""

    def generate(
        self,
        count: int,
        *,
        seed: int = 0,
        temperature: float = 1.0,
        max_tokens: int = 60,
        prompts: Sequence[str] | None = None,
    ) -> list[str]:
        """`count` texts; with `prompts` (one per text), text i starts with the tokens of
        prompts[i] and continues them for at most `max_tokens` new tokens."""
        ...

    def digest(self) -> str:
        """The SHA-256 (hex) of the model's parameters: equal digests, equal models."""
        ...
