"""`keel ledger import-verdicts`: CSV, JSONL and Parquet rows logged as verdicts in one
transaction; records found by id, external id or payload digest; a re-import appends nothing;
every bad row refuses the whole import (exit 2, one line, nothing appended); the fast entry
builder gives the bytes of `keel.records.verdict`; any file gives exit 0 or 2, never a
traceback."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extra_modules import need
from keel.ledger import Ledger
from keel.ledger.verdicts import (
    BATCH,
    RecordRef,
    VerdictImportError,
    VerdictRow,
    _es6,
    import_verdicts,
    read_files,
    verdict_pending,
)
from keel.records import EntryId, Verdict, entry_bytes, es6_number, verdict
from keel_cli import Cli

RECORDS = [
    {"text": "alpha", "id": "a1", "origin": "human"},
    {"text": "beta", "id": "b2", "origin": "synthetic"},
    {"text": "gamma", "id": "g3", "origin": "human"},
    {"text": "twin", "id": "t1", "origin": "human"},
    {"text": "twin", "id": "t2", "origin": "synthetic"},
]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def db(tmp_path: Path, cli: Cli) -> Path:
    """A ledger holding RECORDS (external ids a1, b2, g3, t1, t2)."""
    path = tmp_path / "k.db"
    source = tmp_path / "records.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    cli.ok("ledger", "key", "init", "--origin", "example.com/test", db=path)
    cli.ok("ingest", str(source), "--field", "id=id", db=path)
    return path


def ids(db: Path) -> dict[str, EntryId]:
    """External id -> record id."""
    with Ledger.open(db, readonly=True) as led:
        return {k: EntryId(v) for k, v in led.resolve_aliases([r["id"] for r in RECORDS]).items()}


def verdicts(db: Path) -> list[Verdict]:
    with Ledger.open(db, readonly=True) as led:
        return [loc.entry for loc in led.entries("verdict") if isinstance(loc.entry, Verdict)]


def size(db: Path) -> int:
    with Ledger.open(db, readonly=True) as led:
        return led.size


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    """`rows` as a CSV, JSONL or Parquet file (by the suffix)."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix == ".csv":
        names = list(dict.fromkeys(k for r in rows for k in r))
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, names)
            writer.writeheader()
            writer.writerows(rows)
    else:
        names = list(dict.fromkeys(k for r in rows for k in r))
        pq.write_table(pa.table({n: [r.get(n) for r in rows] for n in names}), path)
    return path


def good_rows(db: Path) -> list[dict[str, Any]]:
    """One row per way of naming a record: id, external id, payload digest (upper-case too)."""
    known = ids(db)
    return [
        {"record": known["a1"], "judge": "gpt-judge", "label": "accept", "score": 0.9,
         "rationale": "clear and correct", "rubric": "r1"},
        {"record": "b2", "judge": "gpt-judge", "label": "reject", "score": 0.1},
        {"record": sha("gamma").upper(), "judge": "ana", "kind": "expert", "label": "accept"},
        {"record": known["t1"], "judge": "gpt-judge", "score": 0.25},
    ]  # fmt: skip


# -- importing -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_each_format_logs_the_rows_as_verdicts(
    tmp_path: Path, cli: Cli, db: Path, suffix: str
) -> None:
    path = write(tmp_path / f"v{suffix}", good_rows(db))
    before = size(db)
    report = cli.json("ledger", "import-verdicts", str(path), db=db)
    assert (report["rows"], report["appended"], report["existing"]) == (4, 4, 0)
    assert report["found"] == {"id": 2, "external id": 1, "digest": 1}
    assert size(db) == before + 4 == report["ledger_size"]
    known = ids(db)
    logged = {(v.record, v.judge, v.judge_kind, v.label, v.score, v.rubric) for v in verdicts(db)}
    assert logged == {
        (known["a1"], "gpt-judge", "ai", "accept", 0.9, "r1"),
        (known["b2"], "gpt-judge", "ai", "reject", 0.1, None),
        (known["g3"], "ana", "expert", "accept", None, None),
        (known["t1"], "gpt-judge", "ai", None, 0.25, None),
    }
    with Ledger.open(db, readonly=True) as led:
        (first,) = [v for v in verdicts(db) if v.rationale is not None]
        assert first.rationale is not None
        assert led.payload(first.rationale.sha256) == b"clear and correct"
        ids_in_order = [led.locate(i).entry for i in report["verdicts"]]
    assert [v.judge for v in ids_in_order if isinstance(v, Verdict)] == [
        "gpt-judge", "gpt-judge", "ana", "gpt-judge"
    ]  # fmt: skip


