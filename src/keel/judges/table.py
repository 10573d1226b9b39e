"""Reading judge verdicts with human labels from wide, long and pairwise tables.

A wide table has one row per item: an item id (or none: the row number is the id), the human
label, one column per judge. A long table has one row per verdict: item, judge, optional run,
verdict and/or score, human label. CSV, JSONL and Parquet files are read with pyarrow. Labels
are booleans, strings (`true/yes/pass/accept/correct/1` and their opposites) or scores turned
into labels with a threshold. Missing verdicts and labels are kept as NaN and counted, never
guessed; a malformed cell raises `InputError` naming the file, row and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from keel import jsonl
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


@dataclass(frozen=True, slots=True)
class Columns:
    """Which column holds each role. Optional roles left at their default name are used only
    when the file has such a column; a name given explicitly must exist."""

    item: tuple[str, ...] = ()
    human: str = "human"
    judges: tuple[str, ...] = ()
    judge: str = "judge"
    run: str = "run"
    verdict: str = "verdict"
    score: str = "score"
    human_score: str = "human_score"
    category: str = "category"
    subject: str = "subject"
    threshold: float | None = None
    human_threshold: float | None = None
    explicit: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class JudgeTable:
    """Verdicts of J judges on N items with up to R runs each, aligned with the human labels.

    `verdicts[j, i, r]` is 1 (accept), 0 (reject) or NaN (missing); `human[i]` likewise.
    `category[i]` / `subject[i]` index `categories` / `subjects` (-1: none). `missing[j]`
    counts the verdict cells the files left empty for judge j.
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

    @property
    def n_runs(self) -> int:
        return int(self.verdicts.shape[2])


