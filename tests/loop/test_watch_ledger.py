"""The generations `keel watch --ledger` reads (`keel.loop.run.ledger_generations`): one pass
over the log (`keel.ledger.view.record_fields`) and one over the payloads (`payload_texts`),
from one snapshot, give what the loop's `Snapshot` gives, and the same report as the same texts
given as files."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from keel.errors import ErasurePendingError, InputError, VerificationError
from keel.ledger import Ledger, Snapshot
from keel.ledger import view as ledger_view
from keel.ledger.store import EntryRow
from keel.ledger.view import RecordFields, fields_of, payload_texts, record_fields
from keel.loop.run import ledger_generations
from keel.records import Producer, Verdict, json_record, text_record
from keel.text import load_fortunes
from keel_cli import Cli

SCANS = {"by key": 0, "in storage order": 10**9}
"""`SCAN_SHARE` values that make `payload_texts` look payloads up by key, or read them all."""


def loop_like(led: Ledger) -> dict[str, str]:
    """A ledger as a loop leaves it, out of order: generation 2 logged before generation 1,
    fresh human texts beside the model's, verdicts, a JSON record and a record without a
    generation; returns the ids of the records to redact, by what they are."""
    producer = Producer("m", "gen-2", {"temperature": 0.7})
    led.append([text_record(f"start {i}", "human", author="a", generation=0) for i in range(4)])
    late = led.append(
        [text_record(f"second {i}", "synthetic", producer=producer, generation=2) for i in range(5)]
    )
    first = led.append(
        [text_record(f"first {i}", "synthetic", generation=1) for i in range(3)]
        + [text_record(f"fresh {i}", "human", author="b", generation=1) for i in range(2)]
        + [text_record("start 0", "synthetic", generation=1)]  # the same text as a human one
    )
    led.append([(Verdict(a.id, "judge", "ai", label="accept"), None) for a in late + first])
    led.append(
        [
            json_record({"q": 1}, "synthetic", generation=3),
            text_record("no generation", "synthetic"),
            text_record("expert", "expert", generation=3),
        ]
    )
    return {"second": late[1].id, "first": first[0].id}


def snapshot_fields(snapshot: Snapshot) -> list[RecordFields]:
    return [fields_of(j.record) for j in snapshot.records]


@pytest.mark.parametrize("share", SCANS.values(), ids=SCANS.keys())
def test_one_pass_reads_what_the_snapshot_reads(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, share: int
) -> None:
    monkeypatch.setattr(ledger_view, "SCAN_SHARE", share)
    ids = loop_like(ledger)
    ledger.redact(ids["second"], "personal data")
    assert record_fields(ledger) == snapshot_fields(Snapshot.load(ledger))
    gens = ledger_generations(ledger)
    assert gens == ledger_generations(ledger, Snapshot.load(ledger))
    sizes = [("gen-0", 4), ("gen-1", 4), ("gen-2", 4), ("gen-3", 1)]
    assert [(g.name, len(g.texts)) for g in gens] == sizes
    assert gens[1].texts == ("first 0", "first 1", "first 2", "start 0")  # not the fresh ones
    assert "second 1" not in gens[2].texts  # redacted
    assert gens[2].origins == ("synthetic",) * 4 and gens[0].alpha == 1.0
    # generation 3 has no text the model wrote (its JSON record is no text): its expert's
    assert gens[3].texts == ("expert",)
    assert ledger_generations(ledger, generation=1) == [gens[1]]
    assert ledger_generations(ledger, Snapshot.load(ledger), generation=2) == [gens[2]]


def test_fields_of_unusual_entries_are_read_as_parse_entry_reads_them(
    ledger: Ledger, tmp_path: Path, forge_entry: Callable[[Path, int, bytes], None]
) -> None:
    loop_like(ledger)
    db = tmp_path / "k.db"

    def forge(index: int, **fields: object) -> None:
        row = ledger.store.entry_at(index)
        assert row is not None
        obj = orjson.loads(row.entry) | fields
        forge_entry(db, index, orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))

    forge(0, generation=2**60)  # read back as a double, as `keel.records.loads` does
    forge(1, generation=None)
    forge(2, payload={"sha256": "ab" * 32, "size": "7", "type": "text"})
    snapshot = Snapshot.load(ledger)
    assert snapshot.records[0].record.generation == float(2**60)
    assert record_fields(ledger) == snapshot_fields(snapshot)
    forge(3, origin="robot")
    with pytest.raises(InputError, match="origin must be one of"):
        Snapshot.load(ledger)
    with pytest.raises(InputError, match="origin must be one of"):
        record_fields(ledger)
    forge(3, origin="human")
    forge_entry(db, 4, b"not json")
    with pytest.raises(InputError, match="entry is not JSON"):
        record_fields(ledger)


def test_verdicts_are_not_read(
    ledger: Ledger, tmp_path: Path, forge_entry: Callable[[Path, int, bytes], None]
) -> None:
    """A reader of records parses each entry's JSON, and no more of an entry it does not use."""
    loop_like(ledger)
    verdict = next(i for i in range(ledger.size) if ledger.at(i).entry.kind == "verdict")
    forge_entry(tmp_path / "k.db", verdict, b'{"kind":"verdict","v":1}')
    with pytest.raises(InputError, match="malformed verdict"):
        Snapshot.load(ledger)
    assert len(record_fields(ledger)) == 18