def test_a_reimport_in_any_format_appends_nothing(tmp_path: Path, cli: Cli, db: Path) -> None:
    rows = good_rows(db)
    first = cli.json("ledger", "import-verdicts", str(write(tmp_path / "v.csv", rows)), db=db)
    before = size(db)
    for suffix in (".csv", ".jsonl", ".parquet"):
        again = cli.json(
            "ledger", "import-verdicts", str(write(tmp_path / f"w{suffix}", rows)), db=db
        )
        assert (again["appended"], again["existing"]) == (0, 4)
        assert again["verdicts"] == first["verdicts"]  # the same entries, by content
    assert size(db) == before
    text = cli.ok("ledger", "import-verdicts", str(tmp_path / "v.csv"), db=db)
    assert "0 appended, 4 already in the ledger" in text


def test_imported_verdicts_are_linked_to_their_records_and_verify(
    tmp_path: Path, cli: Cli, db: Path
) -> None:
    """The import writes each verdict's link to its record itself: lineage finds the verdicts
    and `keel ledger verify`, which rechecks the links against the entries, passes."""
    rows = good_rows(db)
    rows += [rows[1], {**rows[1], "score": 0.2}]  # a repeat (one entry) and a second verdict
    n = 2 * BATCH + 3  # past the append's chunks
    rows += [{"record": "g3", "judge": f"j{i}", "score": i / n} for i in range(n)]
    report = cli.json("ledger", "import-verdicts", str(write(tmp_path / "v.jsonl", rows)), db=db)
    assert (report["appended"], report["existing"]) == (5 + n, 1)
    known = ids(db)
    with Ledger.open(db, readonly=True) as led:
        on_b2 = [v.entry for v in led.lineage("b2").verdicts]
        on_g3 = led.lineage(known["g3"]).verdicts
    assert sorted(v.score for v in on_b2 if isinstance(v, Verdict)) == [0.1, 0.2]
    assert len(on_g3) == 1 + n
    assert cli.ok("ledger", "verify", db=db).startswith("OK")


def test_several_files_are_one_transaction(tmp_path: Path, cli: Cli, db: Path) -> None:
    rows = good_rows(db)
    a = write(tmp_path / "a.csv", rows[:2])
    b = write(tmp_path / "b.jsonl", rows[2:])
    before = size(db)
    bad = write(tmp_path / "bad.jsonl", [{"record": "nope", "judge": "j", "score": 1}])
    code, _, err = cli("ledger", "import-verdicts", str(a), str(b), str(bad), db=db)
    assert code == 2 and "bad.jsonl:1" in err
    assert size(db) == before
    report = cli.json("ledger", "import-verdicts", str(a), str(b), db=db)
    assert report["appended"] == 4 and report["files"] == [str(a), str(b)]


def test_mapping_defaults_and_kind(tmp_path: Path, cli: Cli, db: Path) -> None:
    path = write(
        tmp_path / "v.csv",
        [{"item": "a1", "verdict": "yes", "points": "3", "why": "fine"},
         {"item": "b2", "verdict": "no", "points": "-1.5e0"}],
    )  # fmt: skip
    report = cli.json(
        "ledger", "import-verdicts", str(path),
        "--field", "record=item", "--field", "label=verdict", "--field", "score=points",
        "--field", "rationale=why", "--judge", "panel", "--kind", "expert", db=db,
    )  # fmt: skip
    assert report["appended"] == 2
    got = {(v.judge, v.judge_kind, v.label, v.score) for v in verdicts(db)}
    assert got == {("panel", "expert", "yes", 3.0), ("panel", "expert", "no", -1.5)}