# -- files -----------------------------------------------------------------------------------
def read_file(path: Path) -> pa.Table:
    """Read a CSV, JSONL or Parquet file into an arrow table (by its suffix); every column must
    have its own name."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            opts = pacsv.ParseOptions(newlines_in_values=True)
            table = pacsv.read_csv(path, parse_options=opts)
        elif suffix in (".parquet", ".pq"):
            table = pq.read_table(path)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            table = _read_jsonl(path)
        else:
            raise InputError(f"{path}: unknown file type {suffix!r}; use .csv, .jsonl or .parquet")
        names = table.column_names
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: cannot read it as {suffix[1:]}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: a column name is not UTF-8 text ({exc.reason})") from exc
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        first = seen.setdefault(name, k)
        if first != k:
            raise InputError(
                f"{path}: columns {first + 1} and {k + 1} are both named {name!r}; rename one"
            )
    return table


def _read_jsonl(path: Path) -> pa.Table:
    """Rows of JSON objects as a table; a column of mixed types, arrays or objects is read as
    text (its cells are not labels, and say so if used as such)."""
    rows = [row for _, _, row in jsonl.objects(path)]
    names = dict.fromkeys(key for row in rows for key in row)
    columns = {key: [row.get(key) for row in rows] for key in names}
    arrays = {}
    for key, values in columns.items():
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = None
        if array is None or pa.types.is_nested(array.type):
            array = pa.array([None if v is None else str(v) for v in values])
        arrays[key] = array
    return pa.table(arrays) if arrays else pa.table({})


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


def _keys(table: pa.Table, names: Sequence[str], where: str) -> list[str]:
    parts = []
    for name in names:
        col = column_as(table, name, pa.string(), where)
        if col.null_count:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{where} column {name} row {row + 1}: the item id is empty")
        parts.append(col.to_pylist())
    return [KEY_SEPARATOR.join(t) for t in zip(*parts, strict=True)]


def _strings(table: pa.Table, name: str, where: str) -> list[str | None]:
    values: list[str | None] = column_as(table, name, pa.string(), where).to_pylist()
    return values


def _require(table: pa.Table, names: Sequence[str], path: Path) -> None:
    for name in names:
        if name not in table.column_names:
            have = ", ".join(table.column_names)
            raise InputError(f"{path}: no column {name!r} (columns: {have})")


def _optional(table: pa.Table, cols: Columns, role: str, path: Path) -> str | None:
    name: str = getattr(cols, role)
    if name in table.column_names:
        return name
    if role in cols.explicit:
        _require(table, [name], path)
    return None


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


def _item_values(rows: _Rows, table: pa.Table, items: list[str], cols: Columns, path: Path) -> None:
    where = str(path)
    name = _optional(table, cols, "human", path)
    if name is not None:
        human, hscore = parse_labels(
            _column(table, name), threshold=cols.human_threshold, where=f"{where} column {name}"
        )
        for r, (it, h) in enumerate(zip(items, human.tolist(), strict=True)):
            _note_item(rows, "human label", it, h, f"{where} row {r + 1}")
        if hscore is not None:
            for r, (it, s) in enumerate(zip(items, hscore.tolist(), strict=True)):
                _note_item(rows, "human score", it, s, f"{where} row {r + 1}")
    hs = _optional(table, cols, "human_score", path)
    if hs is not None:
        values = column_as(table, hs, pa.float64(), where).to_numpy(zero_copy_only=False)
        for r, (it, s) in enumerate(zip(items, values.tolist(), strict=True)):
            _note_item(rows, "human score", it, s, f"{where} row {r + 1}")
    for role in ("category", "subject"):
        col = _optional(table, cols, role, path)
        if col is not None:
            for r, (it, v) in enumerate(zip(items, _strings(table, col, where), strict=True)):
                _note_item(rows, role, it, v, f"{where} row {r + 1}")


def _add_wide(rows: _Rows, table: pa.Table, path: Path, cols: Columns, multi: bool) -> list[str]:
    where = str(path)
    n = table.num_rows
    _require(table, cols.item, path)
    if cols.item:
        items = _keys(table, cols.item, where)
    else:
        prefix = f"{path.name}:" if multi else ""
        items = [f"{prefix}{r + 1}" for r in range(n)]
    _item_values(rows, table, items, cols, path)
    used = {*cols.item, cols.human, cols.human_score, cols.category, cols.subject}
    skipped: list[str] = []
    if cols.judges:
        _require(table, cols.judges, path)
        judges = list(cols.judges)
    else:
        judges = [c for c in table.column_names if c not in used]
    seen: dict[str, int] = {}
    runs = []
    for it in items:
        runs.append(str(seen.get(it, 0)))
        seen[it] = seen.get(it, 0) + 1
    row_numbers = np.arange(1, n + 1, dtype=np.int64)
    for judge in judges:
        try:
            verdict, score = parse_labels(
                _column(table, judge), threshold=cols.threshold, where=f"{where} column {judge}"
            )
        except InputError:
            if cols.judges:
                raise
            skipped.append(judge)
            continue
        rows.item.extend(items)
        rows.judge.extend([judge] * n)
        rows.run.extend(runs)
        rows.verdict.append(verdict)
        rows.score.append(score if score is not None else np.full(n, np.nan))
        rows.has_score |= score is not None
        rows.where.extend([where] * n)
        rows.row.append(row_numbers)
    return skipped


def _add_long(rows: _Rows, table: pa.Table, path: Path, cols: Columns) -> None:
    where = str(path)
    n = table.num_rows
    item_cols = cols.item or ("item",)
    _require(table, [*item_cols, cols.judge], path)
    items = _keys(table, item_cols, where)
    _item_values(rows, table, items, cols, path)
    raw_judges = _strings(table, cols.judge, where)
    if None in raw_judges:
        row = raw_judges.index(None) + 1
        raise InputError(f"{where} column {cols.judge} row {row}: the judge is empty")
    judges = [str(j) for j in raw_judges]
    run_col = _optional(table, cols, "run", path)
    if run_col is not None:
        runs = [str(v) for v in _strings(table, run_col, where)]
    else:
        seen: dict[tuple[str, str], int] = {}
        runs = []
        for key in zip(items, judges, strict=True):
            runs.append(str(seen.get(key, 0)))
            seen[key] = seen.get(key, 0) + 1
    verdict_col = _optional(table, cols, "verdict", path)
    score_col = _optional(table, cols, "score", path)
    score = np.full(n, np.nan)
    if score_col is not None:
        score = column_as(table, score_col, pa.float64(), where).to_numpy(zero_copy_only=False)
        rows.has_score = True
    if verdict_col is not None:
        verdict, from_score = parse_labels(
            _column(table, verdict_col),
            threshold=cols.threshold,
            where=f"{where} column {verdict_col}",
        )
        if from_score is not None:
            score, rows.has_score = from_score, True
    elif score_col is not None and cols.threshold is not None:
        verdict = np.where(np.isnan(score), np.nan, (score >= cols.threshold).astype(float))
    else:
        raise InputError(
            f"{path}: no verdict column {cols.verdict!r} (or a score column with --threshold)"
        )
    rows.item.extend(items)
    rows.judge.extend(judges)
    rows.run.extend(runs)
    rows.verdict.append(verdict)
    rows.score.append(score)
    rows.where.extend([where] * n)
    rows.row.append(np.arange(1, n + 1, dtype=np.int64))


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
    paths: Sequence[Path], columns: Columns | None = None, *, layout: Layout = "wide"
) -> JudgeTable:
    """Read wide or long verdict tables (several files are stacked) into one `JudgeTable`."""
    cols = columns or Columns()
    if not paths:
        raise InputError("no input file given")
    rows = _Rows()
    skipped: list[str] = []
    for path in paths:
        table = read_file(path)
        if layout == "wide":
            skipped += _add_wide(rows, table, path, cols, len(paths) > 1)
        elif layout == "long":
            _add_long(rows, table, path, cols)
        else:
            raise InputError(f"layout {layout!r} is read by read_pairwise_table")
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
    return JudgeTable(
        source=", ".join(str(p) for p in paths),
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
        skipped_columns=tuple(dict.fromkeys(skipped)),
    )
