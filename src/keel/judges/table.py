"""Reading judge verdicts with human labels from wide, long and pairwise tables.

A wide table has one row per item: an item id (or none: the row number is the id), the human
label, one column per judge. A long table has one row per verdict: item, judge, optional run,
verdict and/or score, human label. CSV, JSONL and Parquet files are read with pyarrow. Labels
are booleans, strings (`true/yes/pass/accept/correct/1` and their opposites) or scores turned
into labels with a threshold. Missing verdicts and labels are kept as NaN and counted, never
guessed; a malformed cell raises `InputError` naming the file, row and column.

Which columns of a wide table are judges, unless the `judges` role names them: every column no
other role uses whose name carries none of the `NOT_JUDGE_WORDS` (human-side or metadata data,
such as `Human-Eval_Confidence`: `excluded_columns`) and whose every cell reads as a label (or a
score, given a threshold; the others are `skipped_columns`). A fully blank row (every cell empty)
is padding, not an item: it is dropped and counted (`blank_rows`), never a missing verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from keel._input import Fields, read_table
from keel.errors import InputError

Layout = Literal["wide", "long", "pairwise"]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "pass", "passed", "accept", "accepted",
                        "correct", "good", "1", "1.0"})  # fmt: skip
FALSE_WORDS = frozenset({"false", "f", "no", "n", "fail", "failed", "reject", "rejected",
                         "incorrect", "wrong", "bad", "0", "0.0"})  # fmt: skip
MISSING_WORDS = frozenset({"", "na", "n/a", "nan", "none", "null", "missing"})
KEY_SEPARATOR = " / "
NOT_JUDGE_WORDS = frozenset({
    "human", "gold", "confidence", "conf", "certainty", "uncertainty", "prob", "probability",
    "logprob", "logit", "annotator", "rater", "id", "idx", "index", "time", "timestamp",
    "latency", "duration", "cost", "tokens", "length", "seed", "temperature",
})  # fmt: skip
"""Words of a column name (split at punctuation and camelCase) that mark human-side or
metadata data: such a column is a judge only when named as one (`--judge`)."""


JUDGE_FIELDS = Fields.of(
    item=(),
    human="human",
    judges=(),
    judge="judge",
    run="run",
    verdict="verdict",
    score="score",
    human_score="human_score",
    category="category",
    subject="subject",
    group="group",
)
"""Which column holds each role of a verdict table (`JUDGE_FIELDS.map(role=column)` to choose
yours). `item`: the item id, one column or several joined into one id (a wide table without
one numbers its rows; a long one reads `item`); `human`: the human label; `judges`: the judge
columns of a wide table (none: found by their cells, module docstring); `judge`, `run`,
`verdict`, `score`: a long table's judge, run/repeat, verdict and score; `human_score`: the
human ordinal score; `category`, `subject`, `group`: the item's category, the model that
produced it, and the group of per-group figures. A role left at its default column is used
only when the file has that column; a column given with `map` must exist."""
WIDE_ROLES = frozenset({"item", "judges", "human", "human_score", "category", "subject", "group"})
"""The roles a wide table reads (`judge`, `run`, `verdict` and `score` are a long table's)."""
LONG_ROLES = frozenset(JUDGE_FIELDS.columns) - {"judges"}
"""The roles a long table reads."""


@dataclass(frozen=True, slots=True)
class JudgeTable:
    """Verdicts of J judges on N items with up to R runs each, aligned with the human labels.

    `verdicts[j, i, r]` is 1 (accept), 0 (reject) or NaN (missing); `human[i]` likewise.
    `category[i]` / `subject[i]` / `group[i]` index `categories` / `subjects` / `groups`
    (-1: none); `group_by` names the group column. `missing[j]` counts the verdict cells the
    files left empty for judge j; `blank_rows` the fully blank rows dropped (no item, no
    missing verdict). `skipped_columns` did not read as labels, `excluded_columns` were left
    out by their name (`NOT_JUDGE_WORDS`).
    """

    source: str
    items: tuple[str, ...]
    judges: tuple[str, ...]
    human: Floats
    verdicts: Floats
    scores: Floats | None = None
    human_scores: Floats | None = None
    categories: tuple[str, ...] = ()
    category: Ints | None = None
    subjects: tuple[str, ...] = ()
    subject: Ints | None = None
    missing: Ints | None = None
    skipped_columns: tuple[str, ...] = ()
    excluded_columns: tuple[str, ...] = ()
    blank_rows: int = 0
    groups: tuple[str, ...] = ()
    group: Ints | None = None
    group_by: str | None = None

    @property
    def n_runs(self) -> int:
        return int(self.verdicts.shape[2])


# -- cells -----------------------------------------------------------------------------------
def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def column_as(table: pa.Table, name: str, kind: pa.DataType, where: str) -> pa.Array:
    """Column `name` cast to `kind`; an `InputError` names the file (`where`) and the column
    when its cells cannot be (words for numbers, arrays for text...)."""
    try:
        return _column(table, name).cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"{where} column {name}: expected {kind} values ({exc})") from exc


