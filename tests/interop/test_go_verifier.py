"""keel's notes, checkpoints, receipts and consistency proofs, checked by Go's golang.org/x/mod.

Every check here is made by tests/interop/verifier.go (note.Open, tlog.ParseTree,
tlog.CheckRecord, tlog.CheckTree, note.Sign, note.GenerateKey), never by keel's own verifier, so
a standard transparency-log client is known to accept what keel writes, and to reject tampering.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from keel.ledger import Ledger, ProofBundle
from keel.ledger.checkpoint import Checkpoint, sign_checkpoint
from keel.ledger.merkle import EMPTY_ROOT, Hash, consistency_proof
from keel.ledger.note import generate_key, open_note, parse_signer, parse_verifier, sign_note
from keel.records import Producer, Run, json_record, mix, text_record, verdict

if TYPE_CHECKING:
    from conftest import GoVerifier

pytestmark = pytest.mark.interop

ORIGIN = "example.com/interop"
FILLED_SIZE = 37
INVALID_PROOF = "invalid transparency proof"  # tlog's errProofFailed


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def go_tree(go: GoVerifier, vkey: str, note: bytes, tmp: Path) -> tuple[int, str]:
    """Go's (tree size, base64 tree hash) of a signed checkpoint (note.Open + tlog.ParseTree)."""
    out = go.run("open-checkpoint", vkey, write(tmp / "cp.note", note)).stdout.split()
    return int(out[0]), out[1]


def go_tree_hash(go: GoVerifier, entries: list[bytes], tmp: Path) -> tuple[int, str]:
    """Go's tree hash of a log holding exactly `entries`, computed from scratch by tlog."""
    text = "".join(b64(e) + "\n" for e in entries)
    out = go.run("tree-hash", write(tmp / "entries.b64", text)).stdout.split()
    return int(out[0]), out[1]


@dataclass
class Filled:
    """A ledger of FILLED_SIZE entries of every kind, its verifier key and its key file."""

    led: Ledger
    vkey: str
    key_path: Path


def _fill(led: Ledger) -> None:
    """37 entries: human, expert and synthetic text and JSON records with parents, verdicts (one
    with a rationale and a score), a mix, a run and a redaction, appended in several batches."""
    first = led.append(
        [
            text_record(f"human sentence {i}", "human", author=f"a{i % 3}", tags={"i": i})
            for i in range(8)
        ]
        + [text_record("naïve café — ünïcode ✓ 🎉", "expert", author="e")]
        + [text_record(f"expert note {i}\nsecond line", "expert") for i in range(3)]
    )
    led.checkpoint()
    roots = [a.id for a in first]
    second = led.append(
        json_record(
            {"q": f"question {i}", "a": [i, i / 3, None, True]},
            "synthetic",
            producer=Producer("model-x", "1", {"temperature": 0.7}),
            parents=[roots[i], roots[(i + 1) % len(roots)]],
            generation=1,
        )
        for i in range(8)
    )
    led.append(
        [
            verdict(roots[0], "judge-1", "ai", label="accept"),
            verdict(second[0].id, "expert-2", "expert", score=0.25, rationale="too repetitive"),
        ]
    )
    led.checkpoint()
    third = led.append(
        text_record(
            f"gen 2 sample {i}",
            "synthetic",
            producer=Producer("model-y"),
            parents=[second[i % len(second)].id],
            generation=2,
        )
        for i in range(12)
    )
    m, members = mix([a.id for a in first + second + third], {"alpha": 0.2, "seed": 7})
    mixed = led.append([(m, members)])
    led.append([(Run(mix=mixed[0].id, model="model-z", config={"epochs": 3}), None)])
    led.redact(first[3].id, "contributor asked for erasure")
    assert led.size == FILLED_SIZE


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    tmp = tmp_path_factory.mktemp("filled")
    with Ledger.open(tmp / "k.db", key_path=tmp / "k.key") as led:
        vkey = led.init_key(ORIGIN)
        _fill(led)
        yield Filled(led, vkey, tmp / "k.key")


