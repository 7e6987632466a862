"""keys.json_loads_strict: one prebuilt decoder, and the depth walk skipped only when the
text has no more brackets than the limit; compared with a naive depth over random values."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import MalformedError, json_loads_strict

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab[]{}"\\', max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=20,
)


def depth(v) -> int:
    if isinstance(v, dict):
        return 1 + max(map(depth, v.values()), default=0)
    if isinstance(v, list):
        return 1 + max(map(depth, v), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(value=values, limit=st.integers(0, 6))
def test_depth_limit_matches_a_naive_depth(value, limit):
    text = json.dumps(value)
    if depth(value) > limit:
        with pytest.raises(MalformedError, match="deeper"):
            json_loads_strict(text, max_size=1 << 20, max_depth=limit)
    else:
        assert json_loads_strict(text.encode(), max_size=1 << 20, max_depth=limit) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"a":1,"a":2}', "duplicate"), ('{"a":{"b":1,"b":1}}', "duplicate"), ("NaN", "NaN"),
     ("[Infinity]", "Infinity"), ("[1,]", "not valid JSON"), ("[" * 40 + "]" * 40, "deeper")],
)  # fmt: skip
def test_refusals(text, message):
    with pytest.raises(MalformedError, match=message):
        json_loads_strict(text, max_size=1 << 20)
