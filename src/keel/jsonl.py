"""JSON Lines files: one JSON object per line, read with line numbers for error messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from keel.errors import InputError


def objects(path: Path) -> Iterator[tuple[int, int, dict[str, object]]]:
    """(line number, bytes in the line, object) for every non-blank line of a JSONL file.

    A line that is not JSON, or not an object, stops the read with `file:line` and the reason.
    """
    try:
        f = path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from exc
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise InputError(
                    f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}"
                )
            yield lineno, len(line), row
