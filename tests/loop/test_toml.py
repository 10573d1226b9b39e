"""The TOML writer: what it writes, Python's tomllib reads back unchanged."""

from __future__ import annotations

import math
import tomllib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keel.errors import ConfigError
from keel.loop.toml import dumps

keys = st.text(min_size=1, max_size=8)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
values = st.one_of(scalars, st.lists(st.integers(-5, 5), max_size=3))
leaf = st.dictionaries(keys, values, max_size=4)
tables = st.recursive(
    leaf,
    lambda inner: st.dictionaries(
        keys, st.one_of(values, inner, st.lists(leaf, min_size=1, max_size=2)), max_size=4
    ),
    max_leaves=12,
)


@given(tables)
def test_tomllib_reads_back_what_dumps_writes(table: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(table)) == table


@pytest.mark.parametrize("bad", [math.inf, math.nan, None, object()])
def test_values_toml_cannot_hold_are_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="x"):
        dumps({"x": bad})
