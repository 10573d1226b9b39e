"""keel.records: RFC 8785 bytes (checked against the independent `rfc8785` package), entry ids,
and the round trip from logged bytes back to entry values."""

from __future__ import annotations

import hashlib
import json
import math
import struct
import tracemalloc
from dataclasses import dataclass
from decimal import Decimal

import orjson
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import InputError
from keel.records import (
    JSON,
    MAX_DEPTH,
    ORIGINS,
    Anchor,
    AnchorKey,
    Entry,
    Mix,
    PayloadRef,
    Preference,
    Producer,
    Record,
    Redaction,
    Run,
    Verdict,
    as_digest,
    canonical,
    entry_bytes,
    entry_id,
    es6_number,
    json_record,
    loads,
    mix,
    parse_entry,
    parse_json,
    parse_member_list,
    references,
    text_record,
    verdict,
)

MAX_SAFE = 2**53 - 1

# --- strategies ------------------------------------------------------------------------------

SPECIAL_FLOATS = [
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e21,
    1e-7,
    1e-6,
    0.000001,
    123456789012345680000.0,
    9007199254740992.0,
    1e23,
    0.1,
    -1.5,
]

floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(SPECIAL_FLOATS)
safe_ints = st.integers(-MAX_SAFE, MAX_SAFE)
# Keys mixing ASCII, the BMP's private use area and specials (U+E000..U+FFFF, which sort *after*
# surrogate pairs in UTF-16 order) and characters outside the BMP (stored as surrogate pairs).
key_chars = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
    st.characters(codec="utf-8"),
)
keys = st.text(key_chars, max_size=6) | st.text(max_size=6)
strings = st.text() | st.text(key_chars)
scalars = st.none() | st.booleans() | safe_ints | floats | strings


def json_values(leaf: st.SearchStrategy[JSON] = scalars) -> st.SearchStrategy[JSON]:
    return st.recursive(
        leaf,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=25,
    )


# --- canonical == RFC 8785 -----------------------------------------------------------------


@given(json_values())
def test_canonical_matches_rfc8785(value: JSON) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@given(st.dictionaries(keys, scalars, min_size=2, max_size=12))
def test_canonical_sorts_keys_by_utf16_code_units(obj: dict[str, JSON]) -> None:
    assert canonical(obj) == rfc8785.dumps(obj)
    assert canonical({"nested": [obj, {"x": obj}]}) == rfc8785.dumps({"nested": [obj, {"x": obj}]})


def test_canonical_utf16_order_differs_from_code_point_order() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000 in UTF-16 code units.
    obj = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    assert canonical(obj) == '{"a":3,"\U0001f600":2,"\ue000":1}'.encode()
    assert canonical(obj) == rfc8785.dumps(obj)


@given(floats)
def test_canonical_floats_match_rfc8785(x: float) -> None:
    assert canonical(x) == rfc8785.dumps(x)
    assert es6_number(x).encode() == rfc8785.dumps(x)


@given(safe_ints)
def test_canonical_safe_ints_match_rfc8785(n: int) -> None:
    assert canonical(n) == rfc8785.dumps(n) == str(n).encode()


@pytest.mark.parametrize("n", [2**53, -(2**53), 2**64, -(2**70)])
def test_out_of_range_ints_raise(n: int) -> None:
    with pytest.raises(InputError, match="I-JSON"):
        canonical(n)
    with pytest.raises(InputError):
        canonical({"a": [1, {"b": n}]})
    with pytest.raises(InputError):
        canonical({"\U0001f600": n, "\ue000": 1})  # the UTF-16 slow path checks too


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_raise(x: float) -> None:
    with pytest.raises(InputError):
        canonical(x)
    with pytest.raises(InputError):
        canonical([0, {"deep": [x]}])
    with pytest.raises(InputError):
        canonical({"\U0001f600": x})
    with pytest.raises(InputError):
        es6_number(x)


@pytest.mark.parametrize("value", [{1: "a"}, {"a": {None: 1}}, b"bytes", {1, 2}, object()])
def test_non_json_values_raise(value: object) -> None:
    with pytest.raises(InputError):
        canonical(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["\udcff", ["ok", "\ud800"], {"\U0001f600": "\udc00"}])
def test_lone_surrogates_raise_input_error(value: JSON) -> None:
    with pytest.raises(InputError):
        canonical(value)


