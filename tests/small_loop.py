"""A small anchored loop on the fortunes, fast enough for tests, written as a loop.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tomli_w import dumps


def small_loop(**overrides: Any) -> dict[str, Any]:
    """The TOML table of a 2-generation anchored loop; `overrides` replace top-level keys."""
    table: dict[str, Any] = {
        "name": "small",
        "generations": 2,
        "seed": 3,
        "ledger": "keel.db",
        "human": {"reference": 300, "initial": 200, "fresh": 40},
        "generator": {"samples": 300, "max_tokens": 30},
        "judges": [
            {"kind": "likelihood", "alpha": 0.1},
            {"kind": "repetition", "alpha": 0.1},
        ],
        "review": {"budget": 60, "random_share": 0.5},
        "mix": {"alpha": 0.2, "size": 200, "target_precision": 0.6},
    }
    return {**table, **overrides}


def write_loop(folder: Path, **overrides: Any) -> Path:
    """Write `small_loop(**overrides)` to folder/loop.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "loop.toml"
    path.write_text(dumps(small_loop(**overrides)), encoding="utf-8")
    return path
