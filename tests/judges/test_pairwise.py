"""Pairwise verdicts: accuracy over both orders, position consistency and biases."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import pairwise_example
from keel.errors import InputError
from keel.judges import PAIR_FIELDS, audit_pairwise, read_pairwise

ROWS = [
    # item, judge, first, second, decision, gold, first_length, second_length, producers
    ("q1", "g", "A", "B", "first", "A", 10, 5, "g", "m"),
    ("q1", "g", "B", "A", "first", "A", 5, 10, "m", "g"),
    ("q2", "g", "C", "D", "second", "D", 3, 9, "m", "g"),
    ("q2", "g", "D", "C", "first", "D", 9, 3, "g", "m"),
    ("q3", "g", "E", "F", "tie", "E", 4, 4, "m", "m"),
    ("q4", "g", "G", "H", "", "G", 4, 4, "m", "m"),
]


def write(tmp_path: Path) -> Path:
    path = tmp_path / "p.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "judge", "first", "second", "decision", "gold", "first_length",
                    "second_length", "first_producer", "second_producer"])  # fmt: skip
        w.writerows(ROWS)
    return path


def test_pairwise_figures_by_hand(tmp_path: Path) -> None:
    (p,) = audit_pairwise(read_pairwise([write(tmp_path)]), n_resamples=50)
    f = {k: e.value for k, e in p.figures.items()}
    assert p.missing == 1 and p.n == 5
    assert f["accuracy"] == pytest.approx(3 / 5)  # the tie on q3 counts as wrong
    assert f["consistency"] == pytest.approx(1 / 2)  # q1 flips with the order, q2 holds
    assert f["first_wins"] == pytest.approx(3 / 4)
    assert f["longer_wins"] == pytest.approx(3 / 4)
    assert f["self_preference"] == pytest.approx((3 - 4) / 4)  # picks its own 3 of 4, gold 4


def test_pairwise_bad_decision_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("item,judge,first,second,decision,gold\nq,g,A,B,maybe,A\n")
    with pytest.raises(InputError, match=r"bad.csv row 1 column decision: 'maybe'"):
        read_pairwise([path])


# -- the realistic example: every figure against a loop over the csv rows ------------------


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return pairwise_example.write(tmp_path / "pairwise.csv")


def winner(r: dict[str, str]) -> str:
    return {"first": r["answer_1"], "second": r["answer_2"], "tie": "tie"}[r["choice"]]


def other(by_order: dict[tuple[str, str], str], key: tuple[str, str]) -> str:
    """The winner the judge named for the same question with the answers swapped."""
    return next(w for (q, a), w in by_order.items() if q == key[0] and a != key[1])


def loop_figures(rows: list[dict[str, str]]) -> dict[str, float]:
    decided = [r for r in rows if r["choice"]]
    picks = [r for r in decided if r["choice"] != "tie"]
    by_order = {(r["question"], r["answer_1"]): winner(r) for r in decided}
    swapped = [(q, a) for (q, a) in by_order if any(k[0] == q and k[1] != a for k in by_order)]
    longer = [r for r in picks if r["words_1"] != r["words_2"]]
    own = [r for r in picks if [r["model_1"], r["model_2"]].count(r["grader_model"]) == 1]

    def own_answer(r: dict[str, str]) -> str:
        return r["answer_1"] if r["model_1"] == r["grader_model"] else r["answer_2"]

    def share(xs: list[bool]) -> float:
        return sum(xs) / len(xs)

    return {
        "accuracy": share([winner(r) == r["human_choice"] for r in decided]),
        "consistency": share([by_order[k] == other(by_order, k) for k in swapped]),
        "first_wins": share([r["choice"] == "first" for r in picks]),
        "longer_wins": share(
            [(r["choice"] == "first") == (int(r["words_1"]) > int(r["words_2"])) for r in longer]
        ),
        "self_preference": share([winner(r) == own_answer(r) for r in own])
        - share([r["human_choice"] == own_answer(r) for r in own]),
    }


def test_example_figures_match_a_loop_over_the_rows(example: Path) -> None:
    profiles = audit_pairwise(read_pairwise([example], pairwise_example.FIELDS), n_resamples=200)
    with example.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [p.judge for p in profiles] == ["judge-g", "judge-l"]
    for p in profiles:
        mine = [r for r in rows if r["grader"] == p.judge]
        assert p.n == sum(1 for r in mine if r["choice"])
        assert p.missing == sum(1 for r in mine if not r["choice"])
        expected = loop_figures(mine)
        assert {k: e.value for k, e in p.figures.items()} == pytest.approx(expected)
        for e in p.figures.values():
            assert e.lo <= e.value <= e.hi
    g, llama = profiles
    # 16 rows where one answer is gpt-4o's: the judge picks it in all 16, humans prefer it in 6
    assert g.figures["self_preference"].value == pytest.approx(1 - 6 / 16)
    assert "self-preferring" in g.personality
    assert llama.missing == 1 and "first-slot bias" in llama.personality


def test_example_file_for_the_docs_is_what_the_fixture_writes(example: Path) -> None:
    assert pairwise_example.EXAMPLE.read_text(encoding="utf-8") == example.read_text("utf-8")


def test_explicit_optional_column_must_exist(example: Path) -> None:
    cols = PAIR_FIELDS.map(item="question", judge="grader", first="answer_1", second="answer_2",
                           decision="choice", gold="human_choice", first_length="nope")  # fmt: skip
    with pytest.raises(InputError, match="no column 'nope'"):
        read_pairwise([example], cols)