def test_library_rows_keep_their_order_and_fall_back(db: Path) -> None:
    known = ids(db)
    rows = [
        VerdictRow("x:1", (RecordRef("zz-unknown"), RecordRef(sha("beta"), "digest")), "j",
                   score=1.0),
        VerdictRow("x:2", (RecordRef("a1"),), "j", label="accept"),
        VerdictRow("x:3", skipped="unscored"),
    ]  # fmt: skip
    with Ledger.open(db) as led:
        report = import_verdicts(led, rows, keep_ids=True)
        logged = [led.locate(i).entry for i in report.ids]
    assert [v.record for v in logged if isinstance(v, Verdict)] == [known["b2"], known["a1"]]
    assert report.found == {"digest": 1, "external id": 1}
    assert report.skipped == {"unscored": 1} and report.rows == 3


def test_an_empty_file_imports_nothing(tmp_path: Path, cli: Cli, db: Path) -> None:
    (tmp_path / "v.jsonl").write_text("\n")
    report = cli.json("ledger", "import-verdicts", str(tmp_path / "v.jsonl"), db=db)
    assert (report["rows"], report["appended"]) == (0, 0)


def test_a_bad_row_after_many_good_ones_appends_nothing(tmp_path: Path, db: Path) -> None:
    """Rows past the first append chunks were written inside the transaction: all go."""
    n = 2 * BATCH + 10
    rows = [{"record": "a1", "judge": f"j{i}", "score": i / n} for i in range(n)]
    rows.append({"record": "a1", "judge": "late", "score": "high"})
    path = write(tmp_path / "v.jsonl", rows)
    before = size(db)
    with Ledger.open(db) as led, pytest.raises(VerdictImportError) as caught:
        import_verdicts(led, read_files([path]))
    assert f"v.jsonl:{n + 1}: 'score' (the score) must be a finite number" in str(caught.value)
    assert caught.value.count == 1
    assert size(db) == before


