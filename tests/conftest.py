"""Shared fixtures: a fresh signed ledger in tmp_path, and a helper to fill it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keel.ledger import Appended, Ledger
from keel.records import Producer, text_record

TEST_ORIGIN = "example.com/test"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh ledger at tmp_path/k.db with its key at tmp_path/k.key (origin example.com/test)."""
    led = Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key")
    led.init_key(TEST_ORIGIN)
    try:
        yield led
    finally:
        led.close()


def fill(led: Ledger, n: int, *, prefix: str = "record", start: int = 0) -> list[Appended]:
    """Append `n` distinct text records (alternating human / synthetic) in one batch."""
    items = []
    for i in range(start, start + n):
        if i % 2:
            items.append(
                text_record(
                    f"{prefix} {i}",
                    "synthetic",
                    producer=Producer("model-x", "1", {"temperature": 0.7}),
                    generation=1,
                )
            )
        else:
            items.append(text_record(f"{prefix} {i}", "human", author=f"author-{i % 5}"))
    return led.append(items)


@pytest.fixture
def fill_ledger() -> Callable[..., list[Appended]]:
    """The `fill(led, n, *, prefix="record", start=0)` helper, as a fixture."""
    return fill
