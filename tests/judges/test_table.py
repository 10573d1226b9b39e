"""Reading tables: layouts, formats, label words, ids, missing cells and malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keel.errors import InputError
from keel.judges import JUDGE_FIELDS, JudgeTable, parse_labels, read_judge_table


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
    t = read_judge_table([f], JUDGE_FIELDS.map(item=("q", "m")))
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
    t = read_judge_table([f], layout="long", threshold=0.5)
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
        read_judge_table([f], JUDGE_FIELDS.map(judges=("a",)))


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
        read_judge_table([f], JUDGE_FIELDS.map(judges=("zz",)))
    with pytest.raises(InputError, match="no such file"):
        read_judge_table([tmp_path / "nope.csv"])
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(InputError, match=r"x.jsonl:2: not valid JSON"):
        read_judge_table([bad])


def test_without_the_default_human_column_the_error_names_it_and_lists_the_columns(
    tmp_path: Path,
) -> None:
    f = write_csv(tmp_path / "w.csv", "HumanJudgement,a,b\nTrue,yes,no\nFalse,no,no\n")
    with pytest.raises(InputError) as caught:
        read_judge_table([f])
    message = str(caught.value)
    assert "no column 'human'" in message and "--human" in message
    assert "columns found: HumanJudgement, a, b" in message
    assert "HumanJudgement looks like one" in message


def test_human_confidence_and_metadata_columns_are_no_default_judges(tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "w.csv",
        "Human-Eval,Human-Eval_Confidence,judgeConfidence,a,question\n"
        "True,True,1,yes,why?\nFalse,True,0,no,how?\nTrue,False,1,yes,who?\n",
    )
    t = read_judge_table([f], JUDGE_FIELDS.map(human="Human-Eval"))
    assert t.judges == ("a",)
    assert t.excluded_columns == ("Human-Eval_Confidence", "judgeConfidence")
    assert t.skipped_columns == ("question",)
    scores = write_csv(
        tmp_path / "s.csv", "human,a,p_confidence,latency_ms\n1,0.9,0.3,120\n0,0.2,0.8,95\n"
    )
    assert read_judge_table([scores], threshold=0.5).judges == ("a",)
    told = JUDGE_FIELDS.map(judges=("a", "judgeConfidence"), human="Human-Eval")
    assert read_judge_table([f], told).judges == ("a", "judgeConfidence")


def test_fully_blank_rows_are_counted_as_blank_not_as_missing_verdicts(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "w.csv", "id,human,a,b\nq1,yes,yes,no\n,,,\nq2,no,no,\n , ,,\n")
    t = read_judge_table([f], JUDGE_FIELDS.map(item=("id",)))
    assert t.items == ("q1", "q2")
    assert t.blank_rows == 2
    assert t.missing is not None and t.missing.tolist() == [0, 1]
    numbered = read_judge_table([f])
    assert numbered.items == ("1", "3")
    bad = write_csv(tmp_path / "bad.csv", "human,a\nyes,yes\n,\nno,maybe\n")
    with pytest.raises(InputError, match=r"bad.csv column a row 3: maybe is not a label"):
        read_judge_table([bad], JUDGE_FIELDS.map(judges=("a",)))
    long = write_csv(tmp_path / "l.csv", "item,judge,verdict,human\nx,j,1,1\n,,,\ny,j,0,0\n")
    lt = read_judge_table([long], layout="long")
    assert lt.items == ("x", "y") and lt.blank_rows == 1


def test_group_column_is_read_per_item(tmp_path: Path) -> None:
    f = write_csv(tmp_path / "w.csv", "model,human,a\nm2,yes,yes\nm1,no,no\nm2,no,yes\n")
    t = read_judge_table([f], JUDGE_FIELDS.map(group="model"))
    assert t.judges == ("a",)
    assert t.groups == ("m1", "m2") and t.group_by == "model"
    assert t.group is not None and t.group.tolist() == [1, 0, 1]


def test_real_table_without_human_names_the_default_column_and_lists_the_rest(
    triviaqa_path: Path, tmp_path: Path
) -> None:
    with pytest.raises(InputError) as caught:
        read_judge_table([triviaqa_path])
    message = str(caught.value)
    assert "no column 'human'" in message and "HumanJudgement looks like one" in message
    assert "columns found: model, response, question, references, benchmark, Mistral-7B" in message
