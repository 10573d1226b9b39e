"""JSON Lines reading: objects with their line numbers; errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel import jsonl
from keel.errors import InputError


def test_objects_come_with_their_line_numbers_and_sizes(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n{"b": "\xc3\xa9"}\n{"c": null}')
    rows = list(jsonl.objects(path))
    assert [(n, r) for n, _, r in rows] == [(1, {"a": 1}), (4, {"b": "é"}), (5, {"c": None})]
    assert sum(size for _, size, _ in rows) == path.stat().st_size - len(b"\n   \n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{"a": \n', r"b.jsonl:2: not valid JSON"),
        (b'{"a": 1}\n[1, 2]\n', r"b.jsonl:2: expected a JSON object, got list"),
        (b'{"a": "\xff"}\n', r"b.jsonl:1: not valid JSON"),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        list(jsonl.objects(path))


def test_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(jsonl.objects(tmp_path / "missing.jsonl"))


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"b": 2}\n')
    assert [(n, r) for n, _, r in jsonl.objects(path)] == [(1, {"a": 1}), (2, {"b": 2})]


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
        list(jsonl.objects(path))
    assert str(exc.value).startswith(f"{tmp_path / message}")
