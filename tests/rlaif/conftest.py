"""Fixtures of the rlaif tests: one split of degraded-fortune pairs for the session."""

from __future__ import annotations

import pytest
from preference_world import split_world

from keel.rlaif import Pair


@pytest.fixture(scope="session")
def world() -> tuple[list[Pair], list[Pair], list[Pair]]:
    """1,500 training, 400 anchor and 800 held-out pairs."""
    return split_world(1500, 400, 800)