def test_canonical_scalars_and_escapes() -> None:
    assert canonical(None) == b"null"
    assert canonical(True) == b"true"
    assert canonical([False, 1, 1.0, "x"]) == b'[false,1,1,"x"]'
    assert canonical('\u0000\u001f\u007f"\\/\u2028') == b'"\\u0000\\u001f\x7f\\"\\\\/\xe2\x80\xa8"'


# --- es6_number --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123456789012345680000.0, "123456789012345680000"),
        (-0.0, "0"),
        (0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (0.1, "0.1"),
    ],
)
def test_es6_number_spot_values(x: float, text: str) -> None:
    assert es6_number(x) == text


# RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
RFC8785_APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), RFC8785_APPENDIX_B)
def test_es6_number_rfc8785_appendix_b(bits: str, text: str) -> None:
    (x,) = struct.unpack(">d", bytes.fromhex(bits))
    assert es6_number(x) == text
    assert canonical(x) == text.encode()


# --- entry ids -------------------------------------------------------------------------------


def test_entry_id_is_sha256_of_canonical_bytes() -> None:
    record, _ = text_record("hello", "human", author="ana", tags={"lang": "en"})
    raw = entry_bytes(record)
    assert raw == canonical(record.to_json()) == rfc8785.dumps(record.to_json())
    assert entry_id(raw) == hashlib.sha256(raw).hexdigest()


def test_same_content_and_provenance_is_same_id() -> None:
    prod = Producer("m", "2", {"temperature": 0.7, "top_p": 0.95})
    a, da = text_record("same text", "synthetic", producer=prod, generation=3, tags={"x": 1})
    b, db = text_record(
        "same text", "synthetic", producer=Producer("m", "2", {"top_p": 0.95, "temperature": 0.7}),
        generation=3, tags={"x": 1.0},
    )  # fmt: skip
    assert da == db
    assert entry_bytes(a) == entry_bytes(b)
    assert entry_id(entry_bytes(a)) == entry_id(entry_bytes(b))


def test_same_text_from_two_producers_is_two_ids_one_payload() -> None:
    a, da = text_record("same text", "synthetic", producer=Producer("model-a"))
    b, db = text_record("same text", "synthetic", producer=Producer("model-b"))
    assert entry_id(entry_bytes(a)) != entry_id(entry_bytes(b))
    assert a.payload == b.payload
    assert a.payload.sha256 == hashlib.sha256(b"same text").hexdigest()
    assert da == db == b"same text"


def test_human_and_synthetic_copies_of_a_text_are_different_entries() -> None:
    h, _ = text_record("t", "human")
    s, _ = text_record("t", "synthetic")
    assert entry_bytes(h) != entry_bytes(s)
    assert h.payload.sha256 == s.payload.sha256


def test_json_record_payload_is_canonical_bytes() -> None:
    value = {"b": [1.0, 2.5], "a": "x"}
    rec, data = json_record(value, "expert")
    assert data == rfc8785.dumps(value) == b'{"a":"x","b":[1,2.5]}'
    assert rec.payload == PayloadRef.of(data, "json")
    assert entry_bytes(rec) == entry_bytes(json_record({"a": "x", "b": [1, 2.5]}, "expert")[0])


def test_record_constructors_check_their_input() -> None:
    with pytest.raises(InputError, match="origin"):
        text_record("t", "robot")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="parent"):
        text_record("t", "human", parents=["not-an-id"])
    with pytest.raises(InputError, match="parent"):
        text_record("t", "human", parents=["A" * 64])  # ids are lower-case
    with pytest.raises(InputError, match="label, a score"):
        verdict("a" * 64, "judge", "ai")
    with pytest.raises(InputError, match="judge kind"):
        verdict("a" * 64, "judge", "robot", label="ok")  # type: ignore[arg-type]


def test_mix_members_are_sorted_unique_and_parse_back() -> None:
    ids = ["c" * 64, "a" * 64, "c" * 64, "b" * 64]
    m, data = mix(ids, {"human_share": 0.5})
    assert m.count == 3
    assert data == ("a" * 64 + "\n" + "b" * 64 + "\n" + "c" * 64 + "\n").encode()
    assert parse_member_list(data) == ["a" * 64, "b" * 64, "c" * 64]
    assert m == mix(["b" * 64, "c" * 64, "a" * 64], {"human_share": 0.5})[0]


