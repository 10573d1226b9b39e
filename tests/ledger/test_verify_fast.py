"""`verify`'s fast paths report exactly what the reference (`verify_reference.py`, verify as it
was before them) reports: on a ledger holding every kind of entry, tampered with at random
(entry bytes, rewritten JSON, index columns, references, payloads, tree hashes, rows deleted),
the two reports are equal, problem for problem and in order, or both raise the same error."""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from verify_reference import verify as verify_reference

from keel.ledger import Ledger, generate_key, parse_signer
from keel.ledger.anchor import bind_anchor_key
from keel.ledger.store import key_of
from keel.ledger.verify import Report, verify
from keel.records import (
    Anchor,
    Close,
    DecisionSignature,
    Enrolment,
    EntryId,
    PayloadRef,
    Producer,
    Round,
    RoundItem,
    Run,
    Verdict,
    decision_message,
    gold_commitment,
    mix,
    text_record,
    verdict,
)

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


verify_module = importlib.import_module(
    "keel.ledger.verify"
)  # `keel.ledger.verify` is the function
Forge = Callable[[Path, int, bytes], None]
SIZE = 33
"""Entries in the ledger `build` makes."""
HEX = "0123456789abcdef"


def fill(led: Ledger, n: int, start: int = 0) -> list[Any]:
    """`n` records: plain human ones, and synthetic ones with a producer (floats: not plain)."""
    return led.append(
        [
            text_record(f"record {i}", "synthetic", producer=Producer("m", "1", {"t": 0.7}))
            if i % 3 == 2
            else text_record(f"record {i}", "human", author=f"author-{i % 5}")
            for i in range(start, start + n)
        ]
    )


def build(where: Path | str, key: Path) -> None:
    """A ledger of every kind of entry, plain records and others, checkpointed on the way."""
    with Ledger.open(where, key_path=key) as led:
        led.init_key("example.com/fast")
        recs = [a.id for a in fill(led, 10)]  # plain human records, synthetic ones with floats
        led.checkpoint()
        recs += [
            a.id
            for a in led.append(
                [
                    text_record("child", "human", author="ann", parents=recs[:2], generation=2,
                                tags={"lang": "en", "n": 3, "ok": True, "none": None}),
                    text_record("café", "expert", author="zoë"),  # not ASCII: not plain
                    text_record("deep", "human", tags={"a": {"b": [1, 2.5]}}),
                    text_record("big", "human", tags={"n": 2**53 - 1, "f": 1e21}),
                ]
            )
        ]  # fmt: skip
        for i in range(4):
            led.append([verdict(recs[i], "judge", "ai", score=i / 4, rationale=f"why {i}")])
        m, data = mix(recs[:6], {"human_share": 0.5}, generation=1)
        mid = led.append([(m, data)])[0].id
        led.append([(Run(mix=mid, model="m1", uses=(recs[0],)), None)])
        led.checkpoint()
        skey, vkey = generate_key("ana")
        ana = led.append([(Enrolment("ana", "reviewer", vkey), None)])[0].id
        gold = {EntryId(recs[1]): "accept"}
        items = (RoundItem(EntryId(recs[3]), 0.25, "random", ("ana",)),
                 RoundItem(EntryId(recs[1]), 1.0, "gold", ("ana",)))  # fmt: skip
        rnd = Round(items, budget=2, random_share=0.5, seed=7, overlap=1, generation=1,
                    gold=gold_commitment("00" * 16, gold),  # type: ignore[arg-type]
                    guidelines=PayloadRef.of(b"be careful", "text"))  # fmt: skip
        rid = led.append([(rnd, b"be careful")])[0].id
        v = Verdict(EntryId(recs[3]), "ana", "expert", "accept", 1.0, None, None, rid, 4.5)
        sig = parse_signer(skey).sign(decision_message(v))
        sig64 = base64.b64encode(sig).decode()
        v = replace(v, signature=DecisionSignature(ana, "server", sig64))
        led.append([(v, None)])
        led.append([(Close(rid, "00" * 16, gold), None)])  # type: ignore[arg-type]
        bound, _ = bind_anchor_key(led, "HNbLTh7XNSeezKTWLDgu7RshWKM65hK2THzHNRq9aRce", "solana:x")
        led.append([(Anchor(bound.id, "5" * 88, 7, 3, led.root(3).hex()), None)])
        led.redact(recs[5], "asked to")
        fill(led, 6, start=100)
        led.checkpoint()
        assert led.size == SIZE


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    build(folder / "k.db", folder / "k.key")
    return folder


