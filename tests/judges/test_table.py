"""Reading tables: layouts, formats, label words, ids, missing cells and malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keel.errors import InputError
from keel.judges import Columns, JudgeTable, parse_labels, read_judge_table


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_wide_csv_row_numbers_are_item_ids_and_missing_cells_are_counted(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "w.csv", "human,a,b\nyes,pass,True\nno,,False\n,fail,1\n")
    t = read_judge_table([f])
    assert t.items == ("1", "2", "3")
    assert t.judges == ("a", "b")
    np.testing.assert_array_equal(t.human, [1, 0, np.nan])
    np.testing.assert_array_equal(t.verdicts[:, :, 0], [[1, np.nan, 0], [1, 0, 1]])
    assert t.missing is not None and t.missing.tolist() == [1, 0]


def test_wide_auto_judges_skip_text_columns(triviaqa: JudgeTable) -> None:
    assert len(triviaqa.judges) == 11
    assert set(triviaqa.skipped_columns) == {"response", "question", "references", "benchmark"}
    assert triviaqa.verdicts.shape == (11, 3600, 1)
    assert triviaqa.missing is not None and triviaqa.missing.tolist()[5] == 135


def test_composite_item_ids_group_repeats(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "w.csv", "q,m,human,a\n1,x,1,1\n1,y,0,0\n1,x,1,0\n")
    t = read_judge_table([f], Columns(item=("q", "m")))
    assert t.items == ("1 / x", "1 / y")
    assert t.n_runs == 2
    np.testing.assert_array_equal(t.verdicts[0], [[1, 0], [0, np.nan]])


def test_long_jsonl_with_runs_scores_and_categories(tmp_path: Path) -> None:
    rows = [
        {"item": "i1", "judge": "g", "run": 1, "score": 0.9, "human": "pass", "category": "c"},
        {"item": "i1", "judge": "g", "run": 2, "score": 0.2, "human": "pass", "category": "c"},
        {"item": "i2", "judge": "g", "run": 1, "score": None, "human": "fail", "category": "d"},
    ]
    f = tmp_path / "l.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    t = read_judge_table([f], Columns(threshold=0.5), layout="long")
    assert t.categories == ("c", "d")
    np.testing.assert_array_equal(t.verdicts[0], [[1, 0], [np.nan, np.nan]])
    assert t.scores is not None and t.scores[0, 0, 0] == 0.9


def test_parquet_long_table(tmp_path: Path) -> None:
    f = tmp_path / "l.parquet"
    pq.write_table(
        pa.table({"item": ["a", "b"], "judge": ["j", "j"], "verdict": [True, None],
                  "human": [True, False]}),
        f,
    )  # fmt: skip
    t = read_judge_table([f], layout="long")
    assert t.missing is not None and t.missing.tolist() == [1]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["True", "no", "PASS", "reject", "", None], [1, 0, 1, 0, np.nan, np.nan]),
        (["1", "0", "correct", "n/a"], [1, 0, 1, np.nan]),
    ],
)
def test_label_words(values: list[str | None], expected: list[float]) -> None:
    labels, scores = parse_labels(pa.array(values), threshold=None, where="f column c")
    np.testing.assert_array_equal(labels, expected)
    assert scores is None


def test_scores_need_a_threshold() -> None:
    with pytest.raises(InputError, match=r"f column c row 2: 0.7 is a score.*threshold"):
        parse_labels(pa.array([1.0, 0.7]), threshold=None, where="f column c")
    labels, scores = parse_labels(pa.array([0.9, 0.7, None]), threshold=0.8, where="f")
    np.testing.assert_array_equal(labels, [1, 0, np.nan])
    assert scores is not None


def test_malformed_cell_names_file_row_and_column(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "bad.csv", "human,a\nyes,pass\nno,maybe\n")
    with pytest.raises(InputError, match=r"bad.csv column a row 2: maybe is not a label"):
        read_judge_table([f], Columns(judges=("a",)))


def test_conflicting_human_labels_and_duplicate_verdicts(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "l.csv", "item,judge,verdict,human\nx,j,1,1\nx,k,1,0\n")
    with pytest.raises(InputError, match=r"l.csv row 2: item 'x' has human label 0.0"):
        read_judge_table([f], layout="long")
    g = write_csv(tmp_path / "d.csv", "item,judge,run,verdict\nx,j,1,1\nx,j,1,0\n")
    with pytest.raises(InputError, match=r"d.csv row 2: a second verdict of judge 'j'"):
        read_judge_table([g], layout="long")


def test_missing_columns_and_files(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "w.csv", "human,a\n1,1\n")
    with pytest.raises(InputError, match="no column 'zz'"):
        read_judge_table([f], Columns(judges=("zz",)))
    with pytest.raises(InputError, match="no such file"):
        read_judge_table([tmp_path / "nope.csv"])
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(InputError, match=r"x.jsonl:2: not valid JSON"):
        read_judge_table([bad])
