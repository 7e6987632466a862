"""lic.cbor.encode (cbor2 writing the bytes, our bytewise map order) against a naive reference
encoder of RFC 8949 section 4.2.1 and against our strict decoder, over the value shapes we
encode (Hypothesis): the same bytes, and decode(encode(v)) gives v back."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys.errors import MalformedError
from lic import cbor


def head(major: int, n: int) -> bytes:
    for size, info in ((0, None), (1, 24), (2, 25), (4, 26), (8, 27)):
        if info is None and n < 24:
            return bytes([major << 5 | n])
        if info is not None and n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise MalformedError("out of range")


def reference(v: Any) -> bytes:
    """Deterministic CBOR spelled out from the RFC: shortest heads, definite lengths, map
    keys sorted by their encoded bytes."""
    if v is False or v is True or v is None:
        return {False: b"\xf4", True: b"\xf5", None: b"\xf6"}[v]
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return head(3, len(v.encode())) + v.encode()
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(reference(x) for x in v)
    if isinstance(v, dict):
        items = sorted((reference(k), reference(x)) for k, x in v.items())
        return head(5, len(items)) + b"".join(k + x for k, x in items)
    assert isinstance(v, cbor.Tag)
    return head(6, v.tag) + reference(v.value)


INTS = st.integers(-(1 << 64), (1 << 64) - 1) | st.sampled_from(
    [0, 23, 24, 255, 256, 65535, 65536, -1, -24, -25, -256, -257, 2**32, -(2**32) - 1]
)
KEYS = INTS | st.text(max_size=30)
LEAVES = (
    INTS | st.binary(max_size=300) | st.text(max_size=40) | st.sampled_from([True, False, None])
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(KEYS, inner, max_size=6)
        | st.builds(cbor.Tag, st.sampled_from([18, 24, 1000]), inner)
    ),
    max_leaves=30,
)
TAGS = frozenset({18, 24, 1000})


@settings(max_examples=1500, deadline=None)
@given(VALUES)
def test_encode_equals_the_reference_and_decodes_back(value):
    data = cbor.encode(value)
    assert data == reference(value)
    assert cbor.decode(data, max_size=1 << 20, tags=TAGS) == value
    assert cbor.encode(cbor.decode(data, max_size=1 << 20, tags=TAGS)) == data


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(KEYS, LEAVES, min_size=2, max_size=8))
def test_mixed_keys_keep_the_bytewise_order_where_cbor2_canonical_differs(value):
    """cbor2's canonical mode sorts keys length-first; ours is bytewise (RFC 8949 4.2.1)."""
    assert cbor.encode(value) == reference(value)
    ordered = [cbor2.dumps(k) for k in value]
    assert list(cbor2.loads(cbor.encode(value))) == [cbor2.loads(k) for k in sorted(ordered)]


def test_cbor2_canonical_is_length_first_for_the_keys_we_name():
    value = {24: 1, -1: 2}
    assert cbor.encode(value) == bytes.fromhex("a218180120" + "02")
    assert cbor2.dumps(value, canonical=True) == bytes.fromhex("a22002181801")


@pytest.mark.parametrize(
    "bad", [1 << 64, -(1 << 64) - 1, 1.5, {True: 1}, {b"k": 1}, {(1,): 2}, bytearray(b"x"),
            cbor.Tag(1 << 64, 0), object()]
)  # fmt: skip
def test_values_outside_the_data_model_are_refused(bad):
    with pytest.raises(MalformedError):
        cbor.encode(bad)