# -- refusals --------------------------------------------------------------------------------
def bad_cases(known: dict[str, EntryId]) -> list[tuple[str, list[dict[str, Any]], list[str], str]]:
    """(name, rows, extra options, what the one error line must say)."""
    verdict_row = {"record": "a1", "judge": "j", "label": "accept"}
    return [
        ("unknown id", [{"record": "0" * 64, "judge": "j", "score": 1}], [],
         ":1: no record with id, payload digest or external id"),
        ("unknown external id", [{"record": "zz", "judge": "j", "score": 1}], [],
         ":1: no record with external id 'zz'"),
        ("bad score", [{"record": "a1", "judge": "j", "score": "high"}], [],
         ":1: 'score' (the score) must be a finite number, got 'high'"),
        ("infinite score", [{"record": "a1", "judge": "j", "score": "1e400"}], [],
         "must be a finite number"),
        ("missing mapped column", [{"record": "a1", "judge": "j", "label": "accept"}],
         ["--field", "score=points"],
         "no row has a value in column 'points' (--field score=points); columns found: "),
        ("no record column", [{"item": "a1", "judge": "j", "label": "x"}], [],
         "no row has a value in column 'record'"),
        ("no judge", [{"record": "a1", "label": "x"}], [], "(or pass --judge NAME)"),
        ("bad kind", [{"record": "a1", "judge": "j", "label": "x", "kind": "human"}], [],
         "the judge kind must be one of ai, expert"),
        ("no label or score", [{"record": "a1", "judge": "j", "rubric": "r"}], [],
         "no label and no score"),
        ("ambiguous digest", [{"record": sha("twin"), "judge": "j", "score": 1}], [],
         "2 records have the payload"),
        ("bad --kind", [{"record": "a1", "judge": "j", "score": 1}], ["--kind", "robot"],
         "the judge kind must be one of ai, expert"),
        ("unknown role", [verdict_row], ["--field", "verdict=label"], "ROLE one of"),
        ("bad format", [verdict_row], ["--format", "xml"], "--format must be one of"),
        ("a good row then a bad one", [verdict_row, {"record": "zz", "judge": "j", "score": 1}],
         [], ":2: no record with external id 'zz'"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(14))
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_every_bad_input_exits_2_with_one_line_and_appends_nothing(
    tmp_path: Path, cli: Cli, db: Path, case: int, suffix: str
) -> None:
    name, rows, options, says = bad_cases(ids(db))[case]
    path = write(tmp_path / f"v{suffix}", rows)
    before = size(db)
    code, out, err = cli("ledger", "import-verdicts", str(path), *options, db=db)
    assert code == 2, (name, err)
    assert err.startswith("error: ") and err.count("\n") == 1, (name, err)
    if suffix == ".csv":  # the header is line 1
        says = says.replace(":2:", ":3:").replace(":1:", ":2:")
    assert says in err, (name, err)
    assert out == "" and size(db) == before


def test_refusals_of_typed_cells(tmp_path: Path, cli: Cli, db: Path) -> None:
    cases = [
        ({"record": "a1", "judge": "j", "score": True}, "must be a finite number, got True"),
        ({"record": "a1", "judge": "j", "label": ["a"]}, "'label' (the label) must be text"),
        ({"record": ["a1"], "judge": "j", "score": 1}, "'record' (the record) must be text"),
    ]
    known = ids(db)
    verdict_id = cli.json(
        "ledger", "add-verdict", known["a1"], "--judge", "j", "--label", "accept", db=db
    )["id"]
    cases.append(({"record": verdict_id, "judge": "j", "score": 1}, "entry, not a record"))
    before = size(db)
    for row, says in cases:
        path = write(tmp_path / "v.jsonl", [row])
        code, _, err = cli("ledger", "import-verdicts", str(path), db=db)
        assert code == 2 and says in err, err
    assert size(db) == before


def test_many_bad_rows_are_counted_on_one_line(
    tmp_path: Path, cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "v.csv", [{"record": f"x{i}", "judge": "j", "score": 1} for i in range(30)])
    code, _, err = cli("ledger", "import-verdicts", "v.csv", db=db)
    assert code == 2 and err.count("\n") == 1
    assert "v.csv:2: no record with external id 'x0'" in err
    assert "29 more row(s) cannot be imported (" in err and "v.csv:3, v.csv:4, v.csv:5, ...)" in err


def test_files_that_cannot_be_read(tmp_path: Path, cli: Cli, db: Path) -> None:
    (tmp_path / "v.jsonl").write_text('{"record": "a1", "judge": "j", "score": 1}\n{oops\n')
    (tmp_path / "v.parquet").write_bytes(b"not parquet")
    (tmp_path / "v.txt").write_text("a1\n")
    for name, says in [
        ("v.jsonl", "v.jsonl:2: not valid JSON"),
        ("v.parquet", "not a readable Parquet file"),
        ("v.txt", "a txt file"),
        ("missing.csv", "no such file"),
    ]:
        code, _, err = cli("ledger", "import-verdicts", str(tmp_path / name), db=db)
        assert code == 2 and says in err and err.count("\n") == 1, err
    code, _, err = cli("ledger", "import-verdicts", str(tmp_path / "v.jsonl"), "--from",
                       "inspect", "--judge", "j", db=db)  # fmt: skip
    assert code == 2 and "--judge maps the columns of a table" in err


# -- the fast entry builder ------------------------------------------------------------------
TEXT = st.text(max_size=12)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    judge=TEXT.filter(bool),
    kind=st.sampled_from(["ai", "expert"]),
    label=st.none() | TEXT,
    score=st.none() | FLOATS | st.integers(-(2**53), 2**53).map(float),
    rubric=st.none() | TEXT,
    rationale=st.none() | TEXT,
)
def test_the_fast_builder_gives_the_reference_bytes(
    judge: str,
    kind: str,
    label: str | None,
    score: float | None,
    rubric: str | None,
    rationale: str | None,
) -> None:
    if label is None and score is None:
        score = 0.5
    record = EntryId(sha("any record"))
    row = VerdictRow("x", (), judge, kind, label, score, rubric, rationale)
    try:
        fast = verdict_pending(record, row)
    except UnicodeEncodeError:  # a lone surrogate: refused by both paths
        with pytest.raises((UnicodeEncodeError, Exception)):
            v, _ = verdict(record, judge, kind, label=label, score=score, rubric=rubric,
                           rationale=rationale)  # fmt: skip
            entry_bytes(v)
        return
    v, data = verdict(
        record, judge, kind, label=label, score=score, rubric=rubric, rationale=rationale
    )
    assert fast.entry == entry_bytes(v)
    assert fast.payload == data and fast.refs == (record,) and fast.kind == "verdict"
    assert fast.payload_digest == (None if data is None else hashlib.sha256(data).digest())


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_number_shortcut_writes_numbers_as_rfc_8785(x: float) -> None:
    assert _es6(x) == es6_number(x)


