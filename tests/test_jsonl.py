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
