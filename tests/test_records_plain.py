"""`keel.records.plain_record`: bytes it speaks for are a valid record entry in canonical form
with the digest and parents it gives (what parsing them says), whatever else they are; and it
speaks for the records ingest logs."""

from __future__ import annotations

import json
import re

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from keel.errors import InputError
from keel.records import (
    JSON,
    Producer,
    Record,
    canonical,
    entry_bytes,
    entry_from_json,
    loads,
    plain_record,
    text_record,
)

HEX = "0123456789abcdef"
IDS = st.text(HEX, min_size=64, max_size=64)
TRICKY = st.sampled_from(
    ["", "é", "\\", '"', "\n", "\x7f", "\x1f", "\u2028", "a/b", "𝄞", "human", "1e5", "A" * 70]
)
PLAIN_TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=8
)
"""Printable ASCII but a quote or a backslash: JSON strings that are their own text."""
STRINGS = PLAIN_TEXT | TRICKY | st.text(max_size=4)
NUMBERS = (
    st.integers(-(2**53), 2**53)
    | st.sampled_from([0, -1, 10**15 - 1, 10**15, 2**53 - 1, 2**53 + 1, 10**16 - 1, 2**63])
    | st.sampled_from([1.0, -0.0, 1e21, 0.5])
    | st.floats(allow_nan=False, allow_infinity=False)
)
SCALARS = STRINGS | NUMBERS | st.booleans() | st.none()
PLAIN_SCALARS = PLAIN_TEXT | st.integers(-(10**15) + 1, 10**15 - 1) | st.booleans() | st.none()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(STRINGS, inner, max_size=3),
    max_leaves=5,
)
FIELDS = {
    "author": STRINGS | VALUES,
    "generation": NUMBERS | VALUES,
    "kind": st.sampled_from(["record", "verdict", "Record", ""]) | VALUES,
    "origin": st.sampled_from(["human", "expert", "synthetic", "robot", "Human"]) | VALUES,
    "parents": st.lists(IDS | STRINGS, max_size=3) | VALUES,
    "tags": st.dictionaries(STRINGS, SCALARS, max_size=4) | VALUES,
    "producer": st.fixed_dictionaries({"model": STRINGS}) | VALUES,
    "v": st.sampled_from([1, 1.0, True, 2, "1"]) | VALUES,
    "x": VALUES,
}
PAYLOAD = {
    "sha256": IDS | STRINGS | IDS.map(str.upper),
    "size": NUMBERS | VALUES,
    "type": st.sampled_from(["text", "json", "ids", "blob"]) | VALUES,
    "extra": VALUES,
}


TOKENS = [
    b"0",
    b"-",
    b"-0",
    b"9",
    b" ",
    b'"',
    b"\\u0041",
    b"\\/",
    b".0",
    b"e1",
    b"\xc3\xa9",
    b"\xff",
    b"\x00",
]


@st.composite
def record_like(draw: st.DrawFn) -> bytes:
    """Bytes near a record entry's: a record's JSON with fields changed, added or dropped,
    written in one of several styles, perhaps with bytes changed or added."""
    record, _ = text_record(
        draw(PLAIN_TEXT),
        draw(st.sampled_from(["human", "expert", "synthetic"])),
        author=draw(st.none() | STRINGS),
        parents=draw(st.lists(IDS, max_size=2)),
        generation=draw(st.none() | st.integers(-(10**15), 10**15)),
        tags=draw(st.dictionaries(PLAIN_TEXT | STRINGS, PLAIN_SCALARS | SCALARS, max_size=3)),
    )
    obj: dict[str, JSON] = record.to_json()
    payload = obj["payload"]
    assert isinstance(payload, dict)
    for _ in range(draw(st.integers(0, 2))):
        target = payload if draw(st.booleans()) else obj
        fields = PAYLOAD if target is payload else FIELDS
        name = draw(st.sampled_from(sorted(fields)))
        if draw(st.booleans()):
            target.pop(name, None)
        else:
            target[name] = draw(fields[name])
    data = _written(obj, draw(st.integers(0, 7)))
    for _ in range(draw(st.integers(0, 2))):
        raw = bytearray(data)
        colons = [i + 1 for i, c in enumerate(raw) if c == ord(":")]
        pos = draw(
            st.sampled_from(colons) if colons and draw(st.booleans()) else st.integers(0, len(raw))
        )
        if draw(st.booleans()) and pos < len(raw):
            raw[pos] = draw(st.integers(0, 255))
        else:
            raw[pos:pos] = draw(st.sampled_from(TOKENS))
        data = bytes(raw)
    return data


