"""keel.ledger.verify: every kind of tampering with the SQLite file is caught and named, and
redaction erases bytes for real while the log, checkpoints and receipts stay valid."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keel.errors import InputError, RedactedError
from keel.ledger import Ledger, open_checkpoint, verify, verify_bundle
from keel.ledger.checkpoint import Checkpoint, sign_checkpoint
from keel.ledger.merkle import stored_hash_index
from keel.ledger.note import generate_key, parse_signer
from keel.ledger.store import key_of
from keel.records import Producer, Record, Run, entry_bytes, mix, text_record, verdict

Fill = Callable[..., Any]


def sql(db: Path, stmt: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the database file with a separate connection, commit and close."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        return list(conn.execute(stmt, params))


def entry_blob(db: Path, idx: int) -> bytes:
    return bytes(sql(db, "SELECT entry FROM entries WHERE idx = ?", (idx,))[0][0])


@dataclass
class Built:
    led: Ledger
    db: Path
    ids: list[str]
    digests: list[str]  # payload digests of the records, in order


@pytest.fixture
def built(tmp_path: Path, ledger: Ledger, fill_ledger: Fill) -> Built:
    """50 entries (records, verdicts with rationales, a mix, a run) and checkpoints at 20 and 50."""
    res = fill_ledger(ledger, 20)
    ledger.checkpoint()
    ids = [r.id for r in res]
    for i in range(10):
        ids.append(
            ledger.append([verdict(ids[i], "judge", "ai", score=i / 10, rationale=f"why {i}")])[
                0
            ].id
        )
    m, mdata = mix(ids[:5], {"human_share": 0.5}, generation=1)
    mid = ledger.append([(m, mdata)])[0].id
    ids.append(mid)
    ids.append(ledger.append([(Run(mix=mid, model="m1"), None)])[0].id)  # type: ignore[arg-type]
    ids += [r.id for r in fill_ledger(ledger, 18, start=20)]
    ledger.checkpoint()
    assert ledger.size == 50
    digests = [
        e.payload.sha256 for e in (ledger.locate(i).entry for i in ids) if isinstance(e, Record)
    ]
    return Built(ledger, tmp_path / "k.db", ids, digests)


def check(b: Built) -> Any:
    report = verify(b.led.store, b.led.verifier())
    assert not report.ok
    return report


def test_untouched_ledger_verifies(built: Built) -> None:
    report = verify(built.led.store, built.led.verifier())
    assert report.ok, report.problems
    assert report.first is None
    assert (report.size, report.entries, report.checkpoints) == (50, 50, 2)
    assert report.payloads == 20 + 18 + 10 + 1
    assert report.root == built.led.root().hex()
    assert report.redacted == []


def test_empty_ledger_verifies(ledger: Ledger) -> None:
    assert verify(ledger.store, ledger.verifier()).ok
    ledger.checkpoint()
    assert verify(ledger.store, ledger.verifier()).ok


@pytest.mark.parametrize("idx", [0, 7, 19, 20, 25, 30, 31, 49])
@pytest.mark.parametrize("how", ["digest digit", "first byte", "last byte"])
def test_changed_entry_byte_names_the_entry(built: Built, idx: int, how: str) -> None:
    raw = bytearray(entry_blob(built.db, idx))
    if how == "digest digit":  # still valid, canonical JSON
        pos = raw.index(b'"sha256":"') + 12 if b'"sha256":"' in raw else raw.index(b'"mix":"') + 9
        raw[pos] = ord("0") if raw[pos] != ord("0") else ord("1")
    elif how == "first byte":
        raw[0] ^= 0x01
    else:
        raw[-1] = ord(" ")
    sql(built.db, "UPDATE entries SET entry = ? WHERE idx = ?", (bytes(raw), idx))
    report = check(built)
    assert (report.first.where, report.first.at) == ("entry", str(idx))


def test_changed_payload_byte_names_the_payload(built: Built) -> None:
    digest = built.digests[3]
    key = key_of(bytes.fromhex(digest))
    (data,) = sql(built.db, "SELECT data FROM payloads WHERE key = ?", (key,))[0]
    changed = bytes([data[0] ^ 0x20]) + bytes(data[1:])
    sql(built.db, "UPDATE payloads SET data = ? WHERE key = ?", (changed, key))
    report = check(built)
    assert (report.first.where, report.first.at) == ("payload", digest)
    assert "changed" in report.first.message
    assert len(report.problems) == 1


@pytest.mark.parametrize("idx", [0, 13, 20, 31, 48])
def test_deleted_entry_names_the_missing_index(built: Built, idx: int) -> None:
    sql(built.db, "DELETE FROM entries WHERE idx = ?", (idx,))
    report = check(built)
    assert (report.first.where, report.first.at) == ("entry", str(idx))
    assert "missing" in report.first.message


def test_deleted_last_entry_is_caught(built: Built) -> None:
    sql(built.db, "DELETE FROM entries WHERE idx = 49")
    report = check(built)
    assert report.size == 49
    assert any(p.where == "checkpoint" and "only 49" in p.message for p in report.problems)


def test_deleted_payload_is_reported_missing(built: Built) -> None:
    digest = built.digests[5]
    key = key_of(bytes.fromhex(digest))
    sql(built.db, "DELETE FROM payloads WHERE key = ?", (key,))
    report = check(built)
    assert (report.first.where, report.first.at) == ("payload", digest)
    assert "missing" in report.first.message


@pytest.mark.parametrize(("i", "j"), [(2, 3), (4, 40), (21, 45)])
def test_swapped_entries_name_the_lower_index(built: Built, i: int, j: int) -> None:
    a, b = entry_blob(built.db, i), entry_blob(built.db, j)
    sql(built.db, "UPDATE entries SET entry = ? WHERE idx = ?", (b, i))
    sql(built.db, "UPDATE entries SET entry = ? WHERE idx = ?", (a, j))
    report = check(built)
    assert (report.first.where, report.first.at) == ("entry", str(i))
    assert {p.at for p in report.problems if p.where == "entry"} >= {str(i), str(j)}


def _checkpoint_rows(db: Path) -> list[tuple[int, int, bytes]]:
    return [(s, n, bytes(b)) for s, n, b in sql(db, "SELECT seq, size, note FROM checkpoints")]


@pytest.mark.parametrize("which", [0, 1])
def test_checkpoint_signed_for_another_root(tmp_path: Path, built: Built, which: int) -> None:
    seq, size, _ = _checkpoint_rows(built.db)[which]
    signer = parse_signer((tmp_path / "k.key").read_text())
    forged = sign_checkpoint(Checkpoint("example.com/test", size, b"\x42" * 32), signer)  # type: ignore[arg-type]
    assert open_checkpoint(forged, built.led.verifier()).size == size  # a valid signature
    sql(built.db, "UPDATE checkpoints SET note = ? WHERE seq = ?", (forged, seq))
    report = check(built)
    assert report.first.where == "checkpoint"
    assert report.first.at == f"#{which} (size {size})"
    assert "root" in report.first.message


def test_checkpoint_signed_with_another_key(built: Built) -> None:
    seq, size, _ = _checkpoint_rows(built.db)[1]
    skey, _ = generate_key("example.com/test")  # same name, different key
    forged = sign_checkpoint(
        Checkpoint("example.com/test", size, built.led.root(size)), parse_signer(skey)
    )
    sql(built.db, "UPDATE checkpoints SET note = ? WHERE seq = ?", (forged, seq))
    report = check(built)
    assert (report.first.where, report.first.at) == ("checkpoint", f"#1 (size {size})")


def test_checkpoint_for_a_smaller_size_after_a_larger_one(tmp_path: Path, built: Built) -> None:
    signer = parse_signer((tmp_path / "k.key").read_text())
    note = sign_checkpoint(Checkpoint("example.com/test", 10, built.led.root(10)), signer)
    sql(built.db, "INSERT INTO checkpoints(size, note) VALUES (?, ?)", (10, note))
    report = check(built)
    assert report.first.where == "checkpoint"
    assert "smaller" in report.first.message


@pytest.mark.parametrize("idx", [4, 33])
def test_consistent_rewrite_is_caught_by_the_signed_checkpoint(
    built: Built, idx: int, forge_entry: Callable[[Path, int, bytes], None]
) -> None:
    old = built.led.at(idx).entry
    assert isinstance(old, Record)
    # same payload, different provenance: only the author changes
    forged = Record(old.origin, old.payload, author="mallory", producer=old.producer,
                    generation=old.generation)  # fmt: skip
    forge_entry(built.db, idx, entry_bytes(forged))
    report = check(built)
    # the signed checkpoints tell; so does the reference index where a verdict names the record
    assert "checkpoint" in {p.where for p in report.problems}
    assert {p.where for p in report.problems} <= {"checkpoint", "index"}
    first_covering = 0 if idx < 20 else 1
    signed = next(p for p in report.problems if p.where == "checkpoint")
    assert signed.at.startswith(f"#{first_covering} ")
    assert "root" in signed.message


def test_corrupted_interior_tree_hash(built: Built) -> None:
    pos = stored_hash_index(1, 3) * 32
    (blob,) = sql(built.db, "SELECT data FROM hashes WHERE chunk = 0")[0]
    blob = bytearray(blob)
    blob[pos] ^= 0xFF
    sql(built.db, "UPDATE hashes SET data = ? WHERE chunk = 0", (bytes(blob),))
    report = check(built)
    assert (report.first.where, report.first.at) == ("tree", str(stored_hash_index(1, 3)))


def test_extra_stored_hashes(built: Built) -> None:
    (blob,) = sql(built.db, "SELECT data FROM hashes WHERE chunk = 0")[0]
    sql(built.db, "UPDATE hashes SET data = ? WHERE chunk = 0", (bytes(blob) + b"\0" * 32,))
    report = check(built)
    assert report.first.where == "tree"


def test_verify_names_at_most_max_problems(built: Built) -> None:
    sql(built.db, "UPDATE payloads SET data = x'00'")
    report = verify(built.led.store, built.led.verifier(), max_problems=5)
    assert len(report.problems) == 5
    assert {p.where for p in report.problems} == {"payload"}


def test_big_integral_float_in_tags_verifies(ledger: Ledger) -> None:
    # 1e17 is logged as 100000000000000000 (RFC 8785); reading it back must not call it damage
    ledger.append([text_record("t", "human", tags={"n": 1e17, "m": -(2.0**60), "k": 1e300})])
    ledger.checkpoint()
    report = verify(ledger.store, ledger.verifier())
    assert report.ok, report.problems


# --- redaction -------------------------------------------------------------------------------

SECRET = "SECRET-PERSONAL-DATA " + "0123456789abcdefghij-" * 40 + " END-OF-SECRET"


def _file_bytes(db: Path) -> bytes:
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def with_secret(built: Built) -> tuple[Built, str, str]:
    led = built.led
    (sec,) = led.append([text_record(SECRET, "human", author="data subject")])
    led.append(
        [
            text_record("derived", "synthetic", producer=Producer("m"), parents=[sec.id]),
            verdict(sec.id, "expert:ana", "expert", label="pii", rationale="contains PII"),
        ]
    )
    led.checkpoint()
    return built, sec.id, hashlib.sha256(SECRET.encode()).hexdigest()


def test_redaction_keeps_the_ledger_valid(with_secret: tuple[Built, str, str]) -> None:
    b, sid, digest = with_secret
    receipt = b.led.prove(sid)
    res = b.led.redact(sid, "gdpr")
    assert res.new
    red = b.led.at(res.index).entry
    assert red.kind == "redaction"
    report = verify(b.led.store, b.led.verifier())
    assert report.ok, report.problems
    assert report.redacted == [digest]
    # old receipts, lineage and entry metadata stay
    verify_bundle(receipt, b.led.locate(sid).raw, b.led.verifier())
    loc = b.led.locate(sid)
    assert isinstance(loc.entry, Record)
    assert loc.entry.payload.sha256 == digest
    assert loc.entry.author == "data subject"
    lin = b.led.lineage(b.led.find_text("derived")[0].id)
    assert [a.located.id for a in lin.ancestors] == [sid]
    assert [v.entry.kind for v in lin.ancestors[0].verdicts] == ["verdict"]
    assert [loc.id for loc in b.led.find_payload(digest)] == [sid]
    assert b.led.redacted()[digest].index == res.index
    with pytest.raises(RedactedError):
        b.led.payload(digest)
    new_receipt = b.led.prove(res.id)
    verify_bundle(new_receipt, b.led.at(res.index).raw, b.led.verifier())


def test_redacted_bytes_leave_the_files(with_secret: tuple[Built, str, str]) -> None:
    b, _, digest = with_secret
    marker = b"END-OF-SECRET"
    assert marker in _file_bytes(b.db)  # the test would prove nothing otherwise
    b.led.redact(digest, "gdpr")  # by payload digest this time
    assert marker not in _file_bytes(b.db)
    assert SECRET.encode()[:64] not in _file_bytes(b.db)
    assert verify(b.led.store, b.led.verifier()).ok


def test_redacted_bytes_leave_the_files_after_checkpointing(
    with_secret: tuple[Built, str, str],
) -> None:
    b, sid, _ = with_secret
    sql(b.db, "PRAGMA wal_checkpoint(TRUNCATE)")  # the secret now lives in the main file
    assert b"END-OF-SECRET" in b.db.read_bytes()
    b.led.redact(sid, "erasure request")
    b.led.close()
    assert b"END-OF-SECRET" not in _file_bytes(b.db)


def test_redact_twice_and_redact_errors(with_secret: tuple[Built, str, str]) -> None:
    b, sid, digest = with_secret
    first = b.led.redact(sid, "gdpr")
    again = b.led.redact(digest, "gdpr")
    assert (again.id, again.index, again.new) == (first.id, first.index, False)
    with pytest.raises(InputError, match="reason"):
        b.led.redact(b.ids[1], "  ")
    with pytest.raises(InputError, match="no payload"):
        b.led.redact(b.ids[31], "run entries have none")
    assert verify(b.led.store, b.led.verifier()).ok


def test_shared_payload_redaction_covers_every_entry(ledger: Ledger) -> None:
    res = ledger.append(
        [
            text_record("shared text", "human"),
            text_record("shared text", "synthetic", producer=Producer("copycat")),
        ]
    )
    ledger.redact(res[1].id, "gdpr")
    for r in res:
        loc = ledger.locate(r.id)
        assert isinstance(loc.entry, Record)
        with pytest.raises(RedactedError):
            ledger.payload(loc.entry.payload.sha256)
    assert verify(ledger.store, ledger.verifier()).ok


def test_payload_erased_without_redaction_entry(built: Built) -> None:
    digest = built.digests[7]
    key = key_of(bytes.fromhex(digest))
    sql(built.db, "UPDATE payloads SET data = NULL WHERE key = ?", (key,))
    report = check(built)
    assert (report.first.where, report.first.at) == ("payload", digest)
    assert "no redaction entry" in report.first.message
    assert report.redacted == []


# --- derived indexes and the stored key: recomputed from the entry bytes ------------------------
# `built`: records at 0-19 and 32-49, verdicts on records 0-9 at 20-29, a mix at 30, a run at 31.

ATTACKS: dict[str, tuple[str, tuple[Any, ...], str, str]] = {
    "a verdict attached to another record": (
        "INSERT INTO refs(target, source) VALUES (15, 22)", (), "index", "22"),
    "a reference dropped": ("DELETE FROM refs WHERE source = 23", (), "index", "23"),
    "a reference moved": ("UPDATE refs SET target = 1 WHERE source = 24", (), "index", "24"),
    "a verdict relabelled as a record": (
        "UPDATE entries SET kind = 'record' WHERE idx = 25", (), "index", "25"),
    "a record indexed under another payload": (
        "UPDATE entries SET payload = (SELECT payload FROM entries WHERE idx = 3) WHERE idx = 4",
        (), "index", "4"),
    "an entry's id key changed": (
        "UPDATE entries SET key = key + 1 WHERE idx = 6", (), "entry", "6"),
    "a payload nobody committed to": (
        "INSERT INTO payloads(key, digest, data) VALUES (7, ?, x'00')", (b"\x07" * 32,),
        "payload", "07" * 32),
    "another verifier key in the database": (
        "UPDATE meta SET value = 'example.com/x+00000000+AAAA' WHERE name = 'verifier_key'", (),
        "key", "meta"),
}  # fmt: skip


@pytest.mark.parametrize("attack", ATTACKS)
def test_edited_index_is_caught(built: Built, attack: str) -> None:
    stmt, params, where, at = ATTACKS[attack]
    trusted = built.led.verifier()  # as --key gives it: not read from the database
    sql(built.db, stmt, params)
    report = verify(built.led.store, trusted)
    assert (report.first.where, report.first.at) == (where, at), report.problems


def test_lineage_ignores_a_reference_the_entry_bytes_do_not_make(built: Built) -> None:
    sql(built.db, "INSERT INTO refs(target, source) VALUES (15, 22)")  # verdict 22 is on record 2
    lin = built.led.lineage(built.ids[15])
    assert lin.verdicts == ()
    assert [v.index for v in built.led.lineage(built.ids[2]).verdicts] == [22]


def test_uncovered_entries_are_counted(built: Built, fill_ledger: Fill) -> None:
    assert verify(built.led.store, built.led.verifier()).uncovered == 0
    fill_ledger(built.led, 3, start=100)
    report = verify(built.led.store, built.led.verifier())
    assert report.ok
    assert (report.checkpoint_size, report.uncovered) == (50, 3)


def test_unerased_payload_is_caught(with_secret: tuple[Built, str, str]) -> None:
    b, sid, digest = with_secret
    b.led.redact(sid, "gdpr")
    sql(
        b.db,
        "UPDATE payloads SET data = ? WHERE digest = ?",
        (SECRET.encode(), bytes.fromhex(digest)),
    )
    report = check(b)
    assert (report.first.where, report.first.at) == ("payload", digest)
    assert "redacted" in report.first.message and "back" in report.first.message
