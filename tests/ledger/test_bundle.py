"""Tests for keel.ledger.bundle: c2sp.org/tlog-proof@v1 receipts over a real small tree."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keel.errors import InputError, KeelError, VerificationError
from keel.ledger.bundle import HEADER, MAX_PROOF_HASHES, ProofBundle, verify_bundle
from keel.ledger.checkpoint import Checkpoint, sign_checkpoint
from keel.ledger.merkle import Hash, HashReader, Node, inclusion_proof, leaf_hash, root_of
from keel.ledger.note import Signer, Verifier, generate_key, parse_signer, parse_verifier

ORIGIN = "example.com/keel-test"


@cache
def _keys() -> tuple[Signer, Verifier]:
    skey, vkey = generate_key(ORIGIN)
    return parse_signer(skey), parse_verifier(vkey)


def _entries(size: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(size)]


def _reader(leaves: Sequence[Hash]) -> HashReader:
    def read(nodes: Sequence[Node]) -> list[Hash]:
        return [root_of(leaves[n << level : (n + 1) << level]) for level, n in nodes]

    return read


@cache
def _signed_checkpoint(size: int) -> bytes:
    signer, _ = _keys()
    leaves = [leaf_hash(e) for e in _entries(size)]
    return sign_checkpoint(Checkpoint(ORIGIN, size, root_of(leaves)), signer)


def make_bundle(index: int, size: int, extra: bytes | None = None) -> ProofBundle:
    """A real receipt for entry `index` of a `size`-entry tree, signed by the test log key."""
    leaves = [leaf_hash(e) for e in _entries(size)]
    proof = inclusion_proof(index, size, _reader(leaves))
    return ProofBundle(index, tuple(proof), _signed_checkpoint(size), extra)


def _b64(h: bytes) -> bytes:
    return base64.b64encode(h)


# --- the spec's shape --------------------------------------------------------------------------

SPEC_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u2014 example.com/fancylog hI2DJw[...]1roloI=
\u2014 witness1.example mJirIklj[...]qY9v2B/5bg==
""".encode()


def test_spec_example_parses_and_formats_back() -> None:
    bundle = ProofBundle.parse(SPEC_EXAMPLE)
    assert bundle.index == 73894
    assert len(bundle.proof) == 5
    assert bundle.extra is not None
    assert bundle.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert bundle.checkpoint.startswith(b"example.com/fancylog\n109482\n")
    assert bundle.format() == SPEC_EXAMPLE


@pytest.mark.parametrize("extra", [None, b"", b"opaque \x00\xff data"])
def test_exact_text(extra: bytes | None) -> None:
    bundle = make_bundle(2, 5, extra)
    lines = [HEADER]
    if extra is not None:
        lines.append(b"extra " + _b64(extra))
    lines.append(b"index 2")
    lines += [_b64(h) for h in bundle.proof]
    want = b"".join(line + b"\n" for line in lines) + b"\n" + bundle.checkpoint
    assert bundle.format() == want
    assert ProofBundle.parse(want) == bundle


def test_extra_present_and_absent_both_verify() -> None:
    _, verifier = _keys()
    entry = _entries(7)[3]
    for extra in (None, b"context"):
        bundle = ProofBundle.parse(make_bundle(3, 7, extra).format())
        assert bundle.extra == extra
        cp = verify_bundle(bundle, entry, verifier)
        assert (cp.origin, cp.size) == (ORIGIN, 7)


def test_index_zero_and_empty_proof() -> None:
    # A size-1 tree: the leaf hash is the root and the proof has no hashes.
    _, verifier = _keys()
    bundle = make_bundle(0, 1)
    assert bundle.proof == ()
    text = bundle.format()
    assert text.startswith(HEADER + b"\nindex 0\n\n" + ORIGIN.encode() + b"\n1\n")
    parsed = ProofBundle.parse(text)
    assert parsed == bundle
    assert verify_bundle(parsed, b"entry 0", verifier).size == 1
    with pytest.raises(VerificationError):
        verify_bundle(parsed, b"entry 1", verifier)