def test_receipts_of_a_ledger_migrated_to_postgresql_pass_go(
    go_verifier: GoVerifier, tmp_path: Path, postgres_url: str
):
    """`keel ledger migrate`: the PostgreSQL copy proves every entry, and Go's tlog accepts each
    receipt and every checkpoint copied from SQLite under the same key."""
    from keel.ledger.migrate import migrate

    with Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key") as source:
        vkey = source.init_key(ORIGIN)
        _fill(source)
        with Ledger.open(postgres_url, key_path=tmp_path / "k.key") as target:
            migrate(source, target)
            copied = target.store.checkpoints()
            assert len(copied) >= 2 and copied == source.store.checkpoints()
            for index in range(FILLED_SIZE):
                loc = target.at(index)
                receipt = write(tmp_path / f"{index}.tlog-proof", target.prove(loc.id).format())
                entry = write(tmp_path / f"{index}.entry", loc.raw)
                assert go_verifier.run("check-record", vkey, receipt, entry).stdout == "ok\n"
            # the copied checkpoints, and the one the PostgreSQL copy signed for its receipts
            for size, note in target.store.checkpoints():
                assert go_tree(go_verifier, vkey, note, tmp_path) == (size, b64(target.root(size)))


# -- 1. checkpoints ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 16, 37])
def test_checkpoint_opens_and_parses_in_go(go_verifier: GoVerifier, tmp_path: Path, size: int):
    with Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key") as led:
        vkey = led.init_key(ORIGIN)
        led.append(text_record(f"entry {i}", "human") for i in range(size))
        note = led.checkpoint()
        cp = led.latest_checkpoint()
        assert cp is not None
        entries = [led.at(i).raw for i in range(size)]

    text = go_verifier.run("open-note", vkey, write(tmp_path / "cp.note", note)).stdout
    assert text == f"{ORIGIN}\n{size}\n{b64(cp.root)}\n"
    assert go_tree(go_verifier, vkey, note, tmp_path) == (size, b64(cp.root))
    # tlog recomputes the root from the raw entries with its own hashing: same tree.
    assert go_tree_hash(go_verifier, entries, tmp_path) == (size, b64(cp.root))


def test_empty_checkpoint_opens_in_go(go_verifier: GoVerifier, tmp_path: Path):
    with Ledger.open(tmp_path / "k.db", key_path=tmp_path / "k.key") as led:
        vkey = led.init_key(ORIGIN)
        note = led.checkpoint()
    # keel's empty root is RFC 9162's MTH({}) = SHA-256(""); Go's tlog.TreeHash(0) is defined as
    # all zeros instead, so only the parse is compared here, not a recomputation.
    assert go_tree(go_verifier, vkey, note, tmp_path) == (0, b64(EMPTY_ROOT))


def test_filled_checkpoint_matches_go_tree_hash(
    go_verifier: GoVerifier, filled: Filled, tmp_path: Path
):
    note = filled.led.checkpoint()
    entries = [filled.led.at(i).raw for i in range(FILLED_SIZE)]
    expected = (FILLED_SIZE, b64(filled.led.root()))
    assert go_tree(go_verifier, filled.vkey, note, tmp_path) == expected
    assert go_tree_hash(go_verifier, entries, tmp_path) == expected


def test_go_rejects_tampered_checkpoint(go_verifier: GoVerifier, filled: Filled, tmp_path: Path):
    note = filled.led.checkpoint()
    size_line = f"\n{FILLED_SIZE}\n".encode()
    forged = note.replace(size_line, f"\n{FILLED_SIZE + 1}\n".encode(), 1)
    assert forged != note
    err = go_verifier.rejects("open-note", filled.vkey, write(tmp_path / "f.note", forged))
    assert "invalid signature" in err
    _, other_vkey = generate_key(ORIGIN)  # same name, another key
    err = go_verifier.rejects("open-note", other_vkey, write(tmp_path / "cp.note", note))
    assert "no verifiable signatures" in err


def test_go_checks_origin_against_key_name(go_verifier: GoVerifier, tmp_path: Path):
    skey, vkey = generate_key("example.com/other")
    signer = parse_signer(skey)
    # A note signed by the right key whose first line is another log's origin is no checkpoint
    # of this log (keel's sign_checkpoint refuses to make one, so sign the text directly).
    note = sign_note(f"{ORIGIN}\n1\n{b64(EMPTY_ROOT)}\n", signer)
    err = go_verifier.rejects("open-checkpoint", vkey, write(tmp_path / "cp.note", note))
    assert "is not the key name" in err


# -- 2. receipts ----------------------------------------------------------------------------------


def test_every_receipt_passes_go_check_record(
    go_verifier: GoVerifier, filled: Filled, tmp_path: Path
):
    kinds = set()
    for index in range(FILLED_SIZE):
        loc = filled.led.at(index)
        kinds.add(loc.entry.kind)
        bundle = filled.led.prove(loc.id)
        assert bundle.index == index
        receipt = write(tmp_path / f"{index}.tlog-proof", bundle.format())
        entry = write(tmp_path / f"{index}.entry", loc.raw)
        assert go_verifier.run("check-record", filled.vkey, receipt, entry).stdout == "ok\n"
    assert kinds == {"record", "verdict", "mix", "run", "redaction"}