@pytest.mark.parametrize("x", [0.0, -0.0, 1.0, 1e-4, 9.999e-5, 1e16, 1e21, 2.0**53, 0.1 + 0.2])
def test_the_number_shortcut_at_its_edges(x: float) -> None:
    assert _es6(x) == es6_number(x)
    assert math.isfinite(float(_es6(x)))


# -- any file --------------------------------------------------------------------------------
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAMES = st.sampled_from(["record", "judge", "kind", "label", "score", "rationale", "rubric", "x"])
CELLS = st.one_of(
    st.sampled_from(["a1", "b2", "t1", sha("alpha"), sha("twin"), "ai", "expert", "human",
                     "accept", "0.5", "1e400", "nan", "-0", "", "é", '"', "\\u0000"]),
    st.text(max_size=6),
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | CELLS,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=4,
)


@st.composite
def verdict_file(draw: st.DrawFn) -> tuple[str, bytes]:
    """A small CSV, JSONL or Parquet file of verdict rows, often malformed, or random bytes."""
    suffix = draw(st.sampled_from([".csv", ".jsonl", ".parquet"]))
    if draw(st.integers(0, 9)) == 0:
        return suffix, draw(st.binary(max_size=200))
    if suffix == ".jsonl":
        rows = draw(st.lists(st.dictionaries(NAMES, JSON_VALUES, max_size=6), max_size=6))
        data = "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8", "surrogatepass")
    else:
        names = draw(st.lists(NAMES, min_size=1, max_size=6))
        rows = draw(st.lists(st.lists(CELLS, min_size=len(names), max_size=len(names)),
                             max_size=6))  # fmt: skip
        if suffix == ".csv":
            text = io.StringIO()
            csv.writer(text).writerows([names, *rows])
            data = text.getvalue().encode("utf-8", "surrogatepass")
        else:
            try:
                columns = [pa.array([r[k] for r in rows], pa.string()) for k in range(len(names))]
                sink = io.BytesIO()
                pq.write_table(pa.Table.from_arrays(columns, names=names), sink)
                data = sink.getvalue()
            except (pa.ArrowException, UnicodeEncodeError):
                data = b"PAR1"
    if draw(st.booleans()):
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        data = bytes(data)
    return suffix, data


@FUZZ
@given(
    file=verdict_file(),
    options=st.sampled_from([[], ["--judge", "j"], ["--field", "record=x"], ["--kind", "expert"]]),
)
def test_any_file_exits_0_or_2_and_appends_nothing_when_refused(
    tmp_path: Path, cli: Cli, db: Path, file: tuple[str, bytes], options: list[str]
) -> None:
    suffix, data = file
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / f"v{suffix}"
    path.write_bytes(data)
    before = size(db)
    code, out, err = cli("ledger", "import-verdicts", str(path), "--json", *options, db=db)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code:  # (pyarrow's own reasons for an unreadable Parquet file may span lines)
        assert err.startswith("error: "), err
        assert size(db) == before
    else:
        report = json.loads(out)
        assert size(db) == before + report["appended"]
    assert path.read_bytes() == data
    assert not [p for p in os.listdir(folder) if p != path.name]