def parse_labels(
    values: pa.Array, *, threshold: float | None, where: str
) -> tuple[Floats, Floats | None]:
    """Labels (1/0/NaN) and, for numeric cells, the scores they came from.

    Numbers other than 0/1 are scores and need `threshold` (score >= threshold accepts).
    `where` is "FILE column C" for error messages.
    """
    if pa.types.is_boolean(values.type):
        return values.cast(pa.float64()).to_numpy(zero_copy_only=False), None
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return _from_scores(
            values.cast(pa.float64()).to_numpy(zero_copy_only=False), threshold, where
        )
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        if pa.types.is_null(values.type):
            return np.full(len(values), np.nan), None
        raise InputError(f"{where}: holds {values.type} values, not labels")
    encoded = pc.dictionary_encode(values)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    words = [str(w).strip().lower() for w in encoded.dictionary.to_pylist()]
    known = np.array([w in TRUE_WORDS or w in FALSE_WORDS or w in MISSING_WORDS for w in words])
    if known.all():
        table = np.array(
            [1.0 if w in TRUE_WORDS else 0.0 if w in FALSE_WORDS else np.nan for w in words]
        )
        return _lookup(table, codes), None
    numbers = np.array([_as_number(w) for w in words])
    bad = ~known & np.isnan(numbers)
    if bad.any():
        first = int(np.flatnonzero(np.isin(codes, np.flatnonzero(bad)))[0])
        raise InputError(
            f"{where} row {first + 1}: {encoded.dictionary[int(codes[first])]!s:.40} is not a "
            "label (use true/false, yes/no, pass/fail, 1/0, or a score with a threshold)"
        )
    numbers[[w in MISSING_WORDS for w in words]] = np.nan
    return _from_scores(_lookup(numbers, codes), threshold, where)


def _as_number(word: str) -> float:
    try:
        return float(word)
    except ValueError:
        return float("nan")


def _lookup(table: Floats, codes: Floats) -> Floats:
    out = np.full(codes.shape, np.nan)
    ok = ~np.isnan(codes)
    out[ok] = table[codes[ok].astype(np.int64)]
    return out


def _from_scores(
    scores: Floats, threshold: float | None, where: str
) -> tuple[Floats, Floats | None]:
    ok = ~np.isnan(scores)
    binary = np.isin(scores[ok], (0.0, 1.0)).all()
    if threshold is None:
        if not binary:
            row = int(np.flatnonzero(ok & ~np.isin(scores, (0.0, 1.0)))[0])
            raise InputError(
                f"{where} row {row + 1}: {scores[row]:g} is a score, not a label; "
                "pass a threshold (--threshold / --human-threshold) to turn scores into labels"
            )
        return scores, None
    labels = np.where(ok, (scores >= threshold).astype(np.float64), np.nan)
    return labels, scores


def _keys(table: pa.Table, names: Sequence[str], where: str, keep: Ints) -> list[str]:
    """The item ids of rows `keep` (positions from 0), joined from the columns `names`."""
    parts = []
    for name in names:
        col = column_as(table, name, pa.string(), where).take(pa.array(keep))
        if col.null_count:
            row = int(keep[np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0]])
            raise InputError(f"{where} column {name} row {row + 1}: the item id is empty")
        parts.append(col.to_pylist())
    return [KEY_SEPARATOR.join(t) for t in zip(*parts, strict=True)]