def test_go_rejects_receipt_for_wrong_entry(
    go_verifier: GoVerifier, filled: Filled, tmp_path: Path
):
    for index in (0, 17, FILLED_SIZE - 1):
        bundle = filled.led.prove(filled.led.at(index).id)
        receipt = write(tmp_path / "r.tlog-proof", bundle.format())
        other = filled.led.at((index + 1) % FILLED_SIZE).raw
        err = go_verifier.rejects(
            "check-record", filled.vkey, receipt, write(tmp_path / "e", other)
        )
        assert INVALID_PROOF in err
        edited = filled.led.at(index).raw.replace(b'"v":1', b'"v":2')
        err = go_verifier.rejects(
            "check-record", filled.vkey, receipt, write(tmp_path / "e", edited)
        )
        assert INVALID_PROOF in err


@pytest.mark.parametrize("index", [0, 5, 20, 36])
def test_go_rejects_flipped_proof_byte(
    go_verifier: GoVerifier, filled: Filled, tmp_path: Path, index: int
):
    loc = filled.led.at(index)
    bundle = filled.led.prove(loc.id)
    entry = write(tmp_path / "e", loc.raw)
    assert bundle.proof, "a tree of 37 entries needs proof hashes for every leaf"
    for k, h in enumerate(bundle.proof):
        for byte in (0, 31):
            flipped = bytearray(h)
            flipped[byte] ^= 0x01
            proof = (*bundle.proof[:k], Hash(bytes(flipped)), *bundle.proof[k + 1 :])
            bad = ProofBundle(bundle.index, proof, bundle.checkpoint).format()
            receipt = write(tmp_path / "bad.tlog-proof", bad)
            assert INVALID_PROOF in go_verifier.rejects("check-record", filled.vkey, receipt, entry)
    # Dropping a hash, or claiming another index, fails too.
    for bad in (
        ProofBundle(bundle.index, bundle.proof[:-1], bundle.checkpoint).format(),
        ProofBundle(index ^ 1, bundle.proof, bundle.checkpoint).format(),
    ):
        receipt = write(tmp_path / "bad.tlog-proof", bad)
        go_verifier.rejects("check-record", filled.vkey, receipt, entry)


def test_go_rejects_receipt_with_forged_checkpoint(
    go_verifier: GoVerifier, filled: Filled, tmp_path: Path
):
    loc = filled.led.at(9)
    bundle = filled.led.prove(loc.id)
    entry = write(tmp_path / "e", loc.raw)
    # Re-signed by another key of the same name: the log's key does not open it.
    impostor = parse_signer(generate_key(ORIGIN)[0])
    cp = filled.led.latest_checkpoint()
    assert cp is not None
    forged = sign_checkpoint(cp, impostor)
    receipt = write(tmp_path / "r", ProofBundle(bundle.index, bundle.proof, forged).format())
    assert "note.Open" in go_verifier.rejects("check-record", filled.vkey, receipt, entry)


def test_receipt_with_extra_line_passes_go(go_verifier: GoVerifier, filled: Filled, tmp_path: Path):
    loc = filled.led.at(12)
    bundle = filled.led.prove(loc.id)
    with_extra = ProofBundle(bundle.index, bundle.proof, bundle.checkpoint, b"opaque \x00 data")
    receipt = write(tmp_path / "r.tlog-proof", with_extra.format())
    entry = write(tmp_path / "e", loc.raw)
    assert go_verifier.run("check-record", filled.vkey, receipt, entry).stdout == "ok\n"


# -- 3. consistency ------------------------------------------------------------------------------

GROWN_SIZE = 24
FORK_AT = 10


def _grow(tmp: Path, name: str, texts: list[str], key_path: Path | None = None) -> dict[int, bytes]:
    """Append `texts` one at a time, signing a checkpoint after each; the notes by tree size.
    With `key_path`, checkpoints are signed with that (another ledger's) key file instead."""
    notes: dict[int, bytes] = {}
    with Ledger.open(tmp / f"{name}.db", key_path=tmp / f"{name}.key") as led:
        led.init_key(ORIGIN)
        signer = parse_signer(key_path.read_text()) if key_path is not None else None
        for text in texts:
            led.append([text_record(text, "human")])
            if signer is None:
                notes[led.size] = led.checkpoint()
            else:
                notes[led.size] = sign_checkpoint(Checkpoint(ORIGIN, led.size, led.root()), signer)
    return notes


