"""Tests for keel.ledger.note: c2sp.org/signed-note with Go sumdb/note key strings."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keel.errors import InputError, VerificationError
from keel.ledger.note import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    Signature,
    Signer,
    Verifier,
    generate_key,
    is_valid_name,
    open_note,
    parse_signer,
    parse_verifier,
    sign_note,
    verifier_key,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
EM = "\u2014"


def _vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "signed-note" / "vectors.json").read_text())
    return data


SIGN = _vectors()["ed25519_sign"]
BAD_VKEYS = [item["key"] for item in _vectors()["bad_verifier_keys"]]
TESSERA = _vectors()["tessera_test_log"]


def _pair(name: str) -> tuple[Signer, Verifier]:
    skey, vkey = generate_key(name)
    return parse_signer(skey), parse_verifier(vkey)


# --- Go vectors -------------------------------------------------------------------------------


def test_vector_sign_is_byte_for_byte() -> None:
    signer = parse_signer(SIGN["private_key"])
    assert sign_note(SIGN["text"], signer) == SIGN["signed_note"].encode("utf-8")


def test_vector_verifier_key() -> None:
    assert verifier_key(SIGN["private_key"]) == SIGN["verifier_key"]
    verifier = parse_verifier(SIGN["verifier_key"])
    assert verifier.vkey == SIGN["verifier_key"]
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id == 0xC74F20A3
    assert parse_signer(SIGN["private_key"]).verifier() == verifier


def test_vector_open() -> None:
    verifier = parse_verifier(SIGN["verifier_key"])
    note = open_note(SIGN["signed_note"].encode("utf-8"), [verifier])
    assert note.text == SIGN["text"]
    assert len(note.signatures) == 1
    sig = note.signatures[0]
    assert (sig.name, sig.key_id, len(sig.sig)) == ("PeterNeumann", 0xC74F20A3, 64)
    assert note.unverified == ()


@pytest.mark.parametrize("vkey", BAD_VKEYS)
def test_vector_bad_verifier_keys(vkey: str) -> None:
    with pytest.raises(InputError):
        parse_verifier(vkey)


def test_bad_verifier_key_messages() -> None:
    with pytest.raises(InputError, match="32 bytes"):
        parse_verifier(BAD_VKEYS[0])
    with pytest.raises(InputError, match="algorithm"):
        parse_verifier(BAD_VKEYS[1])
    with pytest.raises(InputError, match="does not match"):
        parse_verifier(BAD_VKEYS[2])


def test_tessera_keys_parse() -> None:
    signer = parse_signer(TESSERA["private_key"])
    verifier = parse_verifier(TESSERA["verifier_key"])
    assert signer.name == verifier.name == "example.com/log/testdata"
    assert signer.key_id == verifier.key_id == 0x33D7B496
    assert signer.verifier() == verifier
    assert verifier_key(TESSERA["private_key"]) == TESSERA["verifier_key"]


# --- key strings -------------------------------------------------------------------------------


def test_generate_key_round_trip() -> None:
    skey, vkey = generate_key("example.com/log")
    assert skey.startswith("PRIVATE+KEY+example.com/log+")
    signer, verifier = parse_signer(skey), parse_verifier(vkey)
    assert verifier_key(skey) == vkey
    assert verifier.vkey == vkey
    assert signer.verifier() == verifier
    sig = signer.sign(b"hello")
    assert len(sig) == 64
    assert verifier.verify(b"hello", sig)
    assert not verifier.verify(b"hellO", sig)
    assert not verifier.verify(b"hello", sig[:63])


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u2003b", "a\u3000b", "a\x01b"]
)
def test_bad_names_refused(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(InputError):
        generate_key(name)


def test_unicode_names_allowed() -> None:
    assert is_valid_name("日本語.example/λ")
    signer, verifier = _pair("日本語.example/λ")
    note = open_note(sign_note("x\n", signer), [verifier])
    assert note.signatures[0].name == "日本語.example/λ"


@pytest.mark.parametrize(
    ("skey", "what"),
    [
        ("PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "PRIVATE"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3", "expected"),
        ("PRIVATE+KEY+PeterNeumann+C74F20A3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "hex"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "hex"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "match"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "algo"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKA==", "32"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF", "base64"),
        ("PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "name"),
    ],
)
def test_bad_signer_keys(skey: str, what: str) -> None:
    secret = "AYEKFALVFGyNhPJEMzD1QIDr"
    with pytest.raises(InputError, match=what) as info:
        parse_signer(skey)
    assert secret not in str(info.value)


def test_garbled_signer_key_does_not_echo_secret() -> None:
    # Name left out: the first piece of the secret would sit where the name goes.
    garbled = "PRIVATE+KEY+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    with pytest.raises(InputError) as info:
        parse_signer(garbled)
    assert "AYEKFALVFGyN" not in str(info.value)
    assert "Y7hfZx09" not in str(info.value)


def test_signer_repr_hides_seed() -> None:
    signer = parse_signer(SIGN["private_key"])
    seed = base64.b64decode(SIGN["private_key"].split("+", 4)[4])[1:]
    assert seed.hex() not in repr(signer)
    assert repr(seed) not in repr(signer)


def test_vkey_id_must_be_lowercase_hex() -> None:
    # Go's ParseUint also takes upper case; keel refuses it so that Verifier.vkey always gives
    # back the exact string it was parsed from.
    name, kid, key = SIGN["verifier_key"].split("+", 2)
    with pytest.raises(InputError, match="lowercase hex"):
        parse_verifier(f"{name}+{kid.upper()}+{key}")
    with pytest.raises(InputError, match="lowercase hex"):
        parse_verifier(f"{name}+0x{kid[2:]}+{key}")


def test_key_strings_may_have_surrounding_whitespace() -> None:
    assert parse_verifier(SIGN["verifier_key"] + "\n").vkey == SIGN["verifier_key"]
    assert parse_signer(" " + SIGN["private_key"] + "\n").key_id == 0xC74F20A3


def test_verifier_equality_and_hash() -> None:
    a = parse_verifier(SIGN["verifier_key"])
    b = parse_verifier(SIGN["verifier_key"])
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


# --- signing and opening -----------------------------------------------------------------------


def test_sign_requires_final_newline() -> None:
    signer, _ = _pair("a.example")
    with pytest.raises(InputError, match="newline"):
        sign_note("no newline", signer)


def test_sign_refuses_control_chars_and_no_signer() -> None:
    signer, _ = _pair("a.example")
    with pytest.raises(InputError, match="control"):
        sign_note("a\rb\n", signer)
    with pytest.raises(InputError, match="signer"):
        sign_note("text\n")


def test_sign_multiple_in_order_and_open_each() -> None:
    s1, v1 = _pair("one.example")
    s2, v2 = _pair("two.example")
    msg = sign_note("hello\n", s1, s2)
    text, _, sigs = msg.decode().partition("\n\n")
    assert text == "hello"
    lines = sigs.splitlines()
    assert [line.split(" ")[1] for line in lines] == ["one.example", "two.example"]
    assert open_note(msg, [v1]).signatures[0].name == "one.example"
    assert open_note(msg, [v2]).signatures[0].name == "two.example"
    both = open_note(msg, [v2, v1])
    assert [s.name for s in both.signatures] == ["one.example", "two.example"]


def test_text_with_blank_lines() -> None:
    signer, verifier = _pair("a.example")
    for text in ["\n", "a\n\nb\n", "a\n\n", "\n\n\n"]:
        assert open_note(sign_note(text, signer), [verifier]).text == text


def test_flipped_byte_in_text_refused() -> None:
    signer, verifier = _pair("a.example")
    msg = bytearray(sign_note("hello world\n", signer))
    msg[0] ^= 0x01
    with pytest.raises(VerificationError, match="invalid signature"):
        open_note(bytes(msg), [verifier])


def test_flipped_byte_in_signature_refused() -> None:
    signer, verifier = _pair("a.example")
    msg = sign_note("hello world\n", signer)
    line = msg.split(b"\n\n")[1].rstrip(b"\n")
    _, b64 = line.rsplit(b" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[10] ^= 0x80  # inside the Ed25519 signature, after the key id
    bad = msg.replace(b64, base64.b64encode(bytes(raw)))
    with pytest.raises(VerificationError, match="invalid signature"):
        open_note(bad, [verifier])


def test_every_single_byte_change_is_refused() -> None:
    signer, verifier = _pair("a.example")
    msg = sign_note("hello\n", signer)
    for i in range(len(msg)):
        for delta in (0x01, 0x20, 0x80):
            bad = bytearray(msg)
            bad[i] ^= delta
            with pytest.raises(VerificationError):
                open_note(bytes(bad), [verifier])


def test_same_name_other_key_is_unknown() -> None:
    _, verifier = _pair("a.example")
    other_signer, other_verifier = _pair("a.example")
    assert other_verifier.key_id != verifier.key_id
    msg = sign_note("hello\n", other_signer)
    with pytest.raises(VerificationError, match="no verifiable signatures"):
        open_note(msg, [verifier])


def test_same_name_and_key_id_but_wrong_key_is_invalid() -> None:
    # A forged line that claims a known (name, key id): must be verified, and fails.
    _, verifier = _pair("a.example")
    other_signer, _ = _pair("a.example")
    text = "hello\n"
    forged = Signature(verifier.name, verifier.key_id, other_signer.sign(text.encode()))
    msg = (text + "\n" + forged.line()).encode()
    with pytest.raises(VerificationError, match="invalid signature"):
        open_note(msg, [verifier])


def test_unknown_extra_signatures_ignored() -> None:
    signer, verifier = _pair("log.example")
    witness, _ = _pair("witness.example")
    msg = sign_note("hello\n", witness, signer)
    note = open_note(msg, [verifier])
    assert [s.name for s in note.signatures] == ["log.example"]
    assert [s.name for s in note.unverified] == ["witness.example"]
    # An unknown line with a non-Ed25519 signature length is still just ignored.
    odd = Signature("pq.example", 0x12345678, b"\x00" * 2420).line().encode()
    note = open_note(msg + odd + odd, [verifier])
    assert [s.name for s in note.unverified] == ["witness.example", "pq.example"]


def test_only_unknown_signatures_refused() -> None:
    witness, _ = _pair("witness.example")
    _, verifier = _pair("log.example")
    with pytest.raises(VerificationError, match="no verifiable"):
        open_note(sign_note("x\n", witness), [verifier])
    with pytest.raises(VerificationError, match="no verifiable"):
        open_note(sign_note("x\n", witness), [])


def test_invalid_known_signature_rejects_whole_note() -> None:
    s1, v1 = _pair("one.example")
    _, v2 = _pair("two.example")
    good = sign_note("hello\n", s1)
    forged = Signature(v2.name, v2.key_id, bytes(64)).line().encode()
    with pytest.raises(VerificationError, match=r"invalid signature for key two\.example\+"):
        open_note(good + forged, [v1, v2])
    # Unknown to this caller: ignored.
    assert open_note(good + forged, [v1]).signatures[0].name == "one.example"


def test_duplicate_signature_lines_go_rules() -> None:
    signer, verifier = _pair("a.example")
    msg = sign_note("hello\n", signer, signer)
    note = open_note(msg, [verifier])
    assert len(note.signatures) == 1
    # Go keeps the first signature by a key and does not check later ones.
    junk = Signature(verifier.name, verifier.key_id, bytes(64)).line().encode()
    assert len(open_note(msg + junk, [verifier]).signatures) == 1


def test_ambiguous_verifiers_refused() -> None:
    signer, verifier = _pair("a.example")
    msg = sign_note("hello\n", signer)
    # The same verifier twice is not ambiguous.
    assert len(open_note(msg, [verifier, verifier]).signatures) == 1
    clash = Verifier.__new__(Verifier)
    object.__setattr__(clash, "name", verifier.name)
    object.__setattr__(clash, "key_id", verifier.key_id)
    object.__setattr__(clash, "public_key", bytes(32))
    with pytest.raises(VerificationError, match="ambiguous"):
        open_note(msg, [verifier, clash])


def test_missing_final_newline_refused() -> None:
    signer, verifier = _pair("a.example")
    msg = sign_note("hello\n", signer)
    with pytest.raises(VerificationError, match="malformed"):
        open_note(msg[:-1], [verifier])


def test_signature_lines_need_em_dash() -> None:
    signer, verifier = _pair("a.example")
    msg = sign_note("hello\n", signer).decode()
    for replacement in ["-", "--", "\u2013", "\u2015", ""]:
        bad = msg.replace(EM + " ", replacement + " ")
        with pytest.raises(VerificationError, match="em dash"):
            open_note(bad.encode(), [verifier])
    no_space = msg.replace(EM + " ", EM)
    with pytest.raises(VerificationError, match="em dash"):
        open_note(no_space.encode(), [verifier])


@pytest.mark.parametrize(
    "msg",
    [
        b"",
        b"hello\n",
        b"hello\n\n",
        b"hello\n\n\n",
        b"hello\n\nnot a signature\n",
        "hello\n\n\u2014 a.example\n".encode(),
        "hello\n\n\u2014 a.example \n".encode(),
        "hello\n\n\u2014 a.example AAAA\n".encode(),
        "hello\n\n\u2014 a.example !!!!\n".encode(),
        "hello\n\n\u2014 a.exa mple AAAAAAA=\n".encode(),
        "hello\n\n\u2014  AAAAAAA=\n".encode(),
        "hello\n\n\u2014 a+b AAAAAAA=\n".encode(),
        "hel\tlo\n\n\u2014 a.example AAAAAAA=\n".encode(),
        "hello\r\n\n\u2014 a.example AAAAAAA=\n".encode(),
        b"hel\xfflo\n\n\xe2\x80\x94 a.example AAAAAAA=\n",
        b"hel\xed\xa0\x80lo\n\n\xe2\x80\x94 a.example AAAAAAA=\n",
    ],
)
def test_malformed_notes_refused(msg: bytes) -> None:
    _, verifier = _pair("a.example")
    with pytest.raises(VerificationError):
        open_note(msg, [verifier])


def test_non_canonical_signature_base64_refused() -> None:
    signer, verifier = _pair("a.example")
    msg = sign_note("hello\n", signer)
    # 68 bytes encode to 92 characters ending in one '='; the last data character carries
    # 2 unused bits. Setting them changes no byte, so Go would accept it; keel refuses.
    line = msg.split(b"\n\n")[1]
    assert line.endswith(b"=\n")
    last = line[-3:-2].decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    tweaked = alphabet[alphabet.index(last) ^ 0x01]
    bad = msg[:-3] + tweaked.encode() + b"=\n"
    with pytest.raises(VerificationError, match="malformed"):
        open_note(bad, [verifier])


def test_signature_count_limits() -> None:
    signer, verifier = _pair("log.example")
    base = sign_note("hello\n", signer)
    unknown = [
        Signature(f"w{i}.example", i, bytes(64)).line().encode() for i in range(MAX_SIGNATURES)
    ]
    # The spec asks verifiers to accept at least 16 signatures; keel accepts up to 100.
    assert open_note(base + b"".join(unknown[:15]), [verifier]).signatures
    assert open_note(base + b"".join(unknown[: MAX_SIGNATURES - 1]), [verifier]).signatures
    with pytest.raises(VerificationError, match="more than"):
        open_note(base + b"".join(unknown), [verifier])
    with pytest.raises(InputError):
        sign_note("hello\n", *([signer] * (MAX_SIGNATURES + 1)))


def test_note_size_limit() -> None:
    signer, verifier = _pair("log.example")
    with pytest.raises(InputError, match="exceed"):
        sign_note("a" * MAX_NOTE_SIZE + "\n", signer)
    text = "a" * (MAX_NOTE_SIZE - 200) + "\n"
    msg = sign_note(text, signer)
    assert len(msg) <= MAX_NOTE_SIZE
    assert open_note(msg, [verifier]).text == text
    # Pad with an unknown signature line until the whole note is over the limit.
    pad = Signature("w.example", 1, bytes(200)).line().encode()
    with pytest.raises(VerificationError, match="larger than"):
        open_note(msg + pad, [verifier])


# --- properties --------------------------------------------------------------------------------

_name_chars = st.characters(
    codec="utf-8",
    categories=["L", "M", "N", "P", "S"],
    exclude_characters="+",
)
names = st.text(_name_chars, min_size=1, max_size=30).filter(is_valid_name)
texts = st.text(
    st.characters(codec="utf-8", min_codepoint=0x20) | st.just("\n"),
    max_size=200,
).map(lambda t: t + "\n")


@settings(max_examples=100, deadline=None)
@given(name=names, text=texts)
def test_sign_open_round_trip(name: str, text: str) -> None:
    skey, vkey = generate_key(name)
    signer, verifier = parse_signer(skey), parse_verifier(vkey)
    assert verifier.vkey == vkey
    assert verifier_key(skey) == vkey
    msg = sign_note(text, signer)
    assert msg.startswith(text.encode() + b"\n")
    note = open_note(msg, [verifier])
    assert note.text == text
    assert [(s.name, s.key_id) for s in note.signatures] == [(name, verifier.key_id)]