@pytest.mark.parametrize("share", SCANS.values(), ids=SCANS.keys())
def test_payload_bytes_must_match_their_digest(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share: int
) -> None:
    monkeypatch.setattr(ledger_view, "SCAN_SHARE", share)
    loop_like(ledger)
    digests = [sha256 for _, _, _, sha256 in record_fields(ledger)]
    assert payload_texts(ledger, [*digests, "00" * 32])[-1] is None  # not held
    with contextlib.closing(sqlite3.connect(tmp_path / "k.db")) as conn, conn:
        conn.execute("UPDATE payloads SET data = CAST('forged' AS BLOB) WHERE rowid = 3")
    with pytest.raises(VerificationError, match="do not match their digest"):
        payload_texts(ledger, digests)


def test_log_and_payloads_are_read_from_one_snapshot(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redaction committed between the pass over the log and the pass over the payloads is
    not seen: the generation keeps the text its record had in the snapshot."""
    ids = loop_like(ledger)
    store = ledger.store
    entries = store.iter_entries

    def then_redact(start: int = 0, stop: int | None = None) -> Iterator[EntryRow]:
        yield from entries(start, stop)
        other = Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key")
        with other, contextlib.suppress(ErasurePendingError):  # this reader holds the bytes
            other.redact(ids["first"], "withdrawn")

    monkeypatch.setattr(store, "iter_entries", then_redact)
    (_, g1, _, _) = ledger_generations(ledger)
    assert g1.texts[0] == "first 0"
    monkeypatch.undo()
    assert ledger_generations(ledger)[1].texts[0] == "first 1"


def test_watch_on_the_ledger_is_the_watch_on_the_same_files(cli: Cli, tmp_path: Path) -> None:
    """Byte for byte: the report of `keel watch --ledger` and of the same texts, with their
    origins, given as files."""
    human = load_fortunes()
    reference = tmp_path / "ref.txt"
    reference.write_text("".join(t + "\n" for t in human[:200]))
    files = []
    with Ledger.open(tmp_path / "w.db") as led:
        for g in range(4):
            origin = "human" if g == 0 else "synthetic"
            texts = human[200 + 60 * g : 260 + 60 * g]
            led.append([text_record(t, origin, generation=g) for t in texts])
            files.append(tmp_path / f"gen-{g}.jsonl")
            rows = [orjson.dumps({"text": t, "origin": origin}) for t in texts]
            files[-1].write_bytes(b"\n".join(rows) + b"\n")
    ref = ["--reference", str(reference)]
    from_files = cli.ok("watch", *map(str, files), *ref, "--json")
    from_ledger = cli.ok("--db", str(tmp_path / "w.db"), "watch", "--ledger", *ref, "--json")
    assert from_ledger == from_files
    assert [g["alpha"] for g in json.loads(from_ledger)["generations"]] == [1.0, 0.0, 0.0, 0.0]
    table = cli.ok("watch", *map(str, files), *ref)
    assert cli.ok("--db", str(tmp_path / "w.db"), "watch", "--ledger", *ref) == table