@dataclass
class Grown:
    tmp: Path
    vkey: str
    notes: dict[int, bytes]
    fork: dict[int, bytes]


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Grown:
    """Checkpoints at every size 1..GROWN_SIZE of one ledger, and of a fork of it that shares
    its first FORK_AT entries, then differs, signed with the same key (a split view)."""
    tmp = tmp_path_factory.mktemp("grown")
    texts = [f"line {i}" for i in range(GROWN_SIZE)]
    notes = _grow(tmp, "a", texts)
    with Ledger.open(tmp / "a.db", key_path=tmp / "a.key") as led:
        vkey = led.verifier().vkey
    forked = texts[:FORK_AT] + [f"forked line {i}" for i in range(FORK_AT, GROWN_SIZE)]
    fork = _grow(tmp, "b", forked, key_path=tmp / "a.key")
    return Grown(tmp, vkey, notes, fork)


def _proof_file(tmp: Path, db: str, m: int, n: int) -> Path:
    with Ledger.open(tmp / f"{db}.db", create=False) as led:
        proof = consistency_proof(m, n, led.read)
    return write(tmp / f"{db}-{m}-{n}.proof", "".join(b64(h) + "\n" for h in proof))


def test_consistency_proofs_pass_go_check_tree(go_verifier: GoVerifier, grown: Grown):
    tmp = grown.tmp
    files = {n: write(tmp / f"a-{n}.note", note) for n, note in grown.notes.items()}
    with Ledger.open(tmp / "a.db", create=False) as led:
        for n in range(1, GROWN_SIZE + 1):
            for m in range(1, n + 1):
                proof = consistency_proof(m, n, led.read)
                pf = write(tmp / "p", "".join(b64(h) + "\n" for h in proof))
                out = go_verifier.run("check-tree", grown.vkey, files[m], files[n], pf)
                assert out.stdout == "ok\n", (m, n)


def test_filled_ledger_consistency_passes_go(
    go_verifier: GoVerifier, filled: Filled, tmp_path: Path
):
    new_note = filled.led.checkpoint()
    signer = parse_signer(filled.key_path.read_text())
    for m in (1, 12, 22, 36):
        old_note = sign_checkpoint(Checkpoint(ORIGIN, m, filled.led.root(m)), signer)
        proof = consistency_proof(m, FILLED_SIZE, filled.led.read)
        pf = write(tmp_path / "p", "".join(b64(h) + "\n" for h in proof))
        out = go_verifier.run(
            "check-tree",
            filled.vkey,
            write(tmp_path / "old.note", old_note),
            write(tmp_path / "new.note", new_note),
            pf,
        )
        assert out.stdout == "ok\n", m