def _written(obj: dict[str, JSON], style: int) -> bytes:
    """`obj` as JSON text: canonical, or as orjson or Python's json module write it (keys
    sorted or not, ASCII only or not, spaced or not), or canonical but for the tags (in the
    order given, or with their first key twice)."""
    if style == 0:
        try:
            return canonical(obj)
        except InputError:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    if style == 1:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    if style == 2:
        return orjson.dumps(obj)
    if style in (3, 4, 5):
        separators = (", ", ": ") if style == 5 else (",", ":")
        text = json.dumps(obj, sort_keys=True, ensure_ascii=style == 3, separators=separators)
        return text.encode("utf-8", "surrogatepass")
    top = dict(sorted(obj.items()))  # tags in their own order
    data = json.dumps(top, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )
    tags = obj.get("tags")
    if style == 7 and isinstance(tags, dict) and tags:
        first = json.dumps(
            dict([next(iter(tags.items()))]), ensure_ascii=False, separators=(",", ":")
        )
        data = data.replace(
            b'"tags":{', b'"tags":{' + first[1:-1].encode("utf-8", "surrogatepass") + b",", 1
        )
    return data


@settings(max_examples=1000)
@given(record_like())
def test_plain_record_speaks_only_for_canonical_records(data: bytes) -> None:
    got = plain_record(data)
    if got is None:
        return
    obj = loads(data)  # as verify reads an entry: parsed, its value built, its bytes checked
    value = entry_from_json(obj)
    assert isinstance(value, Record)
    assert canonical(obj) == data
    assert got == (value.payload.sha256, list(value.parents))


@st.composite
def plain_records(draw: st.DrawFn) -> Record:
    """Records of printable ASCII and small integers, without a producer: what ingest logs."""
    record, _ = text_record(
        draw(PLAIN_TEXT),
        draw(st.sampled_from(["human", "expert", "synthetic"])),
        author=draw(st.none() | PLAIN_TEXT),
        parents=draw(st.lists(IDS, max_size=3)),
        generation=draw(st.none() | st.integers(-(10**15) + 1, 10**15 - 1)),
        tags=draw(st.dictionaries(PLAIN_TEXT, PLAIN_SCALARS, max_size=4)),
    )
    return record


@given(plain_records())
def test_plain_record_speaks_for_plain_records(record: Record) -> None:
    assert plain_record(entry_bytes(record)) == (record.payload.sha256, list(record.parents))


INSERTS = [b'\\"', b"\\\\", b"\\u0041", b"\\/", b"\\n", b'"', b"\\", b"\n", b"\x7f", b"\xc3\xa9",
           b"\xff", b"A"]  # fmt: skip
NUMBER = re.compile(rb"(?<=:)-?[0-9]+")
STRING = re.compile(rb'"[^"]*"')
PAIR = re.compile(rb'"[^"]*":(?:"[^"]*"|[^,{}\[\]]*)')


@given(plain_records(), st.data())
def test_plain_record_refuses_what_is_near_a_plain_record(
    record: Record, data: st.DataObject
) -> None:
    """One edit to a plain record's bytes, where it matters: a number, a string, the order of
    keys or tags, a key twice, a space. Either the bytes are still the canonical bytes of a
    record with that digest and those parents, or `plain_record` says nothing."""
    raw = entry_bytes(record)
    how = data.draw(st.sampled_from(["number", "string", "pairs", "space"]))
    if how == "number":
        m = data.draw(st.sampled_from(list(NUMBER.finditer(raw))))
        n = m[0]
        longer = n + b"0" * (16 - len(n))
        new = data.draw(st.sampled_from([b"0" + n, b"-" + n, b"-0", longer, n + b"00",
                                         n + b".0", n + b"e0", b"+" + n, b" " + n]))  # fmt: skip
        edited = raw[: m.start()] + new + raw[m.end() :]
    elif how == "string":
        m = data.draw(st.sampled_from(list(STRING.finditer(raw))))
        at = data.draw(st.integers(m.start() + 1, m.end() - 1))
        token = data.draw(st.sampled_from(INSERTS))
        edited = raw[:at] + token + raw[at:]
    elif how == "pairs":
        pairs = list(PAIR.finditer(raw))
        i, j = data.draw(st.integers(0, len(pairs) - 1)), data.draw(st.integers(0, len(pairs) - 1))
        a, b = pairs[min(i, j)], pairs[max(i, j)]
        if a.start() == b.start() or data.draw(st.booleans()):  # a key twice
            edited = raw[: a.end()] + b"," + a[0] + raw[a.end() :]
        else:  # two keys swapped
            edited = raw[: a.start()] + b[0] + raw[a.end() : b.start()] + a[0] + raw[b.end() :]
    else:
        at = data.draw(st.integers(0, len(raw)))
        edited = raw[:at] + b" " + raw[at:]
    got = plain_record(edited)
    if got is not None:
        obj = loads(edited)
        value = entry_from_json(obj)
        assert isinstance(value, Record)
        assert canonical(obj) == edited
        assert got == (value.payload.sha256, list(value.parents))


def test_what_ingest_logs_is_plain() -> None:
    parents = ["ab" * 32, "cd" * 32]
    tags: dict[str, JSON] = {"lang": "en", "n": 3}
    record, _ = text_record(
        "some text", "human", author="annotator-7", generation=0, parents=parents, tags=tags
    )
    assert plain_record(entry_bytes(record)) == (record.payload.sha256, list(record.parents))
    synthetic, _ = text_record("x", "synthetic", producer=Producer("m", "1", {"t": 0.5}))
    assert plain_record(entry_bytes(synthetic)) is None  # parsed instead: it may hold floats