def _blank_rows(table: pa.Table) -> npt.NDArray[np.bool_]:
    """Rows whose every cell is empty (null, or text of only whitespace): padding, not items."""
    blank = np.ones(table.num_rows, dtype=bool)
    for name in table.column_names:
        col = _column(table, name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        empty = col.is_null()
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            spaces = pc.equal(pc.utf8_trim_whitespace(col), "").fill_null(True)
            empty = pc.or_(empty, spaces)
        blank &= empty.to_numpy(zero_copy_only=False)
    return blank


def _name_words(name: str) -> set[str]:
    """The lower-case words of a column name, split at punctuation and camelCase."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w.lower() for w in re.split(r"[^0-9A-Za-z]+", spaced) if w}


def _no_human_column(source: str, name: str, found: Sequence[str]) -> InputError:
    """The default human column is absent: name it, the columns found, and likely candidates."""
    like = [c for c in found if _name_words(c) & {"human", "gold"}]
    hint = ""
    if len(like) == 1:
        hint = f"; {like[0]} looks like one"
    elif like:
        hint = f"; candidates: {', '.join(like)}"
    return InputError(
        f"{source}: no human labels: no column {name!r}, the default human-label column; name "
        f"yours with --human COLUMN{hint} (columns found: {', '.join(found)})"
    )


def _strings(table: pa.Table, name: str, where: str) -> list[str | None]:
    values: list[str | None] = column_as(table, name, pa.string(), where).to_pylist()
    return values


def _check(fields: Fields, table: pa.Table, path: Path, layout: Layout) -> None:
    """Refuse a file without a column the layout needs (the item and judge columns) or one
    the user named for a role the layout reads."""
    wide = layout == "wide"
    mine = replace(fields, given=fields.given & (WIDE_ROLES if wide else LONG_ROLES))
    mine.check(table.column_names, str(path), need=("item", "judges" if wide else "judge"))


def _optional(table: pa.Table, fields: Fields, role: str) -> str | None:
    """The column of an optional role when this file has it (`_check` refused a file without
    a column the user named)."""
    name = fields.get(role)
    return name if name is not None and name in table.column_names else None


# -- rows of all files, before items are aligned --------------------------------------------
@dataclass(slots=True)
class _Rows:
    """Verdict rows gathered from every file: one entry per (item, judge, run) cell."""

    item: list[str] = field(default_factory=list)
    judge: list[str] = field(default_factory=list)
    run: list[str] = field(default_factory=list)
    verdict: list[Floats] = field(default_factory=list)
    score: list[Floats] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    row: list[Ints] = field(default_factory=list)
    per_item: dict[str, dict[str, tuple[object, str]]] = field(default_factory=dict)
    has_score: bool = False
    skipped: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    blank: int = 0


def _note_item(rows: _Rows, role: str, item: str, value: object, where: str) -> None:
    """Record an item-level value (human label, category...), refusing contradictions."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return
    seen = rows.per_item.setdefault(role, {})
    old = seen.get(item)
    if old is None:
        seen[item] = (value, where)
    elif old[0] != value:
        raise InputError(
            f"{where}: item {item!r} has {role} {value!r} here but {old[0]!r} at {old[1]}"
        )


def _item_values(
    rows: _Rows,
    table: pa.Table,
    items: list[str],
    keep: Ints,
    fields: Fields,
    path: Path,
    human_threshold: float | None,
) -> None:
    """Note the item-level values (human label and score, category, subject, group) of rows
    `keep`, whose item ids are `items`."""
    where = str(path)

    def note(role: str, values: list[object]) -> None:
        for r, it in zip(keep.tolist(), items, strict=True):
            _note_item(rows, role, it, values[r], f"{where} row {r + 1}")

    name = _optional(table, fields, "human")
    if name is not None:
        human, hscore = parse_labels(
            _column(table, name), threshold=human_threshold, where=f"{where} column {name}"
        )
        note("human label", human.tolist())
        if hscore is not None:
            note("human score", hscore.tolist())
    hs = _optional(table, fields, "human_score")
    if hs is not None:
        note("human score", column_as(table, hs, pa.float64(), where).to_pylist())
    for role in ("category", "subject", "group"):
        col = _optional(table, fields, role)
        if col is not None:
            note(role, list(_strings(table, col, where)))


def _add_wide(
    rows: _Rows,
    table: pa.Table,
    path: Path,
    fields: Fields,
    multi: bool,
    keep: Ints,
    thresholds: tuple[float | None, float | None],
) -> None:
    """The verdicts of rows `keep` of a wide table: one column per judge (module docstring).
    `thresholds`: the judges' and the human's."""
    where = str(path)
    n = keep.size
    threshold, human_threshold = thresholds
    item_cols = fields.names("item")
    if item_cols:
        items = _keys(table, item_cols, where, keep)
    else:
        prefix = f"{path.name}:" if multi else ""
        items = [f"{prefix}{r + 1}" for r in keep.tolist()]
    _item_values(rows, table, items, keep, fields, path, human_threshold)
    used = {
        name
        for role in ("item", "human", "human_score", "category", "subject", "group")
        for name in fields.names(role)
    }
    told = fields.names("judges")
    if told:
        judges = list(told)
    else:
        free = [c for c in table.column_names if c not in used]
        excluded = [c for c in free if _name_words(c) & NOT_JUDGE_WORDS]
        rows.excluded += excluded
        judges = [c for c in free if c not in excluded]
    seen: dict[str, int] = {}
    runs = []
    for it in items:
        runs.append(str(seen.get(it, 0)))
        seen[it] = seen.get(it, 0) + 1
    for judge in judges:
        try:
            verdict, score = parse_labels(
                _column(table, judge), threshold=threshold, where=f"{where} column {judge}"
            )
        except InputError:
            if told:
                raise
            rows.skipped.append(judge)
            continue
        rows.item.extend(items)
        rows.judge.extend([judge] * n)
        rows.run.extend(runs)
        rows.verdict.append(verdict[keep])
        rows.score.append(score[keep] if score is not None else np.full(n, np.nan))
        rows.has_score |= score is not None
        rows.where.extend([where] * n)
        rows.row.append(keep + 1)


def _add_long(
    rows: _Rows,
    table: pa.Table,
    path: Path,
    fields: Fields,
    keep: Ints,
    thresholds: tuple[float | None, float | None],
) -> None:
    """The verdicts of rows `keep` of a long table: one verdict per row. `fields` names an
    item column (`read_judge_table`); `thresholds`: the judges' and the human's."""
    where = str(path)
    n = keep.size
    threshold, human_threshold = thresholds
    items = _keys(table, fields.names("item"), where, keep)
    _item_values(rows, table, items, keep, fields, path, human_threshold)
    judge_col = fields["judge"]
    every_judge = _strings(table, judge_col, where)
    raw_judges = [every_judge[r] for r in keep.tolist()]
    if None in raw_judges:
        row = int(keep[raw_judges.index(None)]) + 1
        raise InputError(f"{where} column {judge_col} row {row}: the judge is empty")
    judges = [str(j) for j in raw_judges]
    run_col = _optional(table, fields, "run")
    if run_col is not None:
        every_run = _strings(table, run_col, where)
        runs = [str(every_run[r]) for r in keep.tolist()]
    else:
        seen: dict[tuple[str, str], int] = {}
        runs = []
        for key in zip(items, judges, strict=True):
            runs.append(str(seen.get(key, 0)))
            seen[key] = seen.get(key, 0) + 1
    verdict_col = _optional(table, fields, "verdict")
    score_col = _optional(table, fields, "score")
    score = np.full(n, np.nan)
    if score_col is not None:
        scores = column_as(table, score_col, pa.float64(), where)
        score = scores.to_numpy(zero_copy_only=False)[keep]
        rows.has_score = True
    if verdict_col is not None:
        every_verdict, from_score = parse_labels(
            _column(table, verdict_col),
            threshold=threshold,
            where=f"{where} column {verdict_col}",
        )
        verdict = every_verdict[keep]
        if from_score is not None:
            score, rows.has_score = from_score[keep], True
    elif score_col is not None and threshold is not None:
        verdict = np.where(np.isnan(score), np.nan, (score >= threshold).astype(float))
    else:
        raise InputError(
            f"{path}: no verdict column {fields.get('verdict')!r} "
            "(or a score column with --threshold)"
        )
    rows.item.extend(items)
    rows.judge.extend(judges)
    rows.run.extend(runs)
    rows.verdict.append(verdict)
    rows.score.append(score)
    rows.where.extend([where] * n)
    rows.row.append(keep + 1)


def _codes(values: Sequence[str]) -> tuple[tuple[str, ...], Ints]:
    """Distinct values in first-seen order and each value's index among them."""
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), np.int64, len(values))
    return tuple(index), codes


