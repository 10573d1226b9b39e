"""A TOML writer for configs: scalars, tables and arrays of tables (what `loop.toml` holds).

Python reads TOML (`tomllib`) but does not write it; this writes the subset keel's configs use,
so that `tomllib.loads(dumps(d)) == d` for such a dict.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from keel.errors import ConfigError


def dumps(data: Mapping[str, Any]) -> str:
    """TOML text for `data`: top-level scalars first, then tables, then arrays of tables."""
    return "\n".join(_table(data, ())).lstrip("\n") + "\n"


def _table(data: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    lines: list[str] = []
    if path:
        lines += ["", f"[{'.'.join(map(_key, path))}]"]
    tables = []
    arrays = []
    for k, v in data.items():
        if isinstance(v, Mapping):
            tables.append((k, v))
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            arrays.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar(v, k)}")
    for k, v in tables:
        lines += _table(v, (*path, k))
    for k, items in arrays:
        for item in items:
            lines += ["", f"[[{'.'.join(map(_key, (*path, k)))}]]"]
            lines += [f"{_key(ik)} = {_scalar(iv, ik)}" for ik, iv in item.items()]
    return lines


def _key(k: str) -> str:
    bare = k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k)
    return k if bare else _string(k)


def _string(s: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, plus DEL, which TOML wants escaped."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _scalar(v: object, key: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ConfigError(f"{key}: TOML configs hold finite numbers, got {v}")
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x, key) for x in v) + "]"
    raise ConfigError(f"{key}: cannot write {type(v).__name__} {v!r} to TOML")