# --- parse_entry(entry_bytes(e)) == e -----------------------------------------------------------

hex_ids = st.binary(min_size=32, max_size=32).map(bytes.hex)
rt_values = json_values(st.none() | st.booleans() | safe_ints | floats | strings)
json_objects = st.dictionaries(keys, rt_values, max_size=4)
opt_text = st.none() | st.text(max_size=20)
payload_refs = st.builds(
    PayloadRef.of, st.binary(max_size=40), st.sampled_from(["text", "json", "ids"])
)

producers = st.builds(
    Producer,
    model=st.text(max_size=20),
    version=opt_text,
    params=st.dictionaries(st.text(max_size=10), floats | safe_ints | st.text(), max_size=4),
    prompt_sha256=st.none() | hex_ids,
)
records = st.builds(
    Record,
    origin=st.sampled_from(ORIGINS),
    payload=payload_refs,
    author=opt_text,
    producer=st.none() | producers,
    parents=st.lists(hex_ids, max_size=3).map(tuple),
    generation=st.none() | safe_ints,
    tags=json_objects,
)
verdicts = st.builds(
    Verdict,
    record=hex_ids,
    judge=st.text(max_size=20),
    judge_kind=st.sampled_from(["ai", "expert"]),
    label=opt_text,
    score=st.none() | floats | safe_ints,
    rubric=opt_text,
    rationale=st.none() | payload_refs,
)
mixes = st.builds(
    Mix,
    members=payload_refs,
    count=st.integers(0, 10**9),
    policy=json_objects,
    generation=st.none() | safe_ints,
)
runs = st.builds(
    Run,
    mix=hex_ids,
    model=st.text(max_size=20),
    config=json_objects,
    artifact_sha256=st.none() | hex_ids,
)
redactions = st.builds(Redaction, digest=hex_ids, reason=st.text(max_size=30))
anchor_keys = st.builds(
    AnchorKey, chain=st.text(max_size=40), key=st.text(max_size=44), ed25519=st.text(max_size=88)
)
anchors = st.builds(
    Anchor,
    binding=hex_ids,
    transaction=st.text(max_size=88),
    slot=st.integers(0, 2**53 - 1),
    size=st.integers(0, 2**53 - 1),
    root=hex_ids,
)

preferences = st.builds(
    Preference,
    first=hex_ids,
    second=hex_ids,
    judge=st.text(max_size=20),
    judge_kind=st.sampled_from(["ai", "expert"]),
    choice=st.sampled_from(["first", "second", "tie"]),
    prompt=st.none() | hex_ids,
    score=st.none() | floats,
    rationale=st.none() | payload_refs,
)


@pytest.mark.parametrize(
    "strategy",
    [records, verdicts, mixes, runs, redactions, anchor_keys, anchors, preferences],
    ids=["record", "verdict", "mix", "run", "redaction", "anchor-key", "anchor", "preference"],
)
@given(data=st.data())
def test_parse_entry_round_trips(strategy: st.SearchStrategy[Entry], data: st.DataObject) -> None:
    e = data.draw(strategy)
    raw = entry_bytes(e)
    back = parse_entry(raw)
    assert back == e
    assert type(back) is type(e)
    assert entry_bytes(back) == raw


def test_parse_entry_examples_of_every_kind() -> None:
    rid = "ab" * 32
    r, _ = text_record("t", "synthetic", producer=Producer("m", params={"t": 0.5}), parents=[rid])
    v, _ = verdict(rid, "judge-1", "expert", label="accept", score=0.25, rationale="why")
    m, _ = mix([rid], {"policy": "all"}, generation=2)
    run = Run(mix="cd" * 32, model="m2", config={"lr": 1e-4}, artifact_sha256="ef" * 32)  # type: ignore[arg-type]
    red = Redaction("01" * 32, "gdpr")  # type: ignore[arg-type]
    policy = Run(mix="cd" * 32, model="p", uses=("12" * 32,))  # type: ignore[arg-type]
    assert references(policy) == ["cd" * 32, "12" * 32]
    assert b'"uses"' not in entry_bytes(run)  # a run without inputs keeps its bytes
    for e in (r, v, m, run, red, policy):
        assert parse_entry(entry_bytes(e)) == e
        assert parse_entry(entry_bytes(e)).kind == e.kind