def test_every_leaf_of_small_trees_verifies() -> None:
    _, verifier = _keys()
    for size in range(1, 18):
        entries = _entries(size)
        for index in range(size):
            bundle = ProofBundle.parse(make_bundle(index, size).format())
            verify_bundle(bundle, entries[index], verifier)
            wrong = entries[(index + 1) % size] if size > 1 else b"other"
            with pytest.raises(VerificationError):
                verify_bundle(bundle, wrong, verifier)


def test_wrong_log_key_refused() -> None:
    _, other = generate_key(ORIGIN)
    with pytest.raises(VerificationError):
        verify_bundle(make_bundle(1, 4), b"entry 1", parse_verifier(other))


def test_index_out_of_range_refused() -> None:
    _, verifier = _keys()
    good = make_bundle(3, 4)
    bad = ProofBundle(4, good.proof, good.checkpoint)
    with pytest.raises(VerificationError):
        verify_bundle(bad, b"entry 3", verifier)


# --- strict parsing ----------------------------------------------------------------------------

H = _b64(bytes(32))
CP = b"example.com/log\n1\n" + H + b"\n\n\xe2\x80\x94 example.com/log AAAA\n"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"", 1),
        (b"c2sp.org/tlog-proof@v1", 1),
        (b"c2sp.org/tlog-proof@v2\nindex 0\n\n" + CP, 1),
        (b"c2sp.org/tlog-proof@v1 \nindex 0\n\n" + CP, 1),
        (b"C2SP.org/tlog-proof@v1\nindex 0\n\n" + CP, 1),
        (b"c2sp.org/tlog-proof@v1\n", 2),
        (b"c2sp.org/tlog-proof@v1\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex \n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex  0\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex 0 \n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex 01\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex -1\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex +1\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex 1_0\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nindex 9223372036854775808\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nINDEX 0\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nextra AAAA\n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nextra !!!!\nindex 0\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nextra AAA\nindex 0\n\n" + CP, 2),
        (b"c2sp.org/tlog-proof@v1\nextra AB==\nindex 0\n\n" + CP, 2),  # non-canonical bits
        (b"c2sp.org/tlog-proof@v1\nextra AA==\nextra AA==\nindex 0\n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nindex 0\nextra AA==\n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H[:-1] + b"\n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + _b64(bytes(31)) + b"\n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + _b64(bytes(33)) + b"\n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H + b" \n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H + b"\r\n\n" + CP, 3),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H + b"\n" + H + b"\nx\n\n" + CP, 5),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H + b"\n" + H, 4),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H + b"\n" + H + b"\n", 5),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H + b"\n\n", 5),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n\n", 4),
        (b"c2sp.org/tlog-proof@v1\r\nindex 0\n\n" + CP, 1),
    ],
)
def test_parse_names_the_bad_line(data: bytes, line: int) -> None:
    with pytest.raises(InputError, match=f"line {line}:"):
        ProofBundle.parse(data)


def test_parse_proof_length_limit() -> None:
    head = b"c2sp.org/tlog-proof@v1\nindex 0\n"
    ok = head + (H + b"\n") * MAX_PROOF_HASHES + b"\n" + CP
    assert len(ProofBundle.parse(ok).proof) == MAX_PROOF_HASHES
    too_long = head + (H + b"\n") * (MAX_PROOF_HASHES + 1) + b"\n" + CP
    with pytest.raises(InputError, match=f"line {3 + MAX_PROOF_HASHES}:"):
        ProofBundle.parse(too_long)


@pytest.mark.parametrize(
    "change",
    [
        {"index": -1},
        {"index": 1 << 63},
        {"index": True},
        {"proof": (Hash(bytes(31)),)},
        {"proof": (Hash(bytes(32)),) * (MAX_PROOF_HASHES + 1)},
        {"checkpoint": b""},
        {"extra": "text"},
    ],
)
def test_invalid_bundles_refused(change: dict[str, Any]) -> None:
    good = make_bundle(1, 3)
    args: dict[str, Any] = {"index": good.index, "proof": good.proof, "checkpoint": good.checkpoint}
    args.update(change)
    with pytest.raises(InputError):
        ProofBundle(**args)


def test_checkpoint_kept_verbatim_even_if_odd() -> None:
    data = b"c2sp.org/tlog-proof@v1\nindex 0\n\nnot a checkpoint\n\n\nat all"
    bundle = ProofBundle.parse(data)
    assert bundle.checkpoint == b"not a checkpoint\n\n\nat all"
    assert bundle.format() == data
    _, verifier = _keys()
    with pytest.raises(VerificationError):
        verify_bundle(bundle, b"x", verifier)