def test_go_rejects_consistency_with_a_fork(go_verifier: GoVerifier, grown: Grown):
    tmp = grown.tmp
    n = GROWN_SIZE
    new_fork = write(tmp / "fork-new.note", grown.fork[n])
    for m in (FORK_AT + 1, FORK_AT + 5, n - 1, n):
        old = write(tmp / "old.note", grown.notes[m])
        for db in ("a", "b"):  # neither log's proof links them
            err = go_verifier.rejects(
                "check-tree", grown.vkey, old, new_fork, _proof_file(tmp, db, m, n)
            )
            assert INVALID_PROOF in err, (m, db)
    # Up to the fork the two logs agree, and Go says so: it checks the real prefix relation.
    for m in (1, FORK_AT // 2, FORK_AT):
        old = write(tmp / "old.note", grown.notes[m])
        out = go_verifier.run("check-tree", grown.vkey, old, new_fork, _proof_file(tmp, "b", m, n))
        assert out.stdout == "ok\n"


def test_go_rejects_tampered_consistency_proof(go_verifier: GoVerifier, grown: Grown):
    tmp = grown.tmp
    m, n = 7, GROWN_SIZE
    with Ledger.open(tmp / "a.db", create=False) as led:
        proof = consistency_proof(m, n, led.read)
    old = write(tmp / "old.note", grown.notes[m])
    new = write(tmp / "new.note", grown.notes[n])
    for k in range(len(proof)):
        flipped = bytearray(proof[k])
        flipped[k % 32] ^= 0x80
        bad = [*proof[:k], bytes(flipped), *proof[k + 1 :]]
        pf = write(tmp / "bad.proof", "".join(b64(h) + "\n" for h in bad))
        assert INVALID_PROOF in go_verifier.rejects("check-tree", grown.vkey, old, new, pf)
    pf = write(tmp / "short.proof", "".join(b64(h) + "\n" for h in proof[:-1]))
    assert INVALID_PROOF in go_verifier.rejects("check-tree", grown.vkey, old, new, pf)
    # Old and new swapped: a bigger tree is no prefix of a smaller one.
    pf = write(tmp / "ok.proof", "".join(b64(h) + "\n" for h in proof))
    go_verifier.rejects("check-tree", grown.vkey, new, old, pf)


# -- 4. keys -------------------------------------------------------------------------------------

TEXTS = [
    "hello\n",
    f"{ORIGIN}\n5\n{b64(EMPTY_ROOT)}\nextension line\n",
    "naïve café — ünïcode ✓ 🎉\nsecond line\n",
]


def test_go_generated_key_works_in_keel(go_verifier: GoVerifier, tmp_path: Path):
    skey, vkey = go_verifier.run("genkey", "example.com/go-key").stdout.splitlines()
    signer = parse_signer(skey)
    assert signer.verifier().vkey == vkey
    assert parse_verifier(vkey).vkey == vkey
    for i, text in enumerate(TEXTS):
        note = sign_note(text, signer)
        opened = go_verifier.run("open-note", vkey, write(tmp_path / f"{i}.note", note)).stdout
        assert opened == text


def test_go_signed_note_opens_in_keel(go_verifier: GoVerifier, tmp_path: Path):
    skey, vkey = go_verifier.run("genkey", "example.com/go-signer").stdout.splitlines()
    for i, text in enumerate(TEXTS):
        signed = go_verifier.run("sign", skey, write(tmp_path / f"{i}.txt", text)).stdout
        msg = signed.encode("utf-8")
        note = open_note(msg, [parse_verifier(vkey)])
        assert note.text == text
        assert [s.name for s in note.signatures] == ["example.com/go-signer"]
        # Ed25519 is deterministic: keel's signature is Go's, byte for byte.
        assert sign_note(text, parse_signer(skey)) == msg


def test_keel_generated_key_works_in_go(go_verifier: GoVerifier, tmp_path: Path):
    skey, vkey = generate_key("example.com/keel-key")
    for i, text in enumerate(TEXTS):
        signed = go_verifier.run("sign", skey, write(tmp_path / f"{i}.txt", text)).stdout
        assert open_note(signed.encode("utf-8"), [parse_verifier(vkey)]).text == text
        note = write(tmp_path / f"{i}.note", sign_note(text, parse_signer(skey)))
        assert go_verifier.run("open-note", vkey, note).stdout == text


def test_ledger_key_file_signs_identical_checkpoints_in_go(
    go_verifier: GoVerifier, filled: Filled, tmp_path: Path
):
    note = filled.led.checkpoint()
    body = note[: note.index(b"\n\n") + 1]
    skey = filled.key_path.read_text().strip()
    go_signed = go_verifier.run("sign", skey, write(tmp_path / "body.txt", body)).stdout
    assert go_signed.encode("utf-8") == note


# -- 5. the command line -------------------------------------------------------------------------


def keel_cli(db: Path, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "keel", "--db", str(db), *map(str, args)],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=db.parent,
    )
    assert proc.returncode == 0, (args, proc.stderr.decode(errors="replace"))
    return proc


def test_cli_receipts_pass_go(go_verifier: GoVerifier, tmp_path: Path):
    db = tmp_path / "cli.db"
    init = keel_cli(db, "ledger", "key", "init", "--origin", "example.com/x", "--json")
    vkey = json.loads(init.stdout)["verifier_key"]
    rows = [{"text": "first row"}, {"text": "second — ünïcode"}, {"text": "third\nrow"}]
    data = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    ingested = json.loads(keel_cli(db, "ingest", data, "--origin", "human", "--json").stdout)
    ids = ingested["appended"]
    assert len(ids) == len(rows)
    for i, ref in enumerate(ids):
        receipt = tmp_path / f"{i}.tlog-proof"
        keel_cli(db, "ledger", "prove", ref, "-o", receipt)
        entry = write(tmp_path / f"{i}.bin", keel_cli(db, "ledger", "entry", ref, "--raw").stdout)
        assert go_verifier.run("check-record", vkey, receipt, entry).stdout == "ok\n"
    checkpoint = tmp_path / "cp.note"
    keel_cli(db, "ledger", "checkpoint", "-o", checkpoint)
    size, _ = go_tree(go_verifier, vkey, checkpoint.read_bytes(), tmp_path)
    assert size == len(rows)
