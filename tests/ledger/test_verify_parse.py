"""verify parses each entry once and skips `canonical` where the sorted dump already is the
canonical form (`_entry_json`): that shortcut must never call canonical bytes what is not."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import InputError
from keel.ledger.verify import _entry_json
from keel.records import JSON, canonical, dumps_sorted, loads

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


def _canonical_or_none(value: JSON) -> bytes | None:
    try:
        return canonical(value)
    except InputError:
        return None


def _agrees(data: bytes) -> None:
    """The shortcut's verdict on `data` is the one `canonical(loads(data))` gives."""
    try:
        slow_obj = loads(data)
    except orjson.JSONDecodeError:
        with pytest.raises(InputError, match="entry is not JSON"):
            _entry_json(data)
        return
    obj, plain = _entry_json(data)
    assert orjson.dumps(obj) == orjson.dumps(slow_obj)
    if plain and dumps_sorted(obj) == data:
        assert _canonical_or_none(obj) == data


@given(json_values)
def test_shortcut_agrees_with_canonical(value: JSON) -> None:
    for data in (
        _canonical_or_none(value),
        orjson.dumps(value),
        orjson.dumps(value, option=orjson.OPT_SORT_KEYS),
        orjson.dumps({"v": 1, "x": value}, option=orjson.OPT_SORT_KEYS),
    ):
        if data is not None:
            _agrees(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1e21}',
        b'{"a":1e+21}',
        b'{"a":1e-7}',
        b'{"a":5.0}',
        b'{"a":5}',
        b"[100000000000000000]",
        b'{"a":[-1234567890123456]}',
        b"1.5",
        b"-1",
        b"",
        b'{"b":1,"a":2}',
        b'{"a": 1}',
        b'{"\xc3\xa9":1,"z":2}',
        b'{"\xef\xbf\xbd":1,"\xf0\x9f\x98\x80":2}',
        b"[" * 70 + b"]" * 70,
        b'{"a":"x,1.5"}',
        b'{"a":"\\u00e9"}',
    ],
)
def test_shortcut_cases(data: bytes) -> None:
    _agrees(data)
