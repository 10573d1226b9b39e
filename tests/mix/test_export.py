"""`keel mix export` on real ledgers: the rows are the mix's members with the ledger's texts and
provenance, in JSONL and Parquet alike; redacted members are listed, never dropped; the
receipt verifies offline; outputs are never overwritten; memory stays bounded."""

from __future__ import annotations

import hashlib
import json
import tempfile
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.experts import review_generation
from keel.ledger import Ledger, ProofBundle, Snapshot, check_payload, verify_bundle
from keel.mix import SCHEMA, MixPlan, MixPolicy, build_mix, export_mix, log_mix, read_mix
from keel.records import Producer, json_record, mix, text_record, verdict
from keel_cli import Cli
from mix_scenario import Scenario, build

TEST_ORIGIN = "example.com/export-test"


@dataclass(frozen=True)
class Built:
    """A ledger with a gated, reviewed mix logged in it (and what built it)."""

    led: Ledger
    db: Path
    scenario: Scenario
    plan: MixPlan
    mix_id: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    d = tmp_path_factory.mktemp("export")
    led = Ledger.open(d / "k.db", key_path=d / "k.key")
    led.init_key(TEST_ORIGIN)
    sc = build(led)
    review_generation(led, sc.panel(), budget=120, generation=1, random_share=1.0)
    plan = build_mix(led, MixPolicy(alpha=0.3, size=150, target_precision=0.85, generation=1))
    logged = log_mix(led, plan)
    try:
        yield Built(led, d / "k.db", sc, plan, logged.id)
    finally:
        led.close()


def parquet_rows(folder: Path) -> list[dict[str, Any]]:
    return list(pq.read_table(folder / "data.parquet").to_pylist())


def jsonl_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rows_are_the_members_with_the_ledgers_texts_and_provenance(
    built: Built, tmp_path: Path
) -> None:
    report = export_mix(built.led, built.mix_id, tmp_path / "out")
    rows = parquet_rows(tmp_path / "out")
    logged = read_mix(built.led, built.mix_id)
    assert [r["id"] for r in rows] == [j.id for j in logged.members]  # log order, all of them
    assert report.facts.rows == report.facts.members == len(rows) == 150
    assert report.facts.redacted == 0
    snap = Snapshot.load(built.led)
    reasons = {m.id: m.reason for m in built.plan.members}
    for row, j in zip(rows, logged.members, strict=True):
        r = j.record
        assert row["text"] == built.led.payload(r.payload.sha256).decode()
        assert hashlib.sha256(row["text"].encode()).hexdigest() == row["payload_sha256"]
        assert (row["origin"], row["author"], row["generation"]) == (
            r.origin,
            r.author,
            r.generation,
        )
        assert row["producer_model"] == (r.producer.model if r.producer else None)
        assert row["producer_version"] == (r.producer.version if r.producer else None)
        assert row["parents"] == list(r.parents)
        assert row["index"] == j.index
        assert row["reason"] == reasons[j.id]  # what build_mix decided, read back from the log
        assert row["gate"] == ("accepted" if reasons[j.id] == "gate" else None)
        expert = snap.get(j.id).expert
        assert [(v["reviewer"], v["label"], v["score"]) for v in row["expert_verdicts"]] == [
            (v.judge, v.label, v.score) for v in expert
        ]
        assert not any(v["after_mix"] for v in row["expert_verdicts"])
    assert {r["reason"] for r in rows} == {"verified-human", "expert-adopted", "gate"}
    assert report.facts.by_reason == dict(sorted(Counter(reasons.values()).items()))


def test_jsonl_and_parquet_hold_the_same_rows(built: Built, tmp_path: Path) -> None:
    export_mix(built.led, built.mix_id, tmp_path / "pq", format="parquet")
    export_mix(built.led, built.mix_id, tmp_path / "js", format="jsonl")
    assert jsonl_rows(tmp_path / "js" / "data.jsonl") == parquet_rows(tmp_path / "pq")
    table = pq.read_table(tmp_path / "pq" / "data.parquet")
    assert table.schema.equals(SCHEMA, check_metadata=False)
    assert table.schema.field("text").metadata[b"description"]  # the columns say what they are