def _per_item(rows: _Rows, role: str, items: tuple[str, ...]) -> dict[str, object]:
    seen = rows.per_item.get(role, {})
    return {it: seen[it][0] for it in items if it in seen}


def _category_codes(
    rows: _Rows, role: str, items: tuple[str, ...]
) -> tuple[tuple[str, ...], Ints | None]:
    values = _per_item(rows, role, items)
    if not values:
        return (), None
    names = tuple(sorted({str(v) for v in values.values()}))
    index = {name: k for k, name in enumerate(names)}
    codes = np.array([index[str(values[it])] if it in values else -1 for it in items])
    return names, codes.astype(np.int64)


def read_judge_table(
    paths: Sequence[Path],
    fields: Fields | None = None,
    *,
    layout: Layout = "wide",
    threshold: float | None = None,
    human_threshold: float | None = None,
) -> JudgeTable:
    """Read wide or long verdict tables (several files are stacked) into one `JudgeTable`.

    `fields`: `JUDGE_FIELDS` with the user's columns (default: `JUDGE_FIELDS`). Scores are
    turned into labels at `threshold` (the judges') and `human_threshold` (the human's):
    score >= threshold accepts; without one, a score other than 0/1 is refused."""
    if not paths:
        raise InputError("no input file given")
    if layout not in ("wide", "long"):
        raise InputError(f"layout {layout!r} is read by read_pairwise")
    f = fields or JUDGE_FIELDS
    if layout == "long" and not f.names("item"):
        f = replace(f, columns={**f.columns, "item": ("item",)})  # a long table's default
    thresholds = (threshold, human_threshold)
    rows = _Rows()
    found: dict[str, None] = {}
    for path in paths:
        table = read_table(path)
        found.update(dict.fromkeys(table.column_names))
        _check(f, table, path, layout)
        blank = _blank_rows(table)
        rows.blank += int(blank.sum())
        keep = np.flatnonzero(~blank)
        if layout == "wide":
            _add_wide(rows, table, path, f, len(paths) > 1, keep, thresholds)
        else:
            _add_long(rows, table, path, f, keep, thresholds)
    if not rows.item:
        raise InputError(f"{', '.join(map(str, paths))}: no judge verdicts found")
    items, item_code = _codes(rows.item)
    judges, judge_code = _codes(rows.judge)
    runs, run_code = _codes(rows.run)
    verdict = np.concatenate(rows.verdict)
    score = np.concatenate(rows.score)
    flat = (judge_code * len(items) + item_code) * len(runs) + run_code
    order = np.argsort(flat, kind="stable")
    dup = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if dup.size:
        k = int(order[dup[0] + 1])
        row_no = np.concatenate(rows.row)[k]
        raise InputError(
            f"{rows.where[k]} row {row_no}: a second verdict of judge {rows.judge[k]!r} on "
            f"item {rows.item[k]!r} in run {rows.run[k]!r}; give each repeat its own run"
        )
    source = ", ".join(str(p) for p in paths)
    human_col = f["human"]
    if human_col not in found:
        raise _no_human_column(source, human_col, tuple(found))
    shape = (len(judges), len(items), len(runs))
    dense = np.full(shape, np.nan)
    dense.reshape(-1)[flat] = verdict
    missing = np.bincount(judge_code[np.isnan(verdict)], minlength=len(judges))
    dense_scores = None
    if rows.has_score:
        dense_scores = np.full(shape, np.nan)
        dense_scores.reshape(-1)[flat] = score
    human_values = _per_item(rows, "human label", items)
    human = np.array([float(human_values.get(it, np.nan)) for it in items])  # type: ignore[arg-type]
    hs_values = _per_item(rows, "human score", items)
    human_scores = (
        np.array([float(hs_values.get(it, np.nan)) for it in items])  # type: ignore[arg-type]
        if hs_values
        else None
    )
    categories, category = _category_codes(rows, "category", items)
    subjects, subject = _category_codes(rows, "subject", items)
    groups, group = _category_codes(rows, "group", items)
    return JudgeTable(
        source=source,
        items=items,
        judges=judges,
        human=human,
        verdicts=dense,
        scores=dense_scores,
        human_scores=human_scores,
        categories=categories,
        category=category,
        subjects=subjects,
        subject=subject,
        missing=missing.astype(np.int64),
        skipped_columns=tuple(dict.fromkeys(rows.skipped)),
        excluded_columns=tuple(dict.fromkeys(rows.excluded)),
        blank_rows=rows.blank,
        groups=groups,
        group=group,
        group_by=f.get("group") if group is not None else None,
    )
