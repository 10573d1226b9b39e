"""Shared fixtures: the real TriviaQA judge table (read in place) and small synthetic tables."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from keel.judges import JUDGE_FIELDS, JudgeTable, read_judge_table

TRIVIAQA = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "triviaqa-judges"
    / "judges_with_human_labels.csv"
)
TRIVIAQA_FIELDS = JUDGE_FIELDS.map(
    human="HumanJudgement", category="model", subject="model", group="model"
)


@pytest.fixture(scope="session")
def triviaqa_path() -> Path:
    if not TRIVIAQA.exists():
        pytest.skip(f"the real judge data is not here ({TRIVIAQA}); it lives outside the repo")
    return TRIVIAQA


@pytest.fixture(scope="session")
def triviaqa(triviaqa_path: Path) -> JudgeTable:
    return read_judge_table([triviaqa_path], TRIVIAQA_FIELDS)


@pytest.fixture(scope="session")
def triviaqa_rows(triviaqa_path: Path) -> list[dict[str, str]]:
    """The same file read with the stdlib csv module, for independent computations."""
    with triviaqa_path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