def test_big_integral_float_round_trips() -> None:
    # RFC 8785 writes 1e17 as 100000000000000000: it must read back as the double it is
    rec, _ = text_record("t", "human", tags={"n": 1e17, "m": 2.0**60})
    raw = entry_bytes(rec)
    assert raw == rfc8785.dumps(rec.to_json())
    assert entry_bytes(parse_entry(raw)) == raw


@given(json_values(scalars | st.sampled_from([1e17, -(2.0**60), 1e300, 9007199254740992.0])))
def test_logged_json_reads_back_as_what_was_logged(value: JSON) -> None:
    # Big integral doubles are written as long digit runs; whatever surrounds them, the bytes
    # read back to a value that encodes to the same bytes.
    raw = canonical(value)
    assert canonical(loads(raw)) == raw


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"kind":"record"}',
        b'{"kind":"record","v":2,"origin":"human"}',
        b'{"kind":"nope","v":1}',
        b'{"kind":"record","v":1,"origin":"human"}',
        b'{"kind":"record","v":1,"origin":"robot","payload":{"sha256":"00","size":1,"type":"text"}}',
        b'{"kind":"verdict","v":1,"record":"' + b"a" * 64 + b'"}',
    ],
)
def test_parse_entry_rejects_what_is_not_a_keel_entry(raw: bytes) -> None:
    with pytest.raises(InputError):
        parse_entry(raw)


def test_canonical_bytes_take_their_own_size_in_memory() -> None:
    """A batch of entries held for one append costs its bytes, not orjson's 4 KiB buffers."""
    value = {"kind": "record", "v": 1, "payload": {"sha256": "ab" * 32, "size": 9}}
    tracemalloc.start()
    try:
        held = [canonical({**value, "n": i}) for i in range(2000)]
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size < len(held) * 400  # each entry is ~120 bytes; orjson's buffer alone is 4 KiB


# --- JSON text from users: numbers logged exactly or refused ---------------------------------

number_literals = st.from_regex(
    r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)


def logged_exactly(literal: str) -> bool:
    """The rule, computed independently: RFC 8785 (the `rfc8785` package) writes back the value."""
    if not any(c in literal for c in ".eE"):
        return abs(int(literal)) <= MAX_SAFE
    x = float(literal)
    return math.isfinite(x) and Decimal(rfc8785.dumps(x).decode()) == Decimal(literal)


@given(
    number_literals,
    st.sampled_from(["%s", '{"a":[1,%s]}', '{"a":"12:3e4 0.12345678901234567","b":{"c":%s}}']),
)
def test_parse_json_keeps_a_number_only_if_it_is_logged_exactly(literal: str, doc: str) -> None:
    text = doc % literal
    if logged_exactly(literal):
        logged = (
            str(int(literal))
            if literal.lstrip("-").isdigit()
            else rfc8785.dumps(float(literal)).decode()
        )
        assert canonical(parse_json(text)) == (doc % logged).encode()
    else:
        with pytest.raises(InputError, match=r"(integer|number) .* store it as a string"):
            parse_json(text)


