"""`keel ingest` fuzzed on JSONL, CSV and Parquet files: random and mutated bytes, and JSON that
nests deep, holds numbers no double keeps, repeats keys, starts with a BOM or holds odd unicode.

Whatever the file, the command exits 0 or 2 with no traceback, and an ingest that exits 2 leaves
the ledger as it was (an ingest is one transaction).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.ledger import Ledger
from keel_cli import Cli

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OPTIONS = st.sampled_from(
    [
        (),
        ("--origin", "human"),
        ("--origin", "synthetic", "--producer", "m", "--field", "id=id"),
        ("--origin", "expert", "--field", "json=doc"),
    ]
)

Ingest = Callable[[bytes, str, tuple[str, ...]], None]


@pytest.fixture
def ingest_file(tmp_path: Path, cli: Cli) -> Ingest:
    """`ingest_file(data, suffix, options)` runs `keel ingest` on `data` and checks the outcome."""
    db = tmp_path / "k.db"
    seed = tmp_path / "seed.jsonl"
    seed.write_text('{"text": "seed", "origin": "human"}\n')
    cli.ok("ingest", str(seed), db=db)
    names = itertools.count()

    def size() -> int:
        with Ledger.open(db, create=False) as led:
            return led.size

    def run(data: bytes, suffix: str, options: tuple[str, ...]) -> None:
        path = tmp_path / f"in-{next(names)}{suffix}"
        path.write_bytes(data)
        before = size()
        code, out, err = cli("ingest", str(path), *options, "--json", db=db)
        assert "Traceback" not in err
        assert code in (0, 2), err
        if code == 2:
            assert err.startswith("error: "), err
            assert size() == before
        else:
            report = json.loads(out)
            assert report["ledger_size"] == size() == before + len(report["appended"])

    return run


# --- JSON as written: literals, repeated keys, deep nesting, odd strings ----------------------

numbers = st.from_regex(
    r"-?(0|[1-9][0-9]{0,22})(\.[0-9]{1,22})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)
odd_strings = st.sampled_from(
    ['"\\ud800"', '"\\udc00x"', '"\\u0000"', '"\\u003a"', '"\u2028"', '"\U0001f600"', '"\\/"']
)
strings = st.text(max_size=8).map(lambda s: json.dumps(s, ensure_ascii=False)) | odd_strings
scalars = numbers | strings | st.sampled_from(["true", "false", "null", "NaN", "-Infinity"])
keys = (
    st.sampled_from(
        ["text", "origin", "tags", "parents", "id", "generation", "producer", "author", "doc"]
    ).map(json.dumps)
    | strings
)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"


values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")
        | st.lists(st.tuples(keys, inner), max_size=4).map(_object)
    ),
    max_leaves=12,
)
nested_arrays = (st.sampled_from([64, 65, 300, 1000, 1024, 1025]) | st.integers(1, 1100)).map(
    lambda n: "[" * n + "]" * n
)
deep = nested_arrays | nested_arrays.map(lambda d: '{"a":' + d + "}")
rows = st.tuples(
    st.tuples(st.just('"text"'), strings),
    st.tuples(st.just('"origin"'), st.sampled_from(['"human"', '"synthetic"', '"robot"', "null"])),
    st.lists(
        st.tuples(st.sampled_from(['"tags"', '"doc"', '"producer"']), values | deep), max_size=1
    ),
    st.lists(st.tuples(keys, values | deep), max_size=3),
).map(lambda r: _object([r[0], r[1], *r[2], *r[3]]))


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few bytes replaced, inserted or deleted."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(out)))
        new = draw(st.binary(max_size=3))
        out[at : at + draw(st.integers(0, 3))] = new
    return bytes(out)


def _jsonl(lines: list[str], bom: bool, newline: str) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + newline.join(lines).encode("utf-8", "surrogatepass")


jsonl_files = st.builds(
    _jsonl, st.lists(rows | values, max_size=4), st.booleans(), st.sampled_from(["\n", "\r\n"])
)


@FUZZ
@given(data=st.data(), options=OPTIONS)
def test_jsonl_documents(
    ingest_file: Ingest, data: st.DataObject, options: tuple[str, ...]
) -> None:
    ingest_file(data.draw(jsonl_files), ".jsonl", options)


@FUZZ
@given(data=st.data(), options=OPTIONS)
def test_jsonl_bytes(ingest_file: Ingest, data: st.DataObject, options: tuple[str, ...]) -> None:
    raw = data.draw(jsonl_files.flatmap(mutated) | st.binary(max_size=200))
    ingest_file(raw, ".jsonl", options)


# --- CSV --------------------------------------------------------------------------------------

columns = st.lists(
    st.sampled_from(["text", "origin", "tags", "parents", "id", "generation", "doc", "author"]),
    min_size=1,
    max_size=5,
)
cells = values | deep | st.text(max_size=8) | st.sampled_from(["human", "", "3", "1e400"])


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(columns)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 3))):
        writer.writerow(draw(st.lists(cells, min_size=len(header), max_size=len(header) + 1)))
    bom = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    return bom + buffer.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(data=st.data(), options=OPTIONS)
def test_csv(ingest_file: Ingest, data: st.DataObject, options: tuple[str, ...]) -> None:
    raw = data.draw(csv_files() | csv_files().flatmap(mutated) | st.binary(max_size=200))
    ingest_file(raw, ".csv", options)


# --- Parquet ----------------------------------------------------------------------------------

parquet_columns = st.fixed_dictionaries(
    {},
    optional={
        "text": st.lists(st.text(max_size=6) | st.binary(max_size=6), min_size=3, max_size=3),
        "origin": st.lists(st.sampled_from(["human", "robot", None]), min_size=3, max_size=3),
        "tags": st.lists(values | st.none(), min_size=3, max_size=3),
        "generation": st.lists(st.integers(-(2**63), 2**63 - 1), min_size=3, max_size=3),
        "id": st.lists(st.floats() | st.none(), min_size=3, max_size=3),
        "doc": st.lists(st.lists(st.integers(-(2**63), 2**63 - 1)), min_size=3, max_size=3),
    },
)


def _parquet(table: dict[str, Any]) -> bytes:
    """A Parquet file of `table`; a text column mixing bytes in holds them unchecked as UTF-8."""
    arrays = {}
    for name, column in table.items():
        if name == "text" and any(isinstance(v, bytes) for v in column):
            raw = pa.array([v if isinstance(v, bytes) else str(v).encode() for v in column])
            arrays[name] = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())
        else:
            arrays[name] = pa.array(column)
    buffer = io.BytesIO()
    pq.write_table(pa.table(arrays) if arrays else pa.table({"x": [1]}), buffer)
    return buffer.getvalue()


@FUZZ
@given(data=st.data(), options=OPTIONS)
def test_parquet(ingest_file: Ingest, data: st.DataObject, options: tuple[str, ...]) -> None:
    valid = data.draw(parquet_columns.map(_parquet))
    raw = data.draw(st.just(valid) | mutated(valid) | st.binary(max_size=200))
    ingest_file(raw, ".parquet", options)
