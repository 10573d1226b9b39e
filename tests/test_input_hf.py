"""Hugging Face datasets on disk (`keel._input.hf_shards` / `read_hf_rows`, `keel ingest --hf`):
a `save_to_disk` folder read in the order its state.json lists the shards, Parquet shards in
name order, rows streamed a batch at a time, the same records as ingest of a file, errors that
name the shard and row, and any bytes in those files giving exit 0 or 2 with nothing appended
on failure.

Folders are built with pyarrow in the layout `datasets` writes (`save_like_datasets`); the
tests marked `extra` check that layout against the real `datasets` library."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from extra_modules import need
from keel._input import HF_BATCH, hf_shards, read_hf_rows
from keel.errors import InputError
from keel.ledger import INGEST_FIELDS, Defaults, Ledger, ingest
from keel.ledger.ingest import ingest_hf
from keel.records import Producer
from keel_cli import Cli

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def arrow_stream(table: pa.Table, batch: int = 1000) -> bytes:
    """An Arrow IPC stream of `table` in record batches of `batch` rows, as `datasets` writes."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for b in table.to_batches(max_chunksize=batch):
            writer.write_batch(b)
    return bytes(sink.getvalue().to_pybytes())


def save_like_datasets(folder: Path, shards: Sequence[pa.Table], order: Sequence[int] = ()) -> None:
    """A `save_to_disk` folder: data-0000i-of-0000n.arrow files, dataset_info.json and a
    state.json listing the shards (in `order`, by default their own)."""
    folder.mkdir(parents=True)
    names = [f"data-{i:05d}-of-{len(shards):05d}.arrow" for i in range(len(shards))]
    for name, table in zip(names, shards, strict=True):
        (folder / name).write_bytes(arrow_stream(table))
    listed = [names[i] for i in order] if order else names
    state = {
        "_data_files": [{"filename": n} for n in listed],
        "_fingerprint": "0123456789abcdef",
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    (folder / "state.json").write_text(json.dumps(state, indent=2))
    (folder / "dataset_info.json").write_text('{"citation": "", "description": ""}')


def texts(prefix: str, n: int) -> pa.Table:
    return pa.table({"text": [f"{prefix} {i}" for i in range(n)], "origin": ["human"] * n})


def rows_of(source: str | Path) -> list[dict[str, object]]:
    return [row for _, _, row in read_hf_rows(hf_shards(source))]


# -- finding and reading the shards -----------------------------------------------------------
def test_shards_are_read_in_the_order_state_json_lists_them(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    save_like_datasets(folder, [texts("a", 2), texts("b", 1), texts("c", 2)], order=[2, 0, 1])
    shards = hf_shards(folder)
    assert shards.format == "arrow"
    assert [f.name for f in shards.files] == [
        "data-00002-of-00003.arrow",
        "data-00000-of-00003.arrow",
        "data-00001-of-00003.arrow",
    ]
    placed = list(read_hf_rows(shards))
    assert [row["text"] for _, _, row in placed] == ["c 0", "c 1", "a 0", "a 1", "b 0"]
    assert [place for place, _, _ in placed][:3] == [
        f"{folder}/data-00002-of-00003.arrow:row 1",
        f"{folder}/data-00002-of-00003.arrow:row 2",
        f"{folder}/data-00000-of-00003.arrow:row 1",
    ]
    assert sum(nbytes for _, nbytes, _ in placed) <= shards.size


def test_parquet_shards_a_folder_a_glob_or_one_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i, prefix in enumerate(["x", "y", "z"]):
        pq.write_table(texts(prefix, 2), data / f"train-{i:05d}-of-00003.parquet")
    pq.write_table(texts("t", 1), data / "test-00000-of-00001.parquet")
    (data / "README.md").write_text("not a shard")
    everything = ["t 0", "x 0", "x 1", "y 0", "y 1", "z 0", "z 1"]
    assert [r["text"] for r in rows_of(data)] == everything
    assert [r["text"] for r in rows_of(f"{data}/train-*.parquet")] == everything[1:]
    assert [r["text"] for r in rows_of(f"{tmp_path}/**/test-*.parquet")] == ["t 0"]
    assert rows_of(data / "train-00001-of-00003.parquet") == [
        {"text": "y 0", "origin": "human"},
        {"text": "y 1", "origin": "human"},
    ]
    single = tmp_path / "one.arrow"
    single.write_bytes(arrow_stream(texts("s", 1)))
    assert rows_of(single) == [{"text": "s 0", "origin": "human"}]


def test_cells_keep_their_types_and_nulls_are_left_out(tmp_path: Path) -> None:
    table = pa.table(
        {
            "text": ["a", None],
            "generation": [3, 4],
            "parents": [["p1", "p2"], []],
            "messages": [[{"role": "user", "content": "hi"}], None],
        }
    )
    save_like_datasets(tmp_path / "ds", [table])
    assert rows_of(tmp_path / "ds") == [
        {
            "text": "a",
            "generation": 3,
            "parents": ["p1", "p2"],
            "messages": [{"role": "user", "content": "hi"}],
        },
        {"generation": 4, "parents": []},
    ]


def test_a_large_record_batch_is_read_in_slices(tmp_path: Path) -> None:
    n = HF_BATCH + 5
    path = tmp_path / "big.arrow"
    path.write_bytes(arrow_stream(pa.table({"n": list(range(n))}), batch=n))
    placed = list(read_hf_rows(hf_shards(path)))
    assert [row["n"] for _, _, row in placed] == list(range(n))
    assert placed[-1][0] == f"{path}:row {n}"


def test_rows_are_streamed_shard_by_shard(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    save_like_datasets(folder, [texts("a", 2), texts("b", 2)])
    (folder / "data-00001-of-00002.arrow").write_bytes(b"not arrow at all")
    rows = read_hf_rows(hf_shards(folder))
    assert next(rows)[2]["text"] == "a 0"  # read before the broken shard is opened
    assert next(rows)[2]["text"] == "a 1"
    with pytest.raises(InputError, match=r"data-00001-of-00002.arrow: not a readable Arrow stream"):
        next(rows)


def write_state(folder: Path, state: object) -> None:
    (folder / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("{not json", "state.json: not valid JSON"),
        ({"_data_files": "data.arrow"}, 'no "_data_files" list'),
        ({"_data_files": [{"filename": "../elsewhere.arrow"}]}, "must be"),
        ({"_data_files": [{"filename": "/abs/data.arrow"}]}, "must be"),
        ({"_data_files": [{"name": "data-00000-of-00001.arrow"}]}, "must be"),
        ({"_data_files": [{"filename": "data-00009-of-00010.arrow"}]}, "copy the whole folder"),
    ],
)
def test_a_bad_state_json_is_named(tmp_path: Path, state: object, message: str) -> None:
    folder = tmp_path / "ds"
    save_like_datasets(folder, [texts("a", 1)])
    if isinstance(state, str):
        (folder / "state.json").write_text(state)
    else:
        write_state(folder, state)
    with pytest.raises(InputError, match=message) as exc:
        hf_shards(folder)
    assert "state.json" in str(exc.value)


def test_what_is_not_a_dataset_is_refused_saying_what_is_read(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.csv").write_text("text\na\n")
    split = tmp_path / "dd" / "train"
    save_like_datasets(split, [texts("a", 1)])
    (tmp_path / "dd" / "dataset_dict.json").write_text('{"splits": ["train"]}')
    cases = {
        tmp_path / "missing": "no such file or folder",
        tmp_path / "empty": "no state.json",
        tmp_path / "notes.csv": "without --hf",
        tmp_path / "dd": f"give one split's folder, e.g. --hf {split}",
        f"{tmp_path}/*.nothing": "no file matches",
        f"{tmp_path}/*": "not a .parquet file",
    }
    for source, message in cases.items():
        with pytest.raises(InputError, match=message):
            hf_shards(source)


def test_strings_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    raw = pa.array([b"fine", b"caf\xe9"])
    bad = pa.Array.from_buffers(pa.string(), 2, raw.buffers())
    path = tmp_path / "bad.arrow"
    path.write_bytes(arrow_stream(pa.table({"text": bad})))
    with pytest.raises(InputError, match=r"bad.arrow: not a readable Arrow stream file.*UTF8"):
        rows_of(path)
    pq.write_table(pa.table({"text": bad}), tmp_path / "bad.parquet")
    with pytest.raises(InputError, match=r"bad.parquet:row 2: column 'text' is not UTF-8"):
        rows_of(tmp_path / "bad.parquet")


# -- ingest -----------------------------------------------------------------------------------
ROWS = pa.table(
    {
        "key": ["k0", "k1", "k2"],
        "text": ["first", "second", "third"],
        "origin": ["human", "synthetic", "synthetic"],
        "up": [None, "k0", "k0 k1"],
        "generation": [0, 1, 2],
    }
)


def test_ingest_hf_gives_the_records_ingest_gives_for_the_same_rows(tmp_path: Path) -> None:
    fields = INGEST_FIELDS.parse(["id=key", "parents=up"])
    defaults = Defaults(producer=Producer("model-x", "2"))
    save_like_datasets(tmp_path / "ds", [ROWS.slice(0, 2), ROWS.slice(2)])
    pq.write_table(ROWS, tmp_path / "rows.parquet")
    with Ledger.open(tmp_path / "a.db") as a, Ledger.open(tmp_path / "b.db") as b:
        from_hf = ingest_hf(a, hf_shards(tmp_path / "ds"), fields_=fields, defaults=defaults)
        from_file = ingest(b, tmp_path / "rows.parquet", fields_=fields, defaults=defaults)
        assert from_hf.ids == from_file.ids
        assert from_hf.rows == 3
        assert from_hf.path == str(tmp_path / "ds")
        assert a.root() == b.root()
        third = a.locate("k2").entry
        assert third.parents == (a.locate("k0").id, a.locate("k1").id)  # type: ignore[union-attr]


def test_a_bad_row_in_a_later_shard_appends_nothing(tmp_path: Path) -> None:
    bad = pa.table({"text": ["fine", "also fine"], "origin": ["human", "robot"]})
    save_like_datasets(tmp_path / "ds", [texts("a", 3), bad])
    with Ledger.open(tmp_path / "k.db") as led:
        with pytest.raises(InputError) as exc:
            ingest_hf(led, hf_shards(tmp_path / "ds"))
        assert str(exc.value).startswith(f"{tmp_path}/ds/data-00001-of-00002.arrow:row 2: origin")
        assert led.size == 0
        with pytest.raises(InputError, match="no row has a value in column 'writer'"):
            fields = INGEST_FIELDS.parse(["author=writer"])
            ingest_hf(led, hf_shards(tmp_path / "ds" / "data-00000-of-00002.arrow"), fields_=fields)
        assert led.size == 0


def test_the_command(tmp_path: Path, cli: Cli) -> None:
    save_like_datasets(tmp_path / "ds", [texts("a", 2), texts("b", 1)])
    db = tmp_path / "k.db"
    code, out, err = cli("ingest", "--hf", str(tmp_path / "ds"), "--json", db=db)
    assert code == 0, err
    report = json.loads(out)
    assert (report["file"], report["rows"], len(report["appended"])) == (str(tmp_path / "ds"), 3, 3)
    assert report["ledger_size"] == 3
    again = cli.json("ingest", "--hf", str(tmp_path / "ds"), db=db)
    assert again["appended"] == [] and again["existing"] == report["appended"]
    (tmp_path / "f.jsonl").write_text('{"text": "x", "origin": "human"}\n')
    for args, message in [
        (("ingest", str(tmp_path / "f.jsonl"), "--hf", str(tmp_path / "ds")), "not both"),
        (("ingest",), "missing FILE"),
        (("ingest", "--hf", str(tmp_path / "ds"), "--format", "csv"), "--format is for FILE"),
    ]:
        code, _, err = cli(*args, db=db)
        assert code == 2
        assert message in err
    code, _, err = cli("ingest", "--hf", str(tmp_path / "nowhere"), db=tmp_path / "new.db")
    assert code == 2
    assert "no such file or folder" in err
    assert not (tmp_path / "new.db").exists()  # refused before a ledger is made


# -- any bytes --------------------------------------------------------------------------------
Run = Callable[[str, tuple[str, ...]], None]


@pytest.fixture
def ingest_hf_cli(tmp_path: Path, cli: Cli) -> Run:
    """`run(source, options)`: `keel ingest --hf SOURCE` must exit 0 or 2 with no traceback,
    and a refusal must leave the ledger as it was."""
    db = tmp_path / "k.db"
    seed = tmp_path / "seed.jsonl"
    seed.write_text('{"text": "seed", "origin": "human"}\n')
    cli.ok("ingest", str(seed), db=db)

    def size() -> int:
        with Ledger.open(db, create=False) as led:
            return led.size

    def run(source: str, options: tuple[str, ...]) -> None:
        before = size()
        code, out, err = cli("ingest", "--hf", source, *options, "--json", db=db)
        event(f"exit {code}")
        assert "Traceback" not in err
        assert code in (0, 2), err
        if code == 2:
            assert err.startswith("error: "), err
            assert size() == before
        else:
            assert (
                json.loads(out)["ledger_size"]
                == size()
                == before + len(json.loads(out)["appended"])
            )

    return run


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few bytes replaced, inserted or deleted, or cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out)))
        if draw(st.booleans()):
            out[at : at + draw(st.integers(0, 3))] = draw(st.binary(max_size=3))
        else:
            del out[at:]
    return bytes(out)


