"""A small realistic pairwise table, as a review tool would export it: two judges compare
answers from three models to 12 questions, in both orders for 10 of them, against the answer
human reviewers preferred. The gpt-4o judge favours gpt-4o's answers; the llama judge favours
the first slot when two answers are of similar length, and much longer answers. `write` makes
the file; judges/data/pairwise_example.csv is a copy for the docs (a test keeps them equal)."""

from __future__ import annotations

import csv
from pathlib import Path

from keel.judges import PAIR_FIELDS

EXAMPLE = Path(__file__).parent / "judges" / "data" / "pairwise_example.csv"
HEADER = ("question", "grader", "grader_model", "answer_1", "answer_2", "choice",
          "human_choice", "words_1", "words_2", "model_1", "model_2")  # fmt: skip
# question, (producer, words) of answers a and b, the answer humans prefer, both orders?
QUESTIONS = (
    ("q01", ("gpt-4o", 120), ("mistral-7b", 80), "a", True),
    ("q02", ("mistral-7b", 60), ("gpt-4o", 95), "a", True),
    ("q03", ("llama-3-70b", 150), ("mistral-7b", 70), "a", True),
    ("q04", ("gpt-4o", 40), ("llama-3-70b", 200), "a", True),
    ("q05", ("mistral-7b", 90), ("llama-3-70b", 90), "b", True),
    ("q06", ("llama-3-70b", 75), ("gpt-4o", 110), "b", True),
    ("q07", ("mistral-7b", 130), ("gpt-4o", 50), "a", True),
    ("q08", ("gpt-4o", 85), ("llama-3-70b", 95), "b", True),
    ("q09", ("llama-3-70b", 60), ("mistral-7b", 180), "a", True),
    ("q10", ("mistral-7b", 100), ("gpt-4o", 120), "a", True),
    ("q11", ("gpt-4o", 70), ("mistral-7b", 140), "b", False),
    ("q12", ("llama-3-70b", 90), ("gpt-4o", 60), "a", False),
)
JUDGES = (("judge-g", "gpt-4o"), ("judge-l", "llama-3-70b"))
FIELDS = PAIR_FIELDS.map(item="question", judge="grader", first="answer_1", second="answer_2",
                         decision="choice", gold="human_choice", first_length="words_1",
                         second_length="words_2", first_producer="model_1",
                         second_producer="model_2", judge_model="grader_model")  # fmt: skip


def _choice(judge_model: str, first: tuple[str, str, int], second: tuple[str, str, int],
            gold: str) -> str:  # fmt: skip
    """The judge's pick for (answer id, producer, words) in each slot."""
    if judge_model == "gpt-4o":
        own = [s for s in (first, second) if s[1] == "gpt-4o"]
        if len(own) == 1:
            return "first" if own[0] is first else "second"
        return "first" if first[0] == gold else "second"
    gap = second[2] - first[2]
    if gap == 0:
        return "tie"
    if abs(gap) <= 40:
        return "first"
    if abs(gap) > 60:
        return "second" if gap > 0 else "first"
    return "first" if first[0] == gold else "second"


def rows() -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for q, (pa, wa), (pb, wb), pref, both in QUESTIONS:
        a, b = (f"{q}-a", pa, wa), (f"{q}-b", pb, wb)
        orders = [(a, b), (b, a)] if both else [(a, b)]
        for judge, model in JUDGES:
            for first, second in orders:
                choice = _choice(model, first, second, f"{q}-{pref}")
                if (q, judge, first) == ("q12", "judge-l", a):
                    choice = ""  # a verdict the export lost
                out.append((q, judge, model, first[0], second[0], choice, f"{q}-{pref}",
                            first[2], second[2], first[1], second[1]))  # fmt: skip
    return out


def write(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows())
    return path
