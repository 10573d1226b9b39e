"""Fixtures of the mixing tests: a ledger holding the `scenario` with known ground truth."""

from __future__ import annotations

import pytest

from keel.ledger import Ledger
from mix_scenario import Scenario, build


@pytest.fixture
def scenario(ledger: Ledger) -> Scenario:
    return build(ledger)
