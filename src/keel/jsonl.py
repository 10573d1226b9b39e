"""JSON Lines files: one JSON object per line, read with line numbers for error messages."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

import orjson

from keel.errors import InputError
from keel.records import parse_json


def objects(path: Path) -> Iterator[tuple[int, int, dict[str, object]]]:
    """(line number, bytes in the line, object) for every non-blank line of a JSONL file.

    A UTF-8 byte order mark at the start of the file is skipped. A line that is not JSON, not
    an object, or JSON that `keel.records.parse_json` refuses (an inexact number, a repeated
    key, nesting too deep) stops the read with `file:line` and the reason.
    """
    try:
        f = path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc
    with f:
        if f.peek(len(codecs.BOM_UTF8)).startswith(codecs.BOM_UTF8):
            f.read(len(codecs.BOM_UTF8))
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row: object = parse_json(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
            except InputError as exc:
                raise InputError(f"{path}:{lineno}: {exc}") from exc
            if not isinstance(row, dict):
                raise InputError(
                    f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}"
                )
            yield lineno, len(line), row
