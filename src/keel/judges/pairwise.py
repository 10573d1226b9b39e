"""Pairwise judges: which of two candidates is better, checked against a gold preference.

Rows: item, judge, the candidates in the first and second slot, the decision (first/second,
a/b, 1/2, tie, or a candidate id) and the gold preference (same forms). Per judge, with
item-clustered bootstrap intervals: accuracy over both orders (ties count as wrong), position
consistency (same winner when the order is swapped), P(first slot wins) among decided rows,
P(the longer answer wins) where lengths differ, and self-preference: P(it picks its own
model's answer) minus P(gold prefers that answer), over rows where one candidate is its own
(Zheng et al. 2023, "Judging LLM-as-a-judge", arXiv 2306.05685). A one-line personality
follows from documented thresholds (`pair_personality`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from keel._input import Fields, read_table
from keel.errors import InputError
from keel.judges.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Estimate,
    Floats,
    Sums,
    bootstrap,
    safe_div,
)
from keel.judges.table import column_as

FIRST_WORDS = frozenset({"first", "a", "1", "left", "0"})
SECOND_WORDS = frozenset({"second", "b", "2", "right"})
TIE_WORDS = frozenset({"tie", "draw", "equal", "both", "none"})
FIGURES = ("accuracy", "consistency", "first_wins", "longer_wins", "self_preference")
REQUIRED = ("item", "judge", "first", "second", "decision", "gold")
LENGTHS = ("first_length", "second_length")
# Thresholds of the one-line pairwise personality (docs/judges.md explains them).
POSITION_BIAS = 0.10
ORDER_SENSITIVE = 0.80
VERBOSITY_BIAS = 0.10
SELF_PREFERENCE = 0.10


PAIR_FIELDS = Fields.of(
    item="item",
    judge="judge",
    first="first",
    second="second",
    decision="decision",
    gold="gold",
    first_length="first_length",
    second_length="second_length",
    first_producer="first_producer",
    second_producer="second_producer",
    judge_model="judge_model",
)
"""Which column holds each role of a pairwise table (`PAIR_FIELDS.map(role=column)` to choose
yours). The `REQUIRED` roles must have their column; the others (the candidates' lengths and
producers, the judge's own model) are used when the file has theirs, or must have it when
given."""


@dataclass(frozen=True, slots=True)
class PairProfile:
    """One pairwise judge: rows used, rows missing a decision, its figures and personality."""

    judge: str
    n: int
    missing: int
    figures: Mapping[str, Estimate]
    personality: str
    summary: str

    def to_json(self) -> dict[str, object]:
        return {
            "judge": self.judge,
            "personality": self.personality,
            "summary": self.summary,
            "n": self.n,
            "missing": self.missing,
            "figures": {k: v.to_json() for k, v in self.figures.items()},
        }


def pair_personality(figures: Mapping[str, Estimate]) -> str:
    """The one-line label of a pairwise judge from the documented thresholds."""

    def value(name: str) -> float:
        e = figures.get(name)
        return math.nan if e is None else e.value

    tags = []
    first = value("first_wins")
    if abs(first - 0.5) > POSITION_BIAS:
        tags.append("first-slot bias" if first > 0.5 else "second-slot bias")
    if value("consistency") < ORDER_SENSITIVE:
        tags.append("order-sensitive")
    if value("longer_wins") - 0.5 > VERBOSITY_BIAS:
        tags.append("prefers longer")
    if value("self_preference") > SELF_PREFERENCE:
        tags.append("self-preferring")
    return ", ".join(tags) or "even-handed"


def _pair_summary(judge: str, label: str, figures: Mapping[str, Estimate]) -> str:
    parts = [
        (text, figures[name].value)
        for name, text in (
            ("accuracy", "accuracy {:.0%} over both orders"),
            ("consistency", "same winner in {:.0%} of swapped pairs"),
            ("first_wins", "first slot wins {:.0%}"),
            ("longer_wins", "longer answer wins {:.0%}"),
            ("self_preference", "self-preference {:+.0%}"),
        )
        if name in figures
    ]
    return f"{judge}: {label}; " + ", ".join(text.format(x) for text, x in parts)


def _slot(value: object, first: str, second: str, where: str) -> float:
    """0 for the first slot, 1 for the second, 0.5 for a tie, NaN when missing."""
    if value is None:
        return np.nan
    word = str(value).strip()
    low = word.lower()
    if low in ("", "nan", "null", "na"):
        return np.nan
    if word == first:
        return 0.0
    if word == second:
        return 1.0
    if low in FIRST_WORDS:
        return 0.0
    if low in SECOND_WORDS:
        return 1.0
    if low in TIE_WORDS:
        return 0.5
    raise InputError(f"{where}: {word!r:.40} names neither candidate (use first/second/tie)")


def _cells(table: pa.Table, name: str, kind: pa.DataType, path: Path) -> list[object]:
    values: list[object] = column_as(table, name, kind, str(path)).to_pylist()
    return values


def read_pairwise(paths: Sequence[Path], fields: Fields | None = None) -> list[dict[str, object]]:
    """Rows of pairwise tables as dicts with the slot of the decision and of the gold.

    `fields`: `PAIR_FIELDS` with the user's columns (default: `PAIR_FIELDS`)."""
    f = fields or PAIR_FIELDS
    names = {role: f[role] for role in f.columns}
    lengths = {names[k] for k in LENGTHS}
    rows: list[dict[str, object]] = []
    for path in paths:
        table = read_table(path)
        f.check(table.column_names, str(path), need=REQUIRED)
        data = {
            name: _cells(table, name, pa.float64() if name in lengths else pa.string(), path)
            for name in table.column_names
            if name in names.values()
        }
        for r in range(table.num_rows):
            where = f"{path} row {r + 1}"
            first, second = str(data[names["first"]][r]), str(data[names["second"]][r])
            decision, gold = names["decision"], names["gold"]
            row: dict[str, object] = {
                "item": str(data[names["item"]][r]),
                "judge": str(data[names["judge"]][r]),
                "first": first,
                "second": second,
                "decision": _slot(data[decision][r], first, second, f"{where} column {decision}"),
                "gold": _slot(data[gold][r], first, second, f"{where} column {gold}"),
            }
            for role, name in names.items():
                if role not in REQUIRED:
                    row[role] = data[name][r] if name in data else None
            rows.append(row)
    if not rows:
        raise InputError(f"{', '.join(map(str, paths))}: no pairwise verdicts")
    return rows


def audit_pairwise(
    rows: Sequence[Mapping[str, object]],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[PairProfile, ...]:
    """Per-judge pairwise figures with item-clustered bootstrap intervals."""
    items = {name: k for k, name in enumerate(dict.fromkeys(str(r["item"]) for r in rows))}
    judges = {name: k for k, name in enumerate(dict.fromkeys(str(r["judge"]) for r in rows))}
    f = {k: np.zeros((len(items), len(judges))) for k in _SUMS}
    missing = np.zeros(len(judges), dtype=np.int64)
    winners: dict[tuple[int, int], dict[tuple[str, str], str]] = {}
    for r in rows:
        i, j = items[str(r["item"])], judges[str(r["judge"])]
        d, g = float(r["decision"]), float(r["gold"])  # type: ignore[arg-type]
        if np.isnan(d):
            missing[j] += 1
            continue
        first, second = str(r["first"]), str(r["second"])
        f["rows"][i, j] += 1
        if not np.isnan(g) and g != 0.5:
            f["graded"][i, j] += 1
            f["correct"][i, j] += float(d == g)
        if d != 0.5:
            f["decided"][i, j] += 1
            f["first"][i, j] += float(d == 0)
        winner = "tie" if d == 0.5 else (first if d == 0 else second)
        winners.setdefault((i, j), {})[(first, second)] = winner
        la, lb = r.get("first_length"), r.get("second_length")
        if d != 0.5 and la is not None and lb is not None and la != lb:
            f["len_n"][i, j] += 1
            f["longer"][i, j] += float((d == 0) == (float(la) > float(lb)))  # type: ignore[arg-type]
        own = str(r.get("judge_model") or r["judge"])
        slots = [r.get("first_producer") == own, r.get("second_producer") == own]
        if d != 0.5 and sum(slots) == 1 and not np.isnan(g) and g != 0.5:
            mine = 0.0 if slots[0] else 1.0
            f["own_n"][i, j] += 1
            f["own"][i, j] += float(d == mine)
            f["own_gold"][i, j] += float(g == mine)
    for (i, j), orders in winners.items():
        for (a, b), w in orders.items():
            if a < b and (b, a) in orders:
                f["pairs"][i, j] += 1
                f["consistent"][i, j] += float(orders[(b, a)] == w)
    boot = bootstrap(f, _figures, n_resamples=n_resamples, seed=seed)
    profiles = []
    for name, j in judges.items():
        figures = {k: boot.estimate(k, (j,)) for k in FIGURES if not np.isnan(boot.value[k][j])}
        label = pair_personality(figures)
        summary = _pair_summary(name, label, figures)
        n = int(f["rows"][:, j].sum())
        profiles.append(PairProfile(name, n, int(missing[j]), figures, label, summary))
    return tuple(profiles)


_SUMS = (
    "rows",
    "graded",
    "correct",
    "decided",
    "first",
    "pairs",
    "consistent",
    "len_n",
    "longer",
    "own_n",
    "own",
    "own_gold",
)


def _figures(s: Sums) -> dict[str, Floats]:
    return {
        "accuracy": safe_div(s["correct"], s["graded"]),
        "consistency": safe_div(s["consistent"], s["pairs"]),
        "first_wins": safe_div(s["first"], s["decided"]),
        "longer_wins": safe_div(s["longer"], s["len_n"]),
        "self_preference": safe_div(s["own"] - s["own_gold"], s["own_n"]),
    }