@contextlib.contextmanager
def copy_of(base: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        for f in base.iterdir():
            shutil.copy(f, tmp)
        yield Path(tmp)


def sql(db: Path, stmt: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        return list(conn.execute(stmt, params))


def outcome(check: Callable[[], Report]) -> Report | tuple[str, str]:
    try:
        return check()
    except Exception as exc:  # the reference raises for some forged bytes; so must verify
        return type(exc).__name__, str(exc)


def same_reports(folder: Path) -> Report | tuple[str, str]:
    """verify's report on the ledger in `folder`, after checking it is the reference's."""
    with Ledger.open(folder / "k.db", key_path=folder / "k.key") as led:
        key, _ = led.trusted_verifier()  # the key file's: not read from the database
        expected = outcome(lambda: verify_reference(led.store, key))
        got = outcome(lambda: verify(led.store, key))
    assert got == expected
    return got


def test_the_untouched_ledger_verifies_alike(base: Path) -> None:
    with copy_of(base) as folder:
        report = same_reports(folder)
        assert isinstance(report, Report) and report.ok, report


# --- entry bytes ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5)
    | st.sampled_from(["human", "record", "ab" * 32, "", "0"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
KEYS = st.sampled_from(
    ["author", "generation", "kind", "origin", "parents", "payload", "producer", "tags", "v",
     "sha256", "size", "type", "record", "digest", "x"]
)  # fmt: skip


def edited(data: bytes, draw: st.DrawFn) -> bytes:
    """`data` with one edit: to its bytes, or to its JSON written back in some style."""
    how = draw(st.sampled_from(["byte", "insert", "delete", "digit", "json"]))
    raw = bytearray(data)
    pos = draw(st.integers(0, max(len(raw) - 1, 0)))
    obj = None
    if how == "json":
        with contextlib.suppress(orjson.JSONDecodeError):
            obj = orjson.loads(data)
    if isinstance(obj, dict):
        target = obj
        if draw(st.booleans()) and isinstance(obj.get("payload"), dict):
            target = obj["payload"]
        key = draw(KEYS)
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(JSON_VALUES)
        style = draw(st.sampled_from(["sorted", "unsorted", "spaced"]))
        if style == "sorted":
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        if style == "unsorted":
            return orjson.dumps(obj)
        return json.dumps(obj).encode()
    if how == "byte" and raw:
        raw[pos] = draw(st.sampled_from(b'0af"\\:,{}[] .eE-1\x00\xc3\xe9x'))
    elif how == "delete" and raw:
        del raw[pos]
    elif how == "digit" and (digits := [i for i, c in enumerate(raw) if chr(c) in HEX]):
        at = digits[draw(st.integers(0, len(digits) - 1))]
        raw[at] = ord(draw(st.sampled_from(HEX + "A")))
    else:
        raw[pos:pos] = draw(st.sampled_from([b" ", b"0", b",", b'"', b"\xc3\xa9", b"e5", b".5"]))
    return bytes(raw)


def edit_entries(db: Path, data: st.DataObject, forge_entry: Forge, count: int) -> None:
    """Edit `count` entries at random: their bytes alone, or with their id key and the tree
    recomputed to match (then only the checks of the bytes themselves can tell)."""
    for _ in range(count):
        idx = data.draw(st.integers(0, SIZE - 1))
        entry = bytes(sql(db, "SELECT entry FROM entries WHERE idx = ?", (idx,))[0][0])
        new = edited(entry, data.draw)
        if data.draw(st.booleans()):
            forge_entry(db, idx, new)
        else:
            sql(db, "UPDATE entries SET entry = ? WHERE idx = ?", (new, idx))


@SETTINGS
@given(data=st.data(), count=st.integers(1, 3))
def test_edited_entries_are_reported_alike(
    base: Path, forge_entry: Forge, data: st.DataObject, count: int
) -> None:
    with copy_of(base) as folder:
        edit_entries(folder / "k.db", data, forge_entry, count)
        same_reports(folder)


# --- what else is stored ------------------------------------------------------------------------


def _flip(blob: bytes, at: int) -> bytes:
    at %= max(len(blob), 1)
    return blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1 :] if blob else b"\x01"


@st.composite
def tampering(draw: st.DrawFn) -> list[tuple[str, tuple[Any, ...]]]:
    """SQL statements that change what a ledger stores besides its entry bytes."""
    idx = draw(st.integers(0, SIZE - 1))
    other = draw(st.integers(0, SIZE - 1))
    row = draw(st.integers(1, 30))
    at = draw(st.integers(0, 10_000))
    kind = draw(st.sampled_from(["record", "verdict", "mix", "run", "close", "", 3, b"record"]))
    return draw(
        st.sampled_from(
            [
                [("UPDATE entries SET kind = ? WHERE idx = ?", (kind, idx))],
                [("UPDATE entries SET payload = (SELECT payload FROM entries WHERE idx = ?) "
                  "WHERE idx = ?", (other, idx))],
                [("UPDATE entries SET payload = NULL WHERE idx = ?", (idx,))],
                [("UPDATE entries SET payload = payload + 1 WHERE idx = ?", (idx,))],
                [("UPDATE entries SET key = key + 1 WHERE idx = ?", (idx,))],
                [("DELETE FROM entries WHERE idx = ?", (idx,))],
                [("INSERT INTO refs(target, source) VALUES (?, ?)", (other, idx))],
                [("DELETE FROM refs WHERE source = ?", (idx,))],
                [("UPDATE refs SET target = ? WHERE source = ?", (other, idx))],
                [("UPDATE payloads SET data = ? WHERE rowid = ?", (bytes([at % 256]), row))],
                [("UPDATE payloads SET data = NULL WHERE rowid = ?", (row,))],
                [("UPDATE payloads SET key = key + 1 WHERE rowid = ?", (row,))],
                [("UPDATE payloads SET key = -1 WHERE rowid = ?", (row,)),
                 ("UPDATE payloads SET key = (SELECT key FROM payloads WHERE rowid = ?) "
                  "WHERE rowid = ?", (row % 7 + 1, row)),
                 ("UPDATE payloads SET key = ? WHERE rowid = ?", (key_of(b"x" * 8), row % 7 + 1))],
                [("DROP INDEX payloads_key", ()),
                 ("INSERT INTO payloads(key, digest, data) SELECT key, ?, x'00' FROM payloads "
                  "WHERE rowid = ?", (b"\x05" * 32, row))],
                [("UPDATE payloads SET digest = ? WHERE rowid = ?", (b"\x05" * 32, row))],
                [("UPDATE payloads SET digest = ? WHERE rowid = ?", (b"\x05" * (at % 40), row))],
                [("UPDATE payloads SET key = 'k' WHERE rowid = ?", (row,))],
                [("UPDATE payloads SET key = key + 1 WHERE rowid = ?", (row,)),
                 ("UPDATE payloads SET data = x'00' WHERE data IS NULL", ())],
                [("DELETE FROM payloads WHERE rowid = ?", (row,))],
                [("DELETE FROM payloads", ())],
                [("INSERT INTO payloads(key, digest, data) VALUES (7, ?, x'00')", (b"\x07" * 32,))],
                [("UPDATE hashes SET data = ? WHERE chunk = 0", (at,))],
                [("UPDATE hashes SET data = substr(data, 1, ?) WHERE chunk = 0", (at % 2200,))],
                [("DELETE FROM checkpoints WHERE seq = ?", (at % 4,))],
                [("UPDATE checkpoints SET size = size + 1 WHERE seq = ?", (at % 4,))],
                [("UPDATE meta SET value = 'example.com/x+00000000+AAAA' "
                  "WHERE name = 'verifier_key'", ())],
            ]
        )
    )  # fmt: skip


@SETTINGS
@given(st.lists(tampering(), min_size=1, max_size=3))
def test_tampered_tables_are_reported_alike(
    base: Path, changes: list[list[tuple[str, tuple[Any, ...]]]]
) -> None:
    with copy_of(base) as folder:
        db = folder / "k.db"
        for change in changes:
            for stmt, given_params in change:
                params = given_params
                if stmt.startswith("UPDATE hashes SET data = ? "):  # one bit of the blob
                    blob = bytes(sql(db, "SELECT data FROM hashes WHERE chunk = 0")[0][0])
                    params = (_flip(blob, params[0]),)
                with contextlib.suppress(sqlite3.Error):  # a unique key refused: nothing changed
                    sql(db, stmt, params)
        same_reports(folder)


# --- many batches ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of several batches of entries, checkpointed between batches and in them, with
    references, and a payload that entries in two batches commit to."""
    folder = tmp_path_factory.mktemp("many")
    chunk = verify_module._CHUNK
    with Ledger.open(folder / "k.db", key_path=folder / "k.key") as led:
        led.init_key("example.com/many")
        first = fill(led, 5000)
        led.checkpoint()
        led.append([text_record(f"c {i}", "human", parents=[first[i].id]) for i in range(50)])
        fill(led, chunk - 5050, start=10_000)
        led.checkpoint()
        fill(led, chunk + 4999, start=100_000)
        led.append([text_record("record 3", "human", author="another")])  # record 3's payload
        led.checkpoint()
    return folder


@pytest.mark.slow
def test_many_batches_report_alike(many: Path, forge_entry: Forge) -> None:
    """A forged entry in one batch, a dropped reference and a bad tree hash in others, a
    missing payload."""
    with copy_of(many) as folder:
        db = folder / "k.db"
        idx = verify_module._CHUNK + 6  # a human record
        data = bytes(sql(db, "SELECT entry FROM entries WHERE idx = ?", (idx,))[0][0])
        forge_entry(db, idx, data.replace(b'"human"', b'"expert"'))
        sql(db, "DELETE FROM refs WHERE source = 5020")
        sql(db, "DELETE FROM payloads WHERE rowid = ?", (2 * verify_module._CHUNK + 3,))
        chunk = bytes(sql(db, "SELECT data FROM hashes WHERE chunk = 200")[0][0])
        sql(db, "UPDATE hashes SET data = ? WHERE chunk = 200", (bytes(32) + chunk[32:],))
        here = same_reports(folder)
        assert isinstance(here, Report) and len(here.problems) >= 4, here


@pytest.mark.slow
def test_a_payload_nobody_commits_to_is_found_among_shared_ones(many: Path) -> None:
    """Counting the payloads found committed to must count a shared one once."""
    with copy_of(many) as folder:
        assert isinstance(same_reports(folder), Report)
        sql(folder / "k.db", "INSERT INTO payloads(key, digest, data) VALUES (7, ?, x'00')",
            (b"\x07" * 32,))  # fmt: skip
        here = same_reports(folder)
        assert isinstance(here, Report) and here.first is not None
        assert (here.first.where, here.first.at) == ("payload", "07" * 32)


def test_a_payload_digest_that_is_not_hex_is_reported_not_raised(
    base: Path, forge_entry: Forge
) -> None:
    with copy_of(base) as folder:
        db = folder / "k.db"
        data = bytes(sql(db, "SELECT entry FROM entries WHERE idx = 0")[0][0])
        digest = orjson.loads(data)["payload"]["sha256"]
        forge_entry(db, 0, data.replace(digest.encode(), b"zz"))
        got = same_reports(folder)
    assert isinstance(got, Report) and got.first is not None, got  # it used to raise
    assert (got.first.where, got.first.at) == ("entry", "0")
    assert "not 64 lower-case hex digits" in got.first.message


def test_a_postgres_ledger_reports_alike(postgres_url: str, tmp_path: Path) -> None:
    build(postgres_url, tmp_path / "k.key")
    with Ledger.open(postgres_url, key_path=tmp_path / "k.key") as led:
        key, _ = led.trusted_verifier()
        expected = verify_reference(led.store, key)
        assert expected.ok, expected
        assert verify(led.store, key) == expected