def test_the_receipt_ties_the_export_to_the_checkpoint(
    built: Built, tmp_path: Path, cli: Cli
) -> None:
    out = tmp_path / "out"
    export_mix(built.led, built.mix_id[:12], out, format="jsonl")  # a unique prefix will do
    manifest = json.loads((out / "keel-export.json").read_text())
    bundle = ProofBundle.parse((out / "mix.tlog-proof").read_bytes())
    entry = (out / "mix.entry").read_bytes()
    cp = verify_bundle(bundle, entry, built.led.verifier())
    assert hashlib.sha256(entry).hexdigest() == built.mix_id == manifest["mix"]["id"]
    assert (
        check_payload(entry, (out / "members.txt").read_bytes())
        == (manifest["mix"]["members_sha256"])
    )
    assert manifest["ledger"]["checkpoint"] == {
        "size": cp.size,
        "root": cp.root.hex(),
        "note": bundle.checkpoint.decode(),
    }
    assert manifest["ledger"]["origin"] == TEST_ORIGIN
    ids = {r["id"] for r in jsonl_rows(out / "data.jsonl")}
    assert ids == set((out / "members.txt").read_text().split())
    vkey = built.led.info().verifier_key
    assert vkey is not None
    got = cli.json(
        "ledger",
        "verify-proof",
        str(out / "mix.tlog-proof"),
        str(out / "mix.entry"),
        "--payload",
        str(out / "members.txt"),
        "--key",
        vkey,
    )
    assert got["ok"] and got["entry_id"] == built.mix_id and got["tree_size"] == cp.size


