"""The one reader of user files (`keel._input`): rows with their line numbers, texts, corpora,
the field mapping; errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel._input import (
    Fields,
    detect_format,
    read_corpus,
    read_rows,
    read_table,
    read_texts,
    text_rows,
)
from keel.errors import InputError


def test_objects_come_with_their_line_numbers_and_sizes(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n{"b": "\xc3\xa9"}\n{"c": null}')
    rows = list(read_rows(path))
    assert [(n, r) for n, _, r in rows] == [(1, {"a": 1}), (4, {"b": "é"}), (5, {"c": None})]
    assert sum(size for _, size, _ in rows) == path.stat().st_size - len(b"\n   \n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{"a": \n', r"b.jsonl:2: not valid JSON"),
        (b'{"a": 1}\n[1, 2]\n', r"b.jsonl:2: expected a JSON object, got list"),
        (b'{"a": "\xff"}\n', r"b.jsonl:1: not UTF-8"),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        list(read_rows(path))


def test_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_rows(tmp_path / "missing.jsonl"))


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"b": 2}\n')
    assert [(n, r) for n, _, r in read_rows(path)] == [(1, {"a": 1}), (2, {"b": 2})]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"a": 1, "a": 2}', "c.jsonl:2: key 'a' appears twice in one object"),
        (b'{"t": {"n": 18446744073709551616}}', "c.jsonl:2: t.n: integer 18446744073709551616"),
        (b'{"t": {"n": 1e-400}}', "c.jsonl:2: t.n: number 1e-400 is not exactly a double"),
        (b'{"t": ' + b"[" * 1000 + b"]" * 1000 + b"}", "c.jsonl:2: t: nested deeper than 64"),
    ],
)
def test_json_that_cannot_be_logged_exactly_is_named(
    tmp_path: Path, line: bytes, message: str
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"fine": 1}\n' + line + b"\n")
    with pytest.raises(InputError) as exc:
        list(read_rows(path))
    assert str(exc.value).startswith(f"{tmp_path / message}")


def test_the_format_comes_from_the_suffix_or_the_option(tmp_path: Path) -> None:
    assert detect_format(Path("x.NDJSON")) == "jsonl"
    assert detect_format(Path("x.pq")) == "parquet"
    assert detect_format(Path("x.data"), "csv") == "csv"
    with pytest.raises(InputError, match=r"cannot tell the format.*pass --format"):
        detect_format(Path("x.data"))
    with pytest.raises(InputError, match="--format must be one of"):
        detect_format(Path("x.jsonl"), "xml")


def test_csv_jsonl_and_parquet_give_the_same_rows(tmp_path: Path) -> None:
    rows = [{"text": "one", "n": "1"}, {"text": "two, with a comma"}]
    (tmp_path / "r.csv").write_text('text,n\none,1\n"two, with a comma",\n', encoding="utf-8")
    (tmp_path / "r.jsonl").write_text(
        '{"text": "one", "n": "1"}\n{"text": "two, with a comma"}\n', encoding="utf-8"
    )
    pq.write_table(pa.table({"text": ["one", "two, with a comma"], "n": ["1", None]}),
                   tmp_path / "r.parquet")  # fmt: skip
    for name in ("r.csv", "r.jsonl", "r.parquet"):
        assert [row for _, _, row in read_rows(tmp_path / name)] == rows, name
        assert read_texts(tmp_path / name) == ["one", "two, with a comma"], name
        assert read_table(tmp_path / name).column_names == ["text", "n"], name


def test_text_files_give_their_non_blank_lines(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_bytes(b"\xef\xbb\xbf first \n\n  \nsecond\r\n")
    assert read_texts(tmp_path / "t.txt") == ["first", "second"]


def test_a_row_without_its_text_is_named(tmp_path: Path) -> None:
    (tmp_path / "t.jsonl").write_text('{"text": "a"}\n{"body": "b"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"t.jsonl:2: the text column 'text' is missing"):
        read_texts(tmp_path / "t.jsonl")
    assert next(text_rows(tmp_path / "t.jsonl")) == ("a", {"text": "a"})


@pytest.mark.parametrize("name", ["t.txt", "t.csv", "t.jsonl"])
def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    good = '{"text": "fine"}' if name.endswith(".jsonl") else "fine"
    head = "text\n" if name.endswith(".csv") else ""
    path.write_bytes(f"{head}{good}\n{good}\n".encode() + b"caf\xe9\n")
    line = 4 if head else 3
    with pytest.raises(InputError, match=rf"{name}:{line}: not UTF-8"):
        read_texts(path)


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b,a\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns 1 and 3 are both named 'a'"):
        list(read_rows(tmp_path / "d.csv"))
    with pytest.raises(InputError, match="columns 1 and 3 are both named 'a'"):
        read_table(tmp_path / "d.csv")


def test_a_corpus_is_a_file_a_folder_or_fortunes(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"text": "first"}\n', encoding="utf-8")
    (tmp_path / "report.html").write_text("<p>not a text</p>", encoding="utf-8")
    assert read_corpus(tmp_path) == ["first", "second"]
    assert read_corpus(tmp_path / "b.txt") == ["second"]
    fortunes = read_corpus("fortunes")
    assert len(fortunes) > 1000
    assert not any("$FreeBSD" in t for t in fortunes)
    with pytest.raises(InputError, match="no such file or folder"):
        read_corpus(tmp_path / "missing")


def test_fields_take_the_users_columns_over_the_defaults() -> None:
    fields = Fields.of(text="text", id=None, parents="parents")
    mapped = fields.parse(["id=key", "parents=up"])
    assert (mapped["text"], mapped.get("id"), mapped["parents"]) == ("text", "key", "up")
    assert mapped.given == {"id", "parents"}
    assert fields.get("id") is None
    with pytest.raises(InputError, match="ROLE one of id, parents, text"):
        fields.parse(["nope=x"])
    with pytest.raises(InputError, match="given twice"):
        fields.parse(["id=a", "id=b"])


def test_a_column_the_user_named_must_exist() -> None:
    mapped = Fields.of(text="text", parents="parents").parse(["parents=parnts"])
    mapped.check(["parnts", "id"], "f.csv")  # "text", a default left unmapped, may be absent
    with pytest.raises(InputError) as exc:
        mapped.check(["text", "id"], "f.csv:1")
    assert str(exc.value) == (
        "f.csv:1: no column 'parnts' (--field parents=parnts); columns found: text, id"
    )


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".jsonl", ".txt"]))
def test_any_bytes_read_or_fail_with_an_input_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        texts = read_texts(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert all(isinstance(t, str) for t in texts)