@pytest.mark.parametrize(
    ("literal", "logged"),
    [
        ("0.1", b"0.1"),
        ("1.50", b"1.5"),
        ("1e-5", b"0.00001"),
        ("-0.0", b"0"),
        ("-0", b"0"),
        ("1e17", b"100000000000000000"),
        ("9007199254740991", b"9007199254740991"),
        ("-9007199254740991", b"-9007199254740991"),
        ("5e-324", b"5e-324"),
        ("0e999999999999999999999", b"0"),
    ],
)
def test_parse_json_logs_exact_numbers_as_written(literal: str, logged: bytes) -> None:
    assert canonical(parse_json(literal)) == logged


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("9007199254740992", "row.tags.n: integer 9007199254740992 is outside I-JSON's exact"),
        ("-9007199254740992", "row.tags.n: integer -9007199254740992 is outside"),
        ("9223372036854775808", "row.tags.n: integer 9223372036854775808 is outside"),
        ("18446744073709551616", "row.tags.n: integer 18446744073709551616 is outside"),
        ("1e-400", "row.tags.n: number 1e-400 is not exactly a double (the nearest is 0.0)"),
        ("2e-324", "row.tags.n: number 2e-324 is not exactly a double"),
        ("0.10000000000000000001", "row.tags.n: number 0.10000000000000000001 is not exactly"),
        ("1e-99999999999999999999999", "row.tags.n: number 1e-99999999999999999999999 is not"),
        # orjson stops at an overflow before a path is known: the column says where
        ("1e400", "row: number 1e400 (column 14) is beyond a double's range"),
        ("-1" + "0" * 400, "row: number -1000000000000000000…(402 characters) (column 14)"),
    ],
)
def test_parse_json_refuses_inexact_numbers_naming_their_place(literal: str, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_json(f'{{"tags":{{"n":{literal}}}}}', "row")
    assert str(exc.value).startswith(message)
    assert str(exc.value).endswith("store it as a string")


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_nan_and_infinity_are_not_json(text: str) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        parse_json(text)


@dataclass(frozen=True)
class Obj:
    """A JSON object as written: its members in order, repeated keys and all."""

    pairs: tuple[tuple[str, object], ...]


key_names = st.sampled_from(["a", "b", "a:b", ":", "é", "\u2028", "\\u003a"])
docs = st.recursive(
    st.sampled_from(["x", "x:y", ":", "é:", "", "\\u003a"]) | st.integers(-3, 3),
    lambda c: (
        st.lists(c, max_size=3)
        | st.lists(st.tuples(key_names, c), max_size=4).map(lambda pairs: Obj(tuple(pairs)))
    ),
    max_leaves=12,
)


def render(doc: object, ascii_only: bool, escape_colons: bool) -> str:
    if isinstance(doc, Obj):
        return (
            "{"
            + ",".join(
                render(k, ascii_only, escape_colons) + ":" + render(v, ascii_only, escape_colons)
                for k, v in doc.pairs
            )
            + "}"
        )
    if isinstance(doc, list):
        return "[" + ",".join(render(v, ascii_only, escape_colons) for v in doc) + "]"
    text = json.dumps(doc, ensure_ascii=ascii_only)
    return text.replace(":", "\\u003a") if escape_colons else text


def value_of(doc: object) -> object:
    if isinstance(doc, Obj):
        return {k: value_of(v) for k, v in doc.pairs}
    return [value_of(v) for v in doc] if isinstance(doc, list) else doc


def repeats_a_key(doc: object) -> bool:
    if isinstance(doc, Obj):
        keys = [k for k, _ in doc.pairs]
        return len(set(keys)) < len(keys) or any(repeats_a_key(v) for _, v in doc.pairs)
    return isinstance(doc, list) and any(repeats_a_key(v) for v in doc)


@given(docs, st.booleans(), st.booleans())
def test_parse_json_refuses_exactly_the_objects_that_repeat_a_key(
    doc: object, ascii_only: bool, escape_colons: bool
) -> None:
    text = render(doc, ascii_only, escape_colons)
    if repeats_a_key(doc):
        with pytest.raises(InputError, match="appears twice in one object"):
            parse_json(text)
    else:
        assert parse_json(text) == value_of(doc)


def test_a_repeated_key_is_named_with_its_path() -> None:
    with pytest.raises(InputError, match=r"^f\.t\[1\]: key 'x' appears twice"):
        parse_json('{"t": [{}, {"x": 1, "x": 1}]}', "f")
    with pytest.raises(InputError, match=r"^key 'a' appears twice"):
        parse_json(b'{"a": "\\u003a", "a": 1}')  # the escaped colon hides the repeat from a count


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_is_limited_to_max_depth_levels() -> None:
    assert canonical(parse_json(nested(MAX_DEPTH))) == nested(MAX_DEPTH).encode()
    for depth in (MAX_DEPTH + 1, 300, 1000, 1024):
        with pytest.raises(InputError, match=r"^x: nested deeper than 64 levels"):
            parse_json(f'{{"x": {nested(depth - 1)}}}')
    deep: JSON = []
    for _ in range(1000):
        deep = [deep]
    with pytest.raises(InputError, match="nested deeper than 64 levels"):
        canonical({"tags": deep})  # not a RecursionError, nor orjson's "lone surrogate?"
    assert canonical(json.loads(nested(MAX_DEPTH))) == nested(MAX_DEPTH).encode()


def test_as_digest_takes_64_hex_digits_in_either_case() -> None:
    assert as_digest("AB" * 32, "--prompt-sha256") == "ab" * 32
    for bad in ["ab" * 31, "ab" * 33, "zz" * 32, 5, None]:
        with pytest.raises(InputError, match="--prompt-sha256 must be a SHA-256"):
            as_digest(bad, "--prompt-sha256")