def test_the_manifest_names_every_file_by_digest(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = export_mix(built.led, built.mix_id, out)
    manifest = json.loads((out / "keel-export.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) | {"keel-export.json"} == {p.name for p in out.iterdir()}
    for name, f in listed.items():
        data = (out / name).read_bytes()
        assert (f["bytes"], f["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert manifest["counts"]["members"] == manifest["mix"]["count"] == 150
    assert [c["name"] for c in manifest["columns"]] == SCHEMA.names
    assert set(report.files) == {p.name for p in out.iterdir()}


# -- ledgers made for one test ---------------------------------------------------------------


def small_mix(led: Ledger, n: int = 8, policy: dict[str, Any] | None = None) -> list[str]:
    """`n` records (human text, synthetic text with a parent, a human JSON record) and a mix
    of all of them logged by hand; returns the member ids in log order."""
    items = [text_record("the first human text", "human", author="ann")]
    first = led.append(items)[0].id
    more = []
    for i in range(1, n - 1):
        more.append(
            text_record(
                f"synthetic text {i}",
                "synthetic",
                producer=Producer("toy", "2"),
                parents=[first],
                generation=1,
            )
        )
    more.append(json_record({"q": "why?", "a": ["because", 1.5]}, "human"))
    ids = [first, *(a.id for a in led.append(more))]
    entry, data = mix(ids, policy or {}, generation=2)
    led.append([(entry, data)])
    return ids


def test_a_mix_logged_by_hand_lists_its_members(ledger: Ledger, tmp_path: Path) -> None:
    ids = small_mix(ledger)
    export_mix(ledger, mix_id(ledger), tmp_path / "out", format="jsonl")
    rows = jsonl_rows(tmp_path / "out" / "data.jsonl")
    assert [r["id"] for r in rows] == ids
    assert {r["reason"] for r in rows} == {"listed"} and {r["gate"] for r in rows} == {None}
    assert rows[1]["parents"] == [ids[0]] and rows[1]["producer_model"] == "toy"
    assert json.loads(rows[-1]["text"]) == {"q": "why?", "a": ["because", 1.5]}
    assert rows[-1]["payload_type"] == "json"


def mix_id(led: Ledger) -> str:
    return led.entries("mix")[-1].id


def test_redacted_members_are_listed_and_counted(ledger: Ledger, tmp_path: Path) -> None:
    ids = small_mix(ledger)
    erased = ledger.redact(ids[2], "consent withdrawn")
    ledger.redact(ids[4], "consent withdrawn")
    report = export_mix(ledger, mix_id(ledger), tmp_path / "out")
    rows = parquet_rows(tmp_path / "out")
    listed = jsonl_rows(tmp_path / "out" / "redacted.jsonl")
    assert [r["id"] for r in rows] == [i for i in ids if i not in (ids[2], ids[4])]
    assert [r["id"] for r in listed] == [ids[2], ids[4]]
    assert "text" not in listed[0]
    assert listed[0]["redaction"] == {"id": erased.id, "reason": "consent withdrawn"}
    assert listed[0]["origin"] == "synthetic" and listed[0]["parents"] == [ids[0]]
    assert (report.facts.members, report.facts.rows, report.facts.redacted) == (8, 6, 2)
    manifest = json.loads((tmp_path / "out" / "keel-export.json").read_text())
    assert manifest["counts"]["redacted"] == 2


def test_fail_on_redacted_writes_nothing(ledger: Ledger, tmp_path: Path, cli: Cli) -> None:
    ids = small_mix(ledger)
    ledger.redact(ids[3], "gdpr")
    parent = tmp_path / "exports"
    parent.mkdir()
    report = export_mix(ledger, mix_id(ledger), parent / "lib", fail_on_redacted=True)
    assert not report.written and report.facts.redacted == 1
    db = str(tmp_path / "k.db")
    code, _, err = cli(
        "--db", db, "mix", "export", mix_id(ledger), "-o", str(parent / "cli"), "--fail-on-redacted"
    )
    assert code == 1 and "1 of 8 members" in err and "nothing written" in err
    assert list(parent.iterdir()) == []  # no folder, no leftovers
    assert cli("--db", db, "mix", "export", mix_id(ledger), "-o", str(parent / "ok"))[0] == 0


def test_an_existing_output_is_refused_and_left_alone(
    ledger: Ledger, tmp_path: Path, cli: Cli
) -> None:
    small_mix(ledger)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    db = str(tmp_path / "k.db")
    code, _, err = cli("--db", db, "mix", "export", mix_id(ledger), "-o", str(out))
    assert code == 2 and "never overwrites" in err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert (out / "mine.txt").read_text() == "keep me"
    code, _, err = cli(
        "--db", db, "mix", "export", mix_id(ledger), "-o", str(tmp_path / "no" / "x")
    )
    assert code == 2 and "does not exist" in err


def test_an_unknown_id_or_a_record_is_refused(ledger: Ledger, tmp_path: Path, cli: Cli) -> None:
    ids = small_mix(ledger)
    db = str(tmp_path / "k.db")
    code, _, err = cli("--db", db, "mix", "export", "0" * 64, "-o", str(tmp_path / "a"))
    assert code == 2 and "no entry" in err
    code, _, err = cli("--db", db, "mix", "export", ids[0], "-o", str(tmp_path / "b"))
    assert code == 2 and "not a mix" in err
    code, _, err = cli(
        "--db", db, "mix", "export", ids[0], "-o", str(tmp_path / "c"), "--format", "csv"
    )
    assert code == 2 and "--format" in err
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # no export, no leftovers


def test_a_mix_of_non_records_cannot_be_exported(ledger: Ledger, tmp_path: Path) -> None:
    ids = small_mix(ledger)
    v = ledger.append([verdict(ids[0], "judge-1", "ai", label="accept")])[0]
    entry, data = mix([ids[0], v.id], {})
    ledger.append([(entry, data)])
    with pytest.raises(Exception, match="not records logged before it"):
        export_mix(ledger, mix_id(ledger), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_verdicts_after_the_mix_are_flagged_not_used(ledger: Ledger, tmp_path: Path) -> None:
    ids = small_mix(ledger, policy={"gate": "none"})
    ledger.append([verdict(ids[1], "expert-7", "expert", label="reject", score=0.0)])
    export_mix(ledger, mix_id(ledger), tmp_path / "out", format="jsonl")
    rows = {r["id"]: r for r in jsonl_rows(tmp_path / "out" / "data.jsonl")}
    late = rows[ids[1]]
    assert late["expert_verdicts"] == [
        {"reviewer": "expert-7", "label": "reject", "score": 0.0, "round": None, "after_mix": True}
    ]
    assert late["reason"] == "gate" and late["gate"] == "ungated"
    assert rows[ids[0]]["reason"] == "verified-human" and rows[ids[0]]["gate"] is None


def test_the_cli_summary(ledger: Ledger, tmp_path: Path, cli: Cli) -> None:
    small_mix(ledger)
    out = tmp_path / "out"
    got = cli.json(
        "--db",
        str(tmp_path / "k.db"),
        "mix",
        "export",
        mix_id(ledger)[:10],
        "-o",
        str(out),
        "--format",
        "jsonl",
    )
    assert got["written"] and got["path"] == str(out) and got["format"] == "jsonl"
    assert (got["members"], got["rows"], got["redacted"]) == (8, 8, 0)
    assert got["checkpoint_size"] == ledger.info().checkpoint_size
    assert got["receipt"] == str(out / "mix.tlog-proof")
    assert "data.jsonl" in got["files"] and got["synthetic_share"] == 6 / 8


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.sampled_from(["human", "synthetic", "json"]), min_size=1, max_size=12),
    chosen=st.data(),
    batch=st.integers(1, 5),
    fmt=st.sampled_from(["jsonl", "parquet"]),
)
def test_every_member_is_exported_or_listed_as_redacted(
    kinds: list[str], chosen: st.DataObject, batch: int, fmt: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        with Ledger.open(d / "k.db", key_path=d / "k.key") as led:
            led.init_key(TEST_ORIGIN)
            items = []
            for i, kind in enumerate(kinds):
                if kind == "json":
                    items.append(json_record({"i": i, "t": "x" * i}, "human"))
                else:
                    items.append(text_record(f"text {i} ünïcode", kind))
            ids = [a.id for a in led.append(items)]
            members = chosen.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
            redact = chosen.draw(st.lists(st.sampled_from(members), unique=True))
            entry, data = mix(members, {"gate": "corrected"})
            led.append([(entry, data)])
            for r in redact:
                led.redact(r, "test")
            out = d / "out"
            report = export_mix(led, mix_id(led), out, format=fmt, batch_size=batch)
            rows = jsonl_rows(out / "data.jsonl") if fmt == "jsonl" else parquet_rows(out)
            listed = jsonl_rows(out / "redacted.jsonl")
            in_order = [i for i in ids if i in set(members)]
            assert [r["id"] for r in rows] == [i for i in in_order if i not in redact]
            assert [r["id"] for r in listed] == [i for i in in_order if i in redact]
            for row in rows:
                assert row["text"].encode() == led.payload(row["payload_sha256"])
            assert (report.facts.members, report.facts.redacted) == (len(members), len(redact))


def test_memory_does_not_grow_with_the_mix(tmp_path: Path) -> None:
    """Python allocations peak at about one batch of texts, not at the whole mix: 4x the members
    (each text 4 KB) raise the peak by a fraction of their texts' bytes (what grows is the id
    list, a few hundred bytes a member while it is decoded, then 33)."""
    peaks = []
    for n in (500, 2000):
        d = tmp_path / str(n)
        d.mkdir()
        with Ledger.open(d / "k.db", key_path=d / "k.key") as led:
            led.init_key(TEST_ORIGIN)
            ids = [
                a.id
                for a in led.append(text_record(f"{i} " + "w" * 4000, "human") for i in range(n))
            ]
            entry, data = mix(ids, {})
            led.append([(entry, data)])
            led.checkpoint()
            tracemalloc.start()
            export_mix(led, mix_id(led), d / "out", batch_size=64)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    extra_text = 1500 * 4000  # what the 1500 extra members' texts weigh
    assert peaks[1] - peaks[0] < extra_text / 4, peaks
    assert peaks[1] < 2000 * 4000 / 3, peaks  # a third of the texts, at 64 rows a batch