SAMPLE_LINES = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.fixed_dictionaries(
            {"doc_id": st.integers(0, 3), "doc": st.dictionaries(st.sampled_from(["text",
             "keel_id"]), st.sampled_from(["alpha", "a1", "x"]), max_size=2),
             "arguments": st.just([["alpha", ""]]), "acc": st.one_of(st.floats(), st.text())},
            optional={"filter": st.text(max_size=4), "metrics": st.just(["acc"])},
        ).map(lambda d: json.dumps(d).encode()),
    ),
    max_size=4,
)  # fmt: skip


@FUZZ
@given(lines=SAMPLE_LINES, source=st.sampled_from(["lm-eval", "inspect"]))
def test_any_eval_log_exits_0_or_2_and_appends_nothing_when_refused(
    tmp_path: Path, cli: Cli, db: Path, lines: list[bytes], source: str
) -> None:
    if source == "inspect":
        need("inspect_ai", "evals")
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    name = "samples_keel_qa_2026-12-05T10-00-00.jsonl" if source == "lm-eval" else "log.json"
    path = folder / name
    data = b"\n".join(lines)
    path.write_bytes(data)
    before = size(db)
    code, out, err = cli("ledger", "import-verdicts", "--from", source, str(path), "--json",
                         db=db)  # fmt: skip
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code:
        assert err.startswith("error: "), err
        assert size(db) == before
    else:
        assert size(db) == before + json.loads(out)["appended"]
    assert path.read_bytes() == data


# -- auditing what was imported --------------------------------------------------------------
def test_judge_audit_reads_the_imported_verdicts_from_the_ledger(
    tmp_path: Path, cli: Cli, db: Path
) -> None:
    """`keel judge audit --ledger`: each AI judge's latest verdict per record against the
    record's standing expert decision; a score counts as accept at --threshold."""
    rows = [
        {"record": "a1", "judge": "strict", "label": "reject"},
        {"record": "b2", "judge": "strict", "label": "reject"},
        {"record": "g3", "judge": "strict", "label": "accept"},
        {"record": "t1", "judge": "strict", "label": "reject"},
        {"record": "a1", "judge": "scorer", "score": 0.9},
        {"record": "b2", "judge": "scorer", "score": 0.6},
        {"record": "g3", "judge": "scorer", "score": 0.2},
        {"record": "t1", "judge": "scorer", "score": 0.8},
    ]
    experts = [
        {"record": r, "judge": "ana", "kind": "expert", "label": label}
        for r, label in (("a1", "accept"), ("b2", "reject"), ("g3", "accept"), ("t1", "accept"))
    ]
    cli.ok("ledger", "import-verdicts", str(write(tmp_path / "v.jsonl", rows + experts)), db=db)

    report = cli.json("judge", "audit", "--ledger", "--resamples", "0", db=db)
    assert report["source"] == str(db) and report["n_items"] == 4
    confusion = {j["judge"]: j["confusion"] for j in report["judges"]}
    assert confusion["strict"] == {"tp": 1, "fp": 0, "fn": 2, "tn": 1}
    assert confusion["scorer"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 0}  # score >= 0.5 accepts

    strict_scorer = cli.json(
        "judge", "audit", "--ledger", "--judge", "scorer", "--threshold", "0.7",
        "--resamples", "0", db=db,
    )  # fmt: skip
    (only,) = strict_scorer["judges"]
    assert only["judge"] == "scorer"
    assert only["confusion"] == {"tp": 2, "fp": 0, "fn": 1, "tn": 1}


def test_judge_audit_of_the_ledger_refuses_what_it_cannot_use(
    tmp_path: Path, cli: Cli, db: Path
) -> None:
    labels = write(tmp_path / "labels.csv", [{"human": 1, "j": 1}])
    for args, message in (
        ([str(labels), "--ledger"], "not both or neither"),
        ([], "not both or neither"),
        (["--ledger", "--group", "model"], "--group: for label files, not --ledger"),
        (["--ledger"], "holds no AI verdicts at all"),
        (["--ledger", "--judge", "nobody"], "holds no AI verdicts by nobody"),
    ):
        code, _, err = cli("judge", "audit", *args, db=db)
        assert code == 2 and message in err, (args, err)
        assert "Traceback" not in err