# --- properties --------------------------------------------------------------------------------


@st.composite
def real_bundles(draw: st.DrawFn, with_extra: bool | None = None) -> ProofBundle:
    size = draw(st.integers(min_value=1, max_value=40))
    index = draw(st.integers(min_value=0, max_value=size - 1))
    if with_extra is None:
        extra = draw(st.none() | st.binary(max_size=40))
    else:
        extra = draw(st.binary(max_size=40)) if with_extra else None
    return make_bundle(index, size, extra)


hashes = st.binary(min_size=32, max_size=32).map(Hash)
synthetic_bundles = st.builds(
    ProofBundle,
    index=st.integers(min_value=0, max_value=(1 << 63) - 1),
    proof=st.lists(hashes, max_size=MAX_PROOF_HASHES).map(tuple),
    checkpoint=st.binary(min_size=1, max_size=200),
    extra=st.none() | st.binary(max_size=100),
)


@settings(max_examples=300)
@given(bundle=synthetic_bundles)
def test_parse_format_round_trip(bundle: ProofBundle) -> None:
    text = bundle.format()
    assert ProofBundle.parse(text) == bundle
    assert ProofBundle.parse(text).format() == text


@settings(max_examples=50, deadline=None)
@given(bundle=real_bundles())
def test_real_bundle_round_trip_and_verify(bundle: ProofBundle) -> None:
    text = bundle.format()
    parsed = ProofBundle.parse(text)
    assert parsed == bundle
    assert parsed.format() == text
    _, verifier = _keys()
    cp = verify_bundle(parsed, f"entry {bundle.index}".encode(), verifier)
    assert cp.origin == ORIGIN


def _parses_and_verifies(data: bytes, entry: bytes) -> ProofBundle | None:
    _, verifier = _keys()
    try:
        bundle = ProofBundle.parse(data)
        verify_bundle(bundle, entry, verifier)
    except (InputError, VerificationError):
        return None
    return bundle


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle=real_bundles(with_extra=False), data=st.data())
def test_any_single_byte_change_fails(bundle: ProofBundle, data: st.DataObject) -> None:
    text = bundle.format()
    pos = data.draw(st.integers(min_value=0, max_value=len(text) - 1), label="pos")
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != text[pos]))
    changed = text[:pos] + bytes([new]) + text[pos + 1 :]
    assert _parses_and_verifies(changed, f"entry {bundle.index}".encode()) is None


@pytest.mark.parametrize(("index", "size"), [(0, 1), (5, 13), (12, 13)])
def test_every_position_single_byte_change_fails(index: int, size: int) -> None:
    bundle = make_bundle(index, size)
    text = bundle.format()
    entry = f"entry {index}".encode()
    assert _parses_and_verifies(text, entry) == bundle
    for pos in range(len(text)):
        for delta in (0x01, 0x02, 0x04, 0x20, 0x80):
            changed = text[:pos] + bytes([text[pos] ^ delta]) + text[pos + 1 :]
            assert _parses_and_verifies(changed, entry) is None, (pos, delta)


def test_extra_is_unauthenticated() -> None:
    # The spec says extra data is not authenticated: changing it alone still verifies, so the
    # single-byte-change property holds only outside the extra line. Check exactly that.
    bundle = make_bundle(2, 6, b"some extra data!")
    text = bundle.format()
    entry = b"entry 2"
    extra_line_end = text.index(b"\n", len(HEADER) + 1)
    payload_start = len(HEADER) + 1 + len(b"extra ")
    for pos in range(len(text)):
        for delta in (0x01, 0x20, 0x80):
            changed = text[:pos] + bytes([text[pos] ^ delta]) + text[pos + 1 :]
            result = _parses_and_verifies(changed, entry)
            if result is not None:
                assert payload_start <= pos < extra_line_end
                assert result.extra != bundle.extra
                assert (result.index, result.proof, result.checkpoint) == (
                    bundle.index,
                    bundle.proof,
                    bundle.checkpoint,
                )


def test_errors_are_keel_errors() -> None:
    with pytest.raises(KeelError):
        ProofBundle.parse(b"garbage")
