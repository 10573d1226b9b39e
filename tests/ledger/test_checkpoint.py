"""Tests for keel.ledger.checkpoint: c2sp.org/tlog-checkpoint, against tessera's test log."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keel.errors import InputError, VerificationError
from keel.ledger.checkpoint import MAX_TREE_SIZE, Checkpoint, open_checkpoint, sign_checkpoint
from keel.ledger.merkle import Hash, leaf_hash, root_of
from keel.ledger.note import (
    generate_key,
    is_valid_name,
    open_note,
    parse_signer,
    parse_verifier,
    sign_note,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
LOG_DIR = VECTORS / "tlog-tiles" / "log"
ORIGIN = "example.com/log/testdata"


def _tessera() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "signed-note" / "vectors.json").read_text())
    return dict(data["tessera_test_log"])


TESSERA = _tessera()
SIGNER = parse_signer(TESSERA["private_key"])
VERIFIER = parse_verifier(TESSERA["verifier_key"])
ENTRIES: list[str] = TESSERA["entries"]
CHECKPOINT_FILES = [(f"checkpoint.{n}", n) for n in range(16)] + [("checkpoint", len(ENTRIES))]
ROOT = Hash(bytes(range(32)))


# --- tessera's real log ------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "size"), CHECKPOINT_FILES)
def test_tessera_checkpoint_opens(filename: str, size: int) -> None:
    signed = (LOG_DIR / filename).read_bytes()
    cp = open_checkpoint(signed, VERIFIER)
    assert cp.origin == ORIGIN
    assert cp.size == size
    assert cp.extensions == ()
    # The root is the RFC 6962 root of the first `size` entries.
    assert cp.root == root_of([leaf_hash(e.encode()) for e in ENTRIES[:size]])
    assert open_note(signed, [VERIFIER]).text == cp.body()


@pytest.mark.parametrize(("filename", "size"), CHECKPOINT_FILES)
def test_tessera_checkpoint_resign_is_byte_for_byte(filename: str, size: int) -> None:
    # Ed25519 is deterministic, so re-signing the body with the log key gives the file back.
    signed = (LOG_DIR / filename).read_bytes()
    cp = open_checkpoint(signed, VERIFIER)
    assert sign_checkpoint(cp, SIGNER) == signed
    assert sign_note(cp.body(), SIGNER) == signed


def test_tessera_checkpoint_wrong_key_refused() -> None:
    signed = (LOG_DIR / "checkpoint").read_bytes()
    _, other = generate_key(ORIGIN)
    with pytest.raises(VerificationError):
        open_checkpoint(signed, parse_verifier(other))


# --- body and parse ----------------------------------------------------------------------------


def test_body_format() -> None:
    cp = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    b64 = base64.b64encode(ROOT).decode()
    assert cp.body() == f"example.com/behind-the-sofa\n20852163\n{b64}\n"
    ext = Checkpoint("o", 0, ROOT, ("ext one", "ext two"))
    assert ext.body() == f"o\n0\n{b64}\next one\next two\n"
    assert Checkpoint.parse(ext.body()) == ext


def test_spec_example_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.body() == text


B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"o\n1\n{B64}", "newline"),
        ("o\n1\n", "line"),
        ("o\n", "line"),
        ("", "newline"),
        (f"\n1\n{B64}\n", "empty"),
        (f"o\n\n{B64}\n", "decimal"),
        (f"o\n01\n{B64}\n", "decimal"),
        (f"o\n00\n{B64}\n", "decimal"),
        (f"o\n+1\n{B64}\n", "decimal"),
        (f"o\n-1\n{B64}\n", "decimal"),
        (f"o\n 1\n{B64}\n", "decimal"),
        (f"o\n1 \n{B64}\n", "decimal"),
        (f"o\n1_0\n{B64}\n", "decimal"),
        (f"o\n\u0661\n{B64}\n", "decimal"),
        (f"o\n{MAX_TREE_SIZE + 1}\n{B64}\n", "2\\^63"),
        ("o\n1\n\n", "root"),
        ("o\n1\nAAAA\n", "root"),
        (f"o\n1\n{base64.b64encode(bytes(33)).decode()}\n", "root"),
        (f"o\n1\n{B64[:-1]}\n", "root"),
        (f"o\n1\n{B64[:-2]}B=\n", "root"),  # non-canonical padding bits
        (f"o\n1\n{B64} \n", "root"),
        (f"o\n1\n{B64}\n\n", "empty"),
        (f"o\n1\n{B64}\next\n\n", "empty"),
        (f"o\n1\n{B64}\n\next\n", "empty"),
        (f"o\r\n1\n{B64}\n", "control"),
        (f"o\n1\n{B64}\nex\tt\n", "control"),
    ],
)
def test_parse_strict(text: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        Checkpoint.parse(text)


def test_parse_limits() -> None:
    cp = Checkpoint.parse(f"o\n{MAX_TREE_SIZE}\n{B64}\n")
    assert cp.size == MAX_TREE_SIZE
    assert Checkpoint.parse(f"o\n0\n{B64}\n").size == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"origin": "", "size": 1, "root": ROOT},
        {"origin": "a\nb", "size": 1, "root": ROOT},
        {"origin": "o", "size": -1, "root": ROOT},
        {"origin": "o", "size": MAX_TREE_SIZE + 1, "root": ROOT},
        {"origin": "o", "size": True, "root": ROOT},
        {"origin": "o", "size": 1, "root": bytes(31)},
        {"origin": "o", "size": 1, "root": ROOT, "extensions": ("",)},
        {"origin": "o", "size": 1, "root": ROOT, "extensions": ("a\nb",)},
    ],
)
def test_invalid_checkpoints_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InputError):
        Checkpoint(**kwargs)


# --- signing and opening -----------------------------------------------------------------------


def test_sign_requires_origin_key() -> None:
    skey, _ = generate_key("other.example")
    with pytest.raises(InputError, match="origin"):
        sign_checkpoint(Checkpoint("log.example", 1, ROOT), parse_signer(skey))


def test_open_refuses_origin_mismatch() -> None:
    # A validly signed checkpoint whose origin is not the key's name.
    skey, vkey = generate_key("log.example")
    body = Checkpoint("other.example", 1, ROOT).body()
    signed = sign_note(body, parse_signer(skey))
    with pytest.raises(VerificationError, match="origin"):
        open_checkpoint(signed, parse_verifier(vkey))


def test_open_refuses_signed_non_checkpoint() -> None:
    skey, vkey = generate_key("log.example")
    signed = sign_note("log.example\nnot a size\n", parse_signer(skey))
    with pytest.raises(InputError):
        open_checkpoint(signed, parse_verifier(vkey))


def test_open_ignores_witness_cosignatures() -> None:
    skey, vkey = generate_key("log.example")
    wkey, _ = generate_key("witness.example")
    cp = Checkpoint("log.example", 7, ROOT, ("extension",))
    signed = sign_note(cp.body(), parse_signer(skey), parse_signer(wkey))
    assert open_checkpoint(signed, parse_verifier(vkey)) == cp


def test_open_refuses_tampering() -> None:
    skey, vkey = generate_key("log.example")
    signed = sign_checkpoint(Checkpoint("log.example", 7, ROOT), parse_signer(skey))
    tampered = signed.replace(b"\n7\n", b"\n8\n")
    with pytest.raises(VerificationError):
        open_checkpoint(tampered, parse_verifier(vkey))


# --- properties --------------------------------------------------------------------------------

_line_chars = st.characters(codec="utf-8", min_codepoint=0x20)
lines = st.text(_line_chars, min_size=1, max_size=40)
checkpoints = st.builds(
    Checkpoint,
    origin=lines,
    size=st.integers(min_value=0, max_value=MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32).map(Hash),
    extensions=st.lists(lines, max_size=4).map(tuple),
)


@settings(max_examples=300)
@given(cp=checkpoints)
def test_body_parse_round_trip(cp: Checkpoint) -> None:
    text = cp.body()
    assert Checkpoint.parse(text) == cp
    assert Checkpoint.parse(text).body() == text


@settings(max_examples=50, deadline=None)
@given(cp=checkpoints, origin=lines.filter(is_valid_name))
def test_sign_open_round_trip(cp: Checkpoint, origin: str) -> None:
    cp = Checkpoint(origin, cp.size, cp.root, cp.extensions)
    skey, vkey = generate_key(origin)
    assert open_checkpoint(sign_checkpoint(cp, parse_signer(skey)), parse_verifier(vkey)) == cp