cells = st.one_of(st.text(max_size=6), st.sampled_from(["human", "synthetic", "robot", "[1]"]))
generations = st.integers(0, 9) | st.integers(-(2**63), 2**63 - 1)
tag_cells = st.sampled_from(['{"a": 1}', "[", "{}", "x", None])


def _table(n: int) -> st.SearchStrategy[dict[str, list[object]]]:
    def column(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[object]]:
        return st.lists(values, min_size=n, max_size=n)

    return st.fixed_dictionaries(
        {"text": column(cells)},
        optional={"origin": column(cells | st.none()), "generation": column(generations),
                  "tags": column(tag_cells)},
    )  # fmt: skip


tables = st.integers(0, 4).flatmap(_table).map(pa.table)
OPTIONS = st.sampled_from([(), ("--origin", "human"), ("--origin", "expert", "--field", "id=text")])
names = itertools.count()


@FUZZ
@given(data=st.data(), options=OPTIONS)
def test_any_bytes_in_a_save_to_disk_folder(
    tmp_path: Path, ingest_hf_cli: Run, data: st.DataObject, options: tuple[str, ...]
) -> None:
    folder = tmp_path / f"ds-{next(names)}"
    save_like_datasets(folder, data.draw(st.lists(tables, min_size=1, max_size=2)))
    files = sorted(p.name for p in folder.iterdir() if p.name != "dataset_info.json")
    broken = (
        data.draw(st.sets(st.sampled_from(files), max_size=2)) if data.draw(st.booleans()) else ()
    )
    for name in broken:
        original = (folder / name).read_bytes()
        (folder / name).write_bytes(data.draw(mutated(original) | st.binary(max_size=300)))
    ingest_hf_cli(str(folder), options)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


