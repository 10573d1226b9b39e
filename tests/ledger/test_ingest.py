"""keel.ledger.ingest: the row fast path is pinned to the generic record builders; JSONL, CSV and
Parquet agree; ingest is all-or-nothing per file and idempotent; external ids become keel ids."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import keel.ledger.log as log_module
from keel._input import detect_format
from keel.errors import InputError, NotFoundError
from keel.ledger import INGEST_FIELDS, Defaults, Ledger, ingest
from keel.ledger.ingest import RowBuilder
from keel.records import (
    JSON,
    ORIGINS,
    Producer,
    Record,
    entry_bytes,
    json_record,
    text_record,
)

MAX_SAFE = 2**53 - 1

# --- the fast path equals text_record / json_record + entry_bytes ------------------------------

hex_ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
floats = st.floats(allow_nan=False, allow_infinity=False)
safe_ints = st.integers(-MAX_SAFE, MAX_SAFE)
short_text = st.text(max_size=12)
json_scalars = st.none() | st.booleans() | safe_ints | floats | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(short_text, c, max_size=3),
    max_leaves=10,
)
producers = st.builds(
    Producer,
    model=short_text,
    version=st.none() | short_text,
    params=st.dictionaries(short_text, floats | safe_ints | short_text, max_size=4),
    prompt_sha256=st.none() | hex_ids,
)


@st.composite
def rows_and_expectations(draw: st.DrawFn) -> tuple[dict[str, Any], Defaults, dict[str, Any]]:
    """A row, the defaults, and the keyword arguments text_record must get for the same entry."""
    row: dict[str, Any] = {}
    want: dict[str, Any] = {}
    d: dict[str, Any] = {}

    origin = draw(st.sampled_from(ORIGINS))
    if draw(st.booleans()):
        row["origin"] = origin
        if draw(st.booleans()):  # a row's own origin beats the default
            d["origin"] = draw(st.sampled_from(ORIGINS))
    else:
        d["origin"] = origin
    want["origin"] = origin

    author = draw(st.none() | short_text)
    if author is not None:
        if draw(st.booleans()):
            row["author"] = author
        else:
            d["author"] = author
    want["author"] = author

    producer = draw(st.none() | producers)
    if producer is not None:
        how = draw(st.sampled_from(["default", "row-object", "row-name"]))
        if how == "row-name":
            producer = Producer(producer.model)
            row["producer"] = producer.model
        elif how == "row-object":
            row["producer"] = producer.to_json()
        else:
            d["producer"] = producer
    want["producer"] = producer

    generation = draw(st.none() | safe_ints)
    if generation is not None:
        how = draw(st.sampled_from(["default", "row", "row-string"]))
        if how == "row":
            row["generation"] = generation
        elif how == "row-string":
            row["generation"] = str(generation)
        else:
            d["generation"] = generation
    want["generation"] = generation

    default_tags = draw(st.dictionaries(short_text, json_values, max_size=3))
    row_tags = draw(st.none() | st.dictionaries(short_text, json_values, min_size=1, max_size=3))
    d["tags"] = default_tags
    if row_tags is not None:
        row["tags"] = row_tags
    want["tags"] = {**default_tags, **(row_tags or {})}

    parents = draw(st.lists(hex_ids, max_size=3))
    if parents:
        row["parents"] = parents if draw(st.booleans()) else " ".join(parents)
    want["parents"] = parents
    return row, Defaults(**d), want


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150)
@given(st.text(), rows_and_expectations())
def test_row_builder_equals_text_record(
    text: str, case: tuple[dict[str, Any], Defaults, dict[str, Any]]
) -> None:
    row, defaults, want = case
    pending = RowBuilder(INGEST_FIELDS, defaults).build({**row, "text": text}, "f.jsonl:1")
    record, data = text_record(text, **want)
    assert pending.entry == entry_bytes(record)
    assert pending.payload == data
    assert pending.payload_digest is not None
    assert pending.payload_digest.hex() == record.payload.sha256
    assert pending.refs == record.parents
    assert pending.kind == "record"


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=100)
@given(json_values, rows_and_expectations())
def test_row_builder_equals_json_record(
    value: JSON, case: tuple[dict[str, Any], Defaults, dict[str, Any]]
) -> None:
    row, defaults, want = case
    pending = RowBuilder(INGEST_FIELDS.map(json="doc"), defaults).build(
        {**row, "doc": value}, "f:1"
    )
    record, data = json_record(value, **want)
    assert pending.entry == entry_bytes(record)
    assert pending.payload == data


def test_row_builder_empty_tags_like_text_record() -> None:
    pending = RowBuilder(INGEST_FIELDS, Defaults()).build(
        {"text": "t", "origin": "human", "tags": {}}, "f:1"
    )
    assert pending.entry == entry_bytes(text_record("t", "human", tags={})[0])


def test_row_builder_normalises_producer_objects() -> None:
    b = RowBuilder(INGEST_FIELDS, Defaults())
    pending = b.build(
        {"text": "t", "origin": "human", "producer": {"model": "m", "version": None, "params": {}}},
        "f:1",
    )
    assert pending.entry == entry_bytes(text_record("t", "human", producer=Producer("m"))[0])


def test_row_builder_rejects_bad_default_origin() -> None:
    with pytest.raises(InputError, match="--origin"):
        RowBuilder(INGEST_FIELDS, Defaults(origin="robot"))


# --- files -----------------------------------------------------------------------------------

ROWS: list[dict[str, Any]] = [
    {"text": "The cat sat on the mat.", "origin": "human", "author": "ana", "generation": 0,
     "tags": {"lang": "en"}},
    {"text": "Le chat, assis.\nSur deux lignes, avec \"guillemets\".", "origin": "synthetic",
     "author": "bot", "generation": 1, "tags": {"lang": "fr"}},
    {"text": "ünïcødé 😀 \u2028 tab\tend", "origin": "expert", "author": "bo", "generation": 2,
     "tags": {"lang": "xx"}},
]  # fmt: skip


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any] | str]) -> Path:
    lines = [r if isinstance(r, str) else orjson.dumps(r).decode() for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    k: orjson.dumps(v).decode() if isinstance(v, dict | list) else v
                    for k, v in r.items()
                }
            )
    return path


def write_parquet(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(list(rows)), path)
    return path


def expected_ids(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        rec, _ = text_record(
            r["text"],
            r["origin"],
            author=r.get("author"),
            generation=r.get("generation"),
            tags=r.get("tags"),
        )
        out.append(hashlib.sha256(entry_bytes(rec)).hexdigest())
    return out


def fresh(tmp_path: Path, name: str) -> Ledger:
    return Ledger.open(tmp_path / f"{name}.db", key_path=tmp_path / f"{name}.key")


def db_count(led: Ledger, table: str) -> int:
    with sqlite3.connect(led.store.path) as db:  # type: ignore[attr-defined]
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


WRITERS: dict[str, tuple[str, Callable[[Path, Sequence[Mapping[str, Any]]], Path]]] = {
    "jsonl": (".jsonl", write_jsonl),
    "csv": (".csv", write_csv),
    "parquet": (".parquet", write_parquet),
}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_every_format_ingests_the_same_rows_to_the_same_ids(tmp_path: Path, fmt: str) -> None:
    suffix, write = WRITERS[fmt]
    path = write(tmp_path / f"rows{suffix}", ROWS)
    with fresh(tmp_path, fmt) as led:
        report = ingest(led, path)
        assert report.rows == 3
        assert report.appended == 3
        assert report.existing == 0
        assert report.ids == expected_ids(ROWS)
        assert led.size == 3
        for row, eid in zip(ROWS, report.ids, strict=True):
            assert led.payload(led.locate(eid).entry.payload.sha256).decode() == row["text"]  # type: ignore[union-attr]


def test_formats_agree_within_one_ledger(tmp_path: Path, ledger: Ledger) -> None:
    first = ingest(ledger, write_jsonl(tmp_path / "a.jsonl", ROWS))
    for fmt, (suffix, write) in WRITERS.items():
        again = ingest(ledger, write(tmp_path / f"b-{fmt}{suffix}", ROWS))
        assert again.appended == 0
        assert again.existing_ids == first.ids
    assert ledger.size == 3


def test_explicit_format_overrides_the_suffix(tmp_path: Path, ledger: Ledger) -> None:
    path = write_jsonl(tmp_path / "rows.txt", ROWS)
    with pytest.raises(InputError, match="--format"):
        ingest(ledger, path)
    assert ingest(ledger, path, fmt="jsonl").ids == expected_ids(ROWS)
    assert detect_format(Path("x.NDJSON")) == "jsonl"
    assert detect_format(Path("x.pq")) == "parquet"
    with pytest.raises(InputError):
        detect_format(Path("x.jsonl"), "xml")


def test_field_mapping(tmp_path: Path, ledger: Ledger) -> None:
    renamed = [
        {"body": r["text"], "src": r["origin"], "who": r["author"], "gen": r["generation"],
         "meta": r["tags"], "text": "decoy", "origin": "expert"}
        for r in ROWS
    ]  # fmt: skip
    fields = INGEST_FIELDS.parse(
        ["text=body", "origin=src", "author=who", "generation=gen", "tags=meta"]
    )
    report = ingest(ledger, write_jsonl(tmp_path / "renamed.jsonl", renamed), fields_=fields)
    assert report.ids == expected_ids(ROWS)


@pytest.mark.parametrize("bad", ["text", "text=", "=body", "nope=body", "body=text"])
def test_field_mapping_parse_errors(bad: str) -> None:
    with pytest.raises(InputError, match="--field"):
        INGEST_FIELDS.parse([bad])


def test_defaults_fill_what_rows_leave_out(tmp_path: Path, ledger: Ledger) -> None:
    prod = Producer("gen-model", "2024-06", {"temperature": 0.7, "top_p": 0.95}, "ab" * 32)  # type: ignore[arg-type]
    defaults = Defaults("synthetic", prod, 3, "pipeline", {"batch": 7, "lang": "en"})
    rows = [
        {"text": "plain"},
        {"text": "own generation and tags", "generation": 4, "tags": {"lang": "de"}},
        {"text": "own origin", "origin": "human", "author": "ana"},
    ]
    report = ingest(ledger, write_jsonl(tmp_path / "s.jsonl", rows), defaults=defaults)
    want = [
        text_record("plain", "synthetic", producer=prod, generation=3, author="pipeline",
                    tags={"batch": 7, "lang": "en"}),
        text_record("own generation and tags", "synthetic", producer=prod, generation=4,
                    author="pipeline", tags={"batch": 7, "lang": "de"}),
        text_record("own origin", "human", producer=prod, generation=3, author="ana",
                    tags={"batch": 7, "lang": "en"}),
    ]  # fmt: skip
    assert report.ids == [hashlib.sha256(entry_bytes(r)).hexdigest() for r, _ in want]
    rec = ledger.locate(report.ids[0]).entry
    assert isinstance(rec, Record)
    assert rec.producer == prod
    assert rec.generation == 3


def test_reingest_is_idempotent(tmp_path: Path, ledger: Ledger) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    first = ingest(ledger, path)
    cp = ledger.checkpoint()
    hashes, payloads = db_count(ledger, "hashes"), db_count(ledger, "payloads")
    second = ingest(ledger, path)
    assert (second.rows, second.appended, second.existing) == (3, 0, 3)
    assert second.ids == []
    assert second.existing_ids == first.ids
    assert ledger.size == 3
    assert db_count(ledger, "payloads") == payloads
    assert db_count(ledger, "hashes") == hashes
    assert ledger.checkpoint() == cp  # nothing new to sign


def test_duplicate_rows_in_one_file_are_logged_once(tmp_path: Path, ledger: Ledger) -> None:
    report = ingest(ledger, write_jsonl(tmp_path / "d.jsonl", [ROWS[0], ROWS[1], ROWS[0]]))
    assert (report.rows, report.appended, report.existing) == (3, 2, 1)
    assert report.existing_ids == [report.ids[0]]
    assert ledger.size == 2


def test_blank_lines_are_skipped(tmp_path: Path, ledger: Ledger) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_text("\n" + orjson.dumps(ROWS[0]).decode() + "\n   \n\n")
    assert ingest(ledger, path).rows == 1


def test_keep_ids_false_keeps_counts_only(tmp_path: Path, ledger: Ledger) -> None:
    report = ingest(ledger, write_jsonl(tmp_path / "r.jsonl", ROWS), keep_ids=False)
    assert (report.appended, report.ids) == (3, [])


# --- malformed input fails the whole file --------------------------------------------------

MALFORMED = {
    "bad json": ('{"text": "x", ', "not valid JSON"),
    "not an object": ("[1, 2]", "expected a JSON object"),
    "missing text": ('{"origin": "human", "author": "a"}', "'text'"),
    "text not a string": ('{"text": 5}', "not a string"),
    "bad origin": ('{"text": "x", "origin": "robot"}', "origin"),
    "generation word": ('{"text": "x", "generation": "one"}', "generation"),
    "generation float": ('{"text": "x", "generation": 1.5}', "generation"),
    "generation bool": ('{"text": "x", "generation": true}', "generation"),
    "generation too big": ('{"text": "x", "generation": 9007199254740992}', "generation"),
    "bad parent": ('{"text": "x", "parents": ["not-an-id"]}', "not-an-id"),
    "parents not a list": ('{"text": "x", "parents": 5}', "parents"),
    "author not a string": ('{"text": "x", "author": ["a"]}', "author"),
    "tags not an object": ('{"text": "x", "tags": [1]}', "tags"),
    "bad producer": ('{"text": "x", "producer": {"name": "m"}}', "producer"),
    "huge int in json tags": ('{"text": "x", "tags": {"n": 9007199254740992}}', "I-JSON"),
    "int beyond 64 bits": (
        '{"text": "x", "tags": {"n": 18446744073709551616}}',
        "tags.n: integer 18446744073709551616 is outside I-JSON's exact range",
    ),
    "underflow": ('{"text": "x", "tags": {"n": 1e-400}}', "tags.n: number 1e-400 is not exactly"),
    "overflow": ('{"text": "x", "tags": {"n": 1e400}}', "number 1e400 (column 29) is beyond"),
    "rounded": ('{"text": "x", "tags": {"n": [0.10000000000000000001]}}', "tags.n[0]: number"),
    "param underflow": (
        '{"text": "x", "producer": {"model": "m", "params": {"t": 1e-400}}}',
        "producer.params.t: number 1e-400",
    ),
    "repeated key": ('{"text": "x", "text": "y"}', "key 'text' appears twice"),
    "repeated nested key": ('{"text": "x", "tags": {"a": 1, "a": 1}}', "tags: key 'a' appears"),
    "deep nesting": ('{"text": "x", "tags": {"a": ' + "[" * 999 + "]" * 999 + "}}", "tags: nested"),
    "bad prompt digest": (
        '{"text": "x", "producer": {"model": "m", "prompt_sha256": "abc"}}',
        "prompt_sha256 must be a SHA-256",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_line_fails_the_whole_file(
    tmp_path: Path, ledger: Ledger, fill_ledger: Callable[..., Any], case: str
) -> None:
    fill_ledger(ledger, 4, prefix="before")
    before = (ledger.size, db_count(ledger, "payloads"), db_count(ledger, "hashes"))
    root = ledger.root()
    bad_line, reason = MALFORMED[case]
    good = [{"text": f"good line {i}", "origin": "human"} for i in range(2)]
    path = write_jsonl(tmp_path / "in.jsonl", [*good, "", bad_line, {"text": "after"}])
    with pytest.raises(InputError) as exc:
        ingest(ledger, path, defaults=Defaults(origin="human"))
    message = str(exc.value)
    assert message.startswith(f"{path}:4:")
    assert reason in message
    assert (ledger.size, db_count(ledger, "payloads"), db_count(ledger, "hashes")) == before
    assert ledger.root() == root
    assert ledger.find_text("good line 0") == []


def test_malformed_line_after_many_chunks_keeps_nothing(
    tmp_path: Path, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_module, "CHUNK", 3)  # the good rows span several append chunks
    rows: list[dict[str, Any] | str] = [{"text": f"row {i}", "origin": "human"} for i in range(10)]
    rows.append('{"text": "bad", "origin": "human", "generation": "x"}')
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    with pytest.raises(InputError, match=r"many\.jsonl:11:"):
        ingest(ledger, path)
    assert ledger.size == 0
    assert db_count(ledger, "payloads") == 0
    assert db_count(ledger, "hashes") == 0
    assert ingest(ledger, write_jsonl(tmp_path / "ok.jsonl", rows[:10])).appended == 10


def test_malformed_csv_and_parquet_rows_name_their_place(tmp_path: Path, ledger: Ledger) -> None:
    rows = [{"text": "a", "origin": "human"}, {"text": "b", "origin": "robot"}]
    csv_path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(InputError, match=rf"{csv_path}:3: .*origin"):
        ingest(ledger, csv_path)
    pq_path = write_parquet(tmp_path / "bad.parquet", rows)
    with pytest.raises(InputError, match=rf"{pq_path}:row 2: .*origin"):
        ingest(ledger, pq_path)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="Parquet"):
        ingest(ledger, tmp_path / "broken.parquet")
    extra = tmp_path / "extra.csv"
    extra.write_text("text,origin\na,human\nb,human,surplus\n")
    with pytest.raises(InputError, match=rf"{extra}:3: more values"):
        ingest(ledger, extra)
    assert ledger.size == 0


def test_csv_and_parquet_json_cells_follow_the_number_rule(tmp_path: Path, ledger: Ledger) -> None:
    rows = [{"text": "a", "origin": "human", "tags": '{"n": 18446744073709551616}'}]
    csv_path = write_csv(tmp_path / "big.csv", rows)
    with pytest.raises(InputError, match=rf"{csv_path}:2: tags\.n: integer 18446744073709551616"):
        ingest(ledger, csv_path)
    pq_path = write_parquet(tmp_path / "big.parquet", rows)
    with pytest.raises(InputError, match=rf"{pq_path}:row 1: tags\.n: integer 1844674407"):
        ingest(ledger, pq_path)
    typed = write_parquet(tmp_path / "typed.parquet", [{"text": "a", "tags": {"n": 2**60}}])
    with pytest.raises(InputError, match=rf"{typed}:row 1: tags: integer {2**60} is outside"):
        ingest(ledger, typed, defaults=Defaults(origin="human"))
    json_cell = write_csv(tmp_path / "doc.csv", [{"doc": '{"a": 1, "a": 2}', "origin": "human"}])
    with pytest.raises(InputError, match=rf"{json_cell}:2: doc: key 'a' appears twice"):
        ingest(ledger, json_cell, fields_=INGEST_FIELDS.map(json="doc"))
    assert ledger.size == 0


def test_a_byte_order_mark_starts_a_csv_or_jsonl_file(tmp_path: Path, ledger: Ledger) -> None:
    for name, write in (("bom.csv", write_csv), ("bom.jsonl", write_jsonl)):
        path = write(tmp_path / name, ROWS)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        report = ingest(ledger, path)
        assert report.ids + report.existing_ids == expected_ids(ROWS)
    assert ledger.size == len(ROWS)


def test_a_column_name_appears_once(tmp_path: Path, ledger: Ledger) -> None:
    csv_path = tmp_path / "twice.csv"
    csv_path.write_text("text,origin,text\na,human,b\n")
    with pytest.raises(InputError, match=rf"{csv_path}:1: columns 1 and 3 are both named 'text'"):
        ingest(ledger, csv_path)
    pq_path = tmp_path / "twice.parquet"
    pq.write_table(pa.table([["a"], ["b"]], names=["text", "text"]), pq_path)
    with pytest.raises(InputError, match=rf"{pq_path}: columns 1 and 2 are both named 'text'"):
        ingest(ledger, pq_path, defaults=Defaults(origin="human"))


def test_a_parquet_string_that_is_not_utf8_names_its_column_and_row(
    tmp_path: Path, ledger: Ledger
) -> None:
    raw = pa.array([b"fine"] * 8195 + [b"bad \xff"], type=pa.binary())
    texts = pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())  # unchecked UTF-8
    path = tmp_path / "latin1.parquet"
    pq.write_table(pa.table({"origin": ["human"] * len(raw), "text": texts}), path)
    with pytest.raises(InputError, match=rf"{path}:row 8196: column 'text' is not UTF-8"):
        ingest(ledger, path)
    assert ledger.size == 0


def test_missing_file(tmp_path: Path, ledger: Ledger) -> None:
    with pytest.raises(InputError, match="no such file"):
        ingest(ledger, tmp_path / "absent.jsonl")


def test_csv_text_that_looks_like_json_stays_text(tmp_path: Path, ledger: Ledger) -> None:
    rows = [{"text": "[1, 2]", "origin": "human"}, {"text": '{"q": "2+2?"}', "origin": "human"}]
    report = ingest(ledger, write_csv(tmp_path / "j.csv", rows))
    assert report.ids == expected_ids(rows)


def test_unicode_digit_generation_is_an_input_error(tmp_path: Path, ledger: Ledger) -> None:
    path = write_jsonl(tmp_path / "g.jsonl", [{"text": "x", "origin": "human", "generation": "²"}])
    with pytest.raises(InputError, match=rf"{path}:1:"):
        ingest(ledger, path)


# --- parents ---------------------------------------------------------------------------------


def test_unknown_parents_are_refused_unless_allowed(tmp_path: Path, ledger: Ledger) -> None:
    ghost = "ab" * 32
    path = write_jsonl(tmp_path / "p.jsonl", [{"text": "child", "origin": "synthetic",
                                               "parents": [ghost]}])  # fmt: skip
    with pytest.raises(NotFoundError, match=ghost):
        ingest(ledger, path)
    assert ledger.size == 0
    report = ingest(ledger, path, allow_unknown_parents=True)
    assert report.appended == 1
    child = ledger.locate(report.ids[0])
    assert isinstance(child.entry, Record)
    assert child.entry.parents == (ghost,)
    assert ledger.lineage(child.id).ancestors == ()


def test_parents_by_keel_id_and_upper_case(tmp_path: Path, ledger: Ledger) -> None:
    parent = ingest(ledger, write_jsonl(tmp_path / "a.jsonl", ROWS[:1])).ids[0]
    rows = [{"text": "kid", "origin": "synthetic", "parents": parent.upper()}]
    kid = ingest(ledger, write_jsonl(tmp_path / "b.jsonl", rows)).ids[0]
    assert [a.located.id for a in ledger.lineage(kid).ancestors] == [parent]


def test_parents_by_external_id(tmp_path: Path, ledger: Ledger) -> None:
    human = [
        {"id": "h1", "text": "human one", "origin": "human"},
        {"id": "h2", "text": "human two", "origin": "human"},
        {"id": 3, "text": "human three", "origin": "human"},
    ]
    first = ingest(
        ledger, write_jsonl(tmp_path / "human.jsonl", human), fields_=INGEST_FIELDS.map(id="id")
    )
    h1, h2, h3 = first.ids
    synth = [
        {"text": "synthetic a", "parents": ["h1", "h2"]},
        {"text": "synthetic b", "parents": "h2, 3"},
        {"text": "synthetic c", "parents": [h1]},
    ]
    second = ingest(
        ledger,
        write_jsonl(tmp_path / "synth.jsonl", synth),
        defaults=Defaults(origin="synthetic", producer=Producer("m"), generation=1),
    )
    a, b, c = (ledger.locate(i) for i in second.ids)
    assert isinstance(a.entry, Record)
    assert isinstance(b.entry, Record)
    assert a.entry.parents == (h1, h2)
    assert b.entry.parents == (h2, h3)
    assert b"h1" not in a.raw  # the external id itself is not logged
    assert {x.located.id for x in ledger.lineage(a.id).ancestors} == {h1, h2}
    assert set(ledger.lineage("h1").children) == {a.id, c.id}
    assert ledger.locate("h2").id == h2
    assert ledger.resolve_aliases(["h1", "3", "nope"]) == {"h1": h1, "3": h3}


def test_external_ids_within_one_file(tmp_path: Path, ledger: Ledger) -> None:
    rows = [
        {"id": "root", "text": "root", "origin": "human"},
        {"id": "kid", "text": "kid", "origin": "synthetic", "parents": ["root"]},
        {"id": "grandkid", "text": "grandkid", "origin": "synthetic", "parents": ["kid"]},
    ]
    report = ingest(
        ledger, write_jsonl(tmp_path / "f.jsonl", rows), fields_=INGEST_FIELDS.map(id="id")
    )
    lin = ledger.lineage("grandkid")
    assert [(x.located.id, x.depth) for x in lin.ancestors] == [
        (report.ids[1], 1),
        (report.ids[0], 2),
    ]


def test_external_id_errors(tmp_path: Path, ledger: Ledger) -> None:
    fields = INGEST_FIELDS.map(id="id")
    dup = [{"id": "x", "text": "a", "origin": "human"}, {"id": "x", "text": "b", "origin": "human"}]
    path = write_jsonl(tmp_path / "dup.jsonl", dup)
    with pytest.raises(InputError, match=rf"{path}:2: .*appears twice"):
        ingest(ledger, path, fields_=fields)
    no_id = write_jsonl(tmp_path / "noid.jsonl", [{"text": "a", "origin": "human"}])
    with pytest.raises(InputError, match=rf"{no_id}:1: 'id' \(the external id\) is missing"):
        ingest(ledger, no_id, fields_=fields)
    null_id = write_jsonl(tmp_path / "null.jsonl", [{"id": None, "text": "a", "origin": "human"}])
    with pytest.raises(InputError, match=rf"{null_id}:1: 'id' \(the external id\) is null"):
        ingest(ledger, null_id, fields_=fields)
    ingest(ledger, write_jsonl(tmp_path / "one.jsonl", dup[:1]), fields_=fields)
    taken = write_jsonl(tmp_path / "taken.jsonl", [{"id": "x", "text": "other", "origin": "human"}])
    with pytest.raises(InputError, match="already names"):
        ingest(ledger, taken, fields_=fields)
    unknown = write_jsonl(tmp_path / "unk.jsonl", [{"text": "k", "origin": "human",
                                                    "parents": ["nobody"]}])  # fmt: skip
    with pytest.raises(InputError, match=rf"{unknown}:1: .*nobody"):
        ingest(ledger, unknown)
    assert ledger.size == 1


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("part", ["parents", "author", "generation", "tags", "producer"])
def test_a_mapped_column_that_no_row_has_is_refused(
    tmp_path: Path, ledger: Ledger, fmt: str, part: str
) -> None:
    suffix, write = WRITERS[fmt]
    path = write(tmp_path / f"t{suffix}", [{"id": "a", "text": "x", "origin": "human", part: "y"}])
    with pytest.raises(
        InputError,
        match=rf"column '{part}x' \(--field {part}={part}x\); columns found: .*\b{part},",
    ):
        ingest(ledger, path, fields_=INGEST_FIELDS.parse(["id=id", f"{part}={part}x"]))
    assert ledger.size == 0
