"""`keel experts import`: Argilla and Label Studio exports (made by the tools' own SDKs, see
tests/fixtures/review_exports/make_fixtures.py) logged as expert verdicts with their reviewers,
decisions and rationales; skipped answers counted; unknown, ambiguous, malformed and repeated
reviews refused whole (exit 2, nothing appended); a re-import appends nothing; any bytes as the
file give exit 0 or 2, never a traceback."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.experts.imports import ImportRefusedError, import_reviews, read_export
from keel.ledger import Ledger
from keel.records import Verdict
from keel_cli import Cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "review_exports"
IDS: list[str] = json.loads((FIXTURES / "keel_ids.json").read_text("utf-8"))
ROWS = (FIXTURES / "records.jsonl").read_text("utf-8").splitlines()
RECORDS = [json.loads(line) for line in ROWS]
GOOD = ("argilla_records.json", "argilla_flat.json", "labelstudio_tasks.json")
BAD = ("argilla_bad.json", "labelstudio_bad.json")


def argilla(name: str) -> str:
    """The reviewer id of a user of the Argilla fixtures (make_fixtures.py's fixed uuid5s)."""
    return f"argilla:{uuid.uuid5(uuid.NAMESPACE_URL, f'argilla-user/{name}')}"


ARGILLA = {
    (0, argilla("alice"), "accept", "Textbook biochemistry: the cycle runs in the matrix."),
    (0, argilla("bob"), "accept", None),
    (0, argilla("carol"), "reject", "Succinate dehydrogenase sits in the inner membrane."),
    (1, argilla("alice"), "accept", None),
    (1, argilla("carol"), "accept", "True at standard pressure."),
    (2, argilla("alice"), "accept", "Two branchial hearts and one systemic heart."),
    (2, argilla("carol"), "accept", None),
    (4, argilla("alice"), "degenerate", "Repetition loop: a collapsed generation."),
    (4, argilla("bob"), "reject", None),
}
LABEL_STUDIO = {
    (0, "labelstudio:1", "accept", "Correct: the matrix hosts the cycle."),
    (0, "labelstudio:2", "accept", None),
    (0, "labelstudio:3", "reject", "Oversimplified."),
    (3, "labelstudio:1", "reject", "A myth: it is not visible from the Moon."),
    (3, "labelstudio:2", "reject", None),
    (2, "labelstudio:1", "accept", None),
    (2, "labelstudio:2", "accept", "Yes, three."),
    (4, "labelstudio:2", "degenerate", "Looping repetition."),
    (4, "labelstudio:3", "reject", None),
}
EXPECTED = {
    "argilla_records.json": (ARGILLA, {"no answer": 1}),  # to_json keeps no response status
    "argilla_flat.json": (ARGILLA, {"discarded": 1}),
    "labelstudio_tasks.json": (LABEL_STUDIO, {"cancelled": 1}),
}


@pytest.fixture
def db(tmp_path: Path, cli: Cli) -> Path:
    """A ledger holding the records the fixtures review (keel ingest of records.jsonl)."""
    path = tmp_path / "k.db"
    ids = cli.json("ingest", str(FIXTURES / "records.jsonl"), db=path)["appended"]
    assert ids == IDS  # make_fixtures.py computed the ids the exports name as ingest logs them
    return path


def size(db: Path) -> int:
    with Ledger.open(db, readonly=True) as led:
        return led.size


def imported(db: Path) -> set[tuple[int, str, str, str | None]]:
    """(record index, reviewer, label, rationale) of every imported verdict in the ledger."""
    out = set()
    with Ledger.open(db, readonly=True) as led:
        for loc in led.entries("verdict"):
            v = loc.entry
            assert isinstance(v, Verdict)
            assert v.judge_kind == "expert"
            assert v.rubric == f"keel-import/{v.judge.split(':')[0]}"
            assert v.score == (1.0 if v.label == "accept" else 0.0)
            assert v.round is None and v.signature is None  # outside keel's signed rounds
            why = None if v.rationale is None else led.payload(v.rationale.sha256).decode()
            out.add((IDS.index(v.record), v.judge, str(v.label), why))
    return out


@pytest.mark.parametrize("name", GOOD)
def test_an_export_becomes_expert_verdicts(cli: Cli, db: Path, name: str) -> None:
    expected, skipped = EXPECTED[name]
    report = cli.json("experts", "import", str(FIXTURES / name), db=db)
    assert imported(db) == expected
    assert report["appended"] == len(expected) and report["existing"] == 0
    assert report["skipped"] == skipped
    assert report["records"] == 4 and report["matched_by_text"] == 2
    assert len(report["reviewers"]) == 3
    assert report["ledger_size"] == size(db) == len(RECORDS) + len(expected)


def test_a_reimport_appends_nothing_and_says_so(cli: Cli, db: Path) -> None:
    cli.ok("experts", "import", str(FIXTURES / "labelstudio_tasks.json"), db=db)
    before = size(db)
    out = cli.ok("experts", "import", str(FIXTURES / "labelstudio_tasks.json"), db=db)
    assert "0 appended, 9 already in the ledger" in out
    assert size(db) == before


def test_imported_verdicts_verify_unsigned(
    cli: Cli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEL_KEY", raising=False)
    cli.ok("ledger", "key", "init", "--origin", "example.com/test", db=db)
    cli.ok("experts", "import", str(FIXTURES / "argilla_flat.json"), db=db)
    cli.ok("ledger", "checkpoint", db=db)
    assert cli.ok("ledger", "verify", db=db).startswith("OK 14 entries")


def test_argillas_two_layouts_give_the_same_verdicts(cli: Cli, db: Path) -> None:
    first = cli.json("experts", "import", str(FIXTURES / "argilla_records.json"), db=db)
    again = cli.json("experts", "import", str(FIXTURES / "argilla_flat.json"), db=db)
    assert again["existing"] == 9 and again["appended"] == 0
    assert sorted(again["verdicts"]) == sorted(first["verdicts"])


def test_draft_responses_are_skipped(cli: Cli, db: Path, tmp_path: Path) -> None:
    records = json.loads((FIXTURES / "argilla_flat.json").read_text("utf-8"))
    records[0]["decision.responses.status"][1] = "draft"  # bob's answer, not submitted yet
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(records))
    report = cli.json("experts", "import", str(path), db=db)
    assert report["skipped"] == {"discarded": 1, "draft": 1}
    assert imported(db) == ARGILLA - {(0, argilla("bob"), "accept", None)}


def test_json_lines_read_as_the_array(cli: Cli, db: Path, tmp_path: Path) -> None:
    records = json.loads((FIXTURES / "argilla_flat.json").read_text("utf-8"))
    path = tmp_path / "flat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    cli.ok("experts", "import", str(path), db=db)
    assert imported(db) == ARGILLA


@pytest.mark.parametrize("name", BAD)
def test_unknown_and_malformed_items_are_all_reported_and_nothing_appended(
    cli: Cli, db: Path, name: str
) -> None:
    before = size(db)
    code, out, err = cli("experts", "import", str(FIXTURES / name), "--json", db=db)
    assert code == 2 and out == ""
    assert err.startswith("error: 2 review(s) cannot be imported, so nothing was appended")
    assert f"{name}:1 (" in err and "no record has exactly the text" in err
    assert f"{name}:2 (" in err and "is not a decision" in err
    assert size(db) == before


def test_a_text_on_two_records_is_ambiguous(cli: Cli, db: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.jsonl"
    again.write_text(json.dumps({"text": RECORDS[2]["text"], "origin": "human"}) + "\n")
    cli.ok("ingest", str(again), db=db)
    before = size(db)
    code, _, err = cli("experts", "import", str(FIXTURES / "labelstudio_tasks.json"), db=db)
    assert code == 2
    assert "2 records have exactly the text 'Octopuses have three hearts.'" in err
    assert size(db) == before


def test_a_keel_id_the_ledger_lacks_is_unknown(cli: Cli, tmp_path: Path) -> None:
    rows = tmp_path / "four.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in RECORDS[:4]))
    db = tmp_path / "four.db"
    cli.ok("ingest", str(rows), db=db)
    code, _, err = cli("experts", "import", str(FIXTURES / "argilla_flat.json"), db=db)
    assert code == 2
    assert f"no record {IDS[4]} in this ledger" in err
    assert size(db) == 4


def test_a_reviewer_twice_on_one_record_is_refused(cli: Cli, db: Path, tmp_path: Path) -> None:
    tasks = json.loads((FIXTURES / "labelstudio_tasks.json").read_text("utf-8"))
    path = tmp_path / "twice.json"
    path.write_text(json.dumps([*tasks, tasks[0]]))
    before = size(db)
    code, _, err = cli("experts", "import", str(path), db=db)
    assert code == 2
    assert f"a second review of record {IDS[0][:12]} by labelstudio:1" in err
    assert f"(the first is at {path}:1)" in err
    assert size(db) == before


def test_the_label_question_can_be_named(cli: Cli, db: Path) -> None:
    path = str(FIXTURES / "labelstudio_tasks.json")
    code, _, err = cli("experts", "import", path, "--question", "missing", db=db)
    assert code == 2 and "no question 'missing'; the export answers 'verdict', 'comment'" in err
    code, _, err = cli("experts", "import", path, "--question", "comment", db=db)
    assert code == 2 and "is not a decision" in err
    cli.ok(
        "experts", "import", path, "--question", "verdict", "--rationale", "no-such-question", db=db
    )
    assert {r[3] for r in imported(db)} == {None}


def test_the_library_reads_without_a_ledger(ledger: Ledger) -> None:
    reviews = read_export(FIXTURES / "labelstudio_tasks.json")
    first = reviews[0]
    assert (first.where, first.tool, first.reviewer, first.question) == (
        f"{FIXTURES / 'labelstudio_tasks.json'}:1",
        "labelstudio",
        "labelstudio:1",
        "verdict",
    )
    assert (first.keel_id, first.decision) == (IDS[0], "accept")
    assert first.rationale == "Correct: the matrix hosts the cycle."
    assert [r.skipped for r in reviews].count("cancelled") == 1
    with pytest.raises(ImportRefusedError) as refused:
        import_reviews(ledger, reviews)  # an empty ledger: every item is unknown
    assert len(refused.value.problems) == 9
    assert ledger.size == 0


# -- fuzz ------------------------------------------------------------------------------------
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ORIGINALS = [(FIXTURES / n).read_bytes() for n in (*GOOD, *BAD)]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["data", "annotations", "responses", "result", "value", "text", "id"])
            | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=10,
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with a few bytes changed, inserted or deleted, or cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "insert", "delete", "cut"]))
        at = draw(st.integers(0, len(data)))
        if op == "set" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "cut":
            del data[at:]
    return bytes(data)


EXPORTS = st.one_of(
    st.sampled_from(ORIGINALS).flatmap(lambda b: st.one_of(st.just(b), mutated(b))),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@contextmanager
def inside(root: Path) -> Iterator[Path]:
    """Work in a new folder under `root` (one per example of a property test)."""
    folder = Path(tempfile.mkdtemp(dir=root))
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(old)


@FUZZ
@given(data=EXPORTS, fmt=st.sampled_from([None, "argilla", "labelstudio"]))
def test_any_bytes_as_the_export_give_exit_0_or_2(
    tmp_path: Path, cli: Cli, db: Path, data: bytes, fmt: str | None
) -> None:
    with inside(tmp_path):
        Path("export.json").write_bytes(data)
        before = size(db)
        options = ["--format", fmt] if fmt else []
        code, out, err = cli("experts", "import", "export.json", "--json", *options, db=db)
        assert code in (0, 2), err
        assert "Traceback" not in err
        if code:
            assert err.startswith("error: "), err
            assert size(db) == before
        else:
            report: dict[str, Any] = json.loads(out)
            assert report["ledger_size"] == size(db) == before + report["appended"]