@FUZZ
@given(data=st.data(), options=OPTIONS)
def test_any_bytes_in_parquet_shards(
    tmp_path: Path, ingest_hf_cli: Run, data: st.DataObject, options: tuple[str, ...]
) -> None:
    folder = tmp_path / f"pq-{next(names)}"
    folder.mkdir()
    shards = [parquet_bytes(t) for t in data.draw(st.lists(tables, min_size=1, max_size=2))]
    for i, valid in enumerate(shards):
        broken = data.draw(st.integers(0, 2)) == 0
        raw = data.draw(mutated(valid) | st.binary(max_size=300)) if broken else valid
        (folder / f"train-{i:05d}.parquet").write_bytes(raw)
    ingest_hf_cli(str(folder) if data.draw(st.booleans()) else f"{folder}/*.parquet", options)


# -- the real `datasets` library ([hf] extra) -------------------------------------------------
@pytest.mark.extra
def test_a_folder_datasets_saved_reads_as_datasets_reads_it(tmp_path: Path) -> None:
    datasets = need("datasets", "hf")
    ds = datasets.Dataset.from_dict(
        {
            "text": [f"row {i}" for i in range(10)],
            "score": [i / 10 for i in range(10)],
            "messages": [[{"role": "user", "content": f"q{i}"}] for i in range(10)],
        }
    )
    folder = tmp_path / "saved"
    ds.save_to_disk(str(folder), num_shards=3)
    state = json.loads((folder / "state.json").read_text())
    state["_data_files"].reverse()  # a listed order that is not the names' order
    write_state(folder, state)
    expected = [
        {k: v for k, v in row.items() if v is not None}
        for row in datasets.load_from_disk(str(folder))
    ]
    assert [row["text"] for row in expected][:2] != ["row 0", "row 1"]
    assert rows_of(folder) == expected
    ours = tmp_path / "ours"
    save_like_datasets(ours, [ds.data.table.slice(0, 4), ds.data.table.slice(4)])
    assert sorted(r["text"] for r in rows_of(ours)) == sorted(r["text"] for r in expected)


@pytest.mark.extra
def test_the_command_ingests_what_datasets_saved(tmp_path: Path, cli: Cli) -> None:
    datasets = need("datasets", "hf")
    data = {"prompt": ["2+2?", "capital of France?"], "origin": ["synthetic", "synthetic"]}
    datasets.Dataset.from_dict(data).save_to_disk(str(tmp_path / "train"))
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict(data)})
    dd.save_to_disk(str(tmp_path / "dd"))
    db = tmp_path / "k.db"
    report = cli.json(
        "ingest", "--hf", str(tmp_path / "train"), "--field", "text=prompt",
        "--producer", "model-x", db=db,
    )  # fmt: skip
    assert report["rows"] == 2 and len(report["appended"]) == 2
    code, _, err = cli("ingest", "--hf", str(tmp_path / "dd"), db=db)
    assert code == 2
    assert f"--hf {tmp_path / 'dd' / 'train'}" in err
