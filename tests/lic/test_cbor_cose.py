"""Strict deterministic CBOR and COSE_Sign1 against the public COSE vector and bad encodings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys import InvalidSignatureError, MalformedError, SigningKey
from lic import cbor, cose

RFC8032_TEST1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


def test_cose_vector_parses_verifies_and_reproduces(vector):
    v = vector("cose_sign1_eddsa.json")
    msg = bytes.fromhex(v["message_hex"])
    s = cose.parse_sign1(msg, max_size=4096)
    assert s.to_be_signed().hex() == v["to_be_signed_hex"]
    key = SigningKey.from_seed(RFC8032_TEST1)
    cose.verify_sign1(s, key.public_key)
    again = cose.sign1(s.protected, s.payload, key, s.unprotected)
    assert again == msg


def test_cose_every_byte_change_is_refused():
    # Everything protected (the public vector's unprotected kid is, by design, not signed).
    key = SigningKey.from_seed(RFC8032_TEST1)
    msg = cose.sign1({1: -8, 4: b"11", 16: "lic+cwt"}, b"This is the content.", key)
    pub = key.public_key
    for i in range(len(msg)):
        bad = bytearray(msg)
        bad[i] ^= 0x01
        with pytest.raises((MalformedError, InvalidSignatureError)):
            cose.verify_sign1(cose.parse_sign1(bytes(bad), max_size=4096), pub)


@pytest.mark.parametrize(
    ("hexdata", "why"),
    [
        ("9f01ff", "indefinite"),
        ("5f4101ff", "indefinite"),
        ("a201010102", "duplicate"),
        ("a202010101", "order"),
        ("1817", "shortest"),
        ("190017", "shortest"),
        ("0102", "trailing"),
        ("fb3ff0000000000000", "float"),
        ("f7", "simple"),
        ("f814", "simple"),
        ("c10102", "tag"),
        ("62c328", "UTF-8"),
        ("5a00010000", "truncated"),
        ("", "empty"),
        ("a1f401", "key"),
        ("81" * 20 + "00", "deeper"),
    ],
)
def test_cbor_refuses_non_deterministic_or_odd_input(hexdata, why):
    with pytest.raises(MalformedError, match=why):
        cbor.decode(bytes.fromhex(hexdata), max_size=64)


def test_cbor_size_cap():
    with pytest.raises(MalformedError, match="larger than"):
        cbor.decode(cbor.encode(b"x" * 100), max_size=64)


def test_cbor_map_keys_sort_bytewise_not_length_first():
    # RFC 8949 4.2.1: 24 (0x1818) sorts before -1 (0x20); RFC 7049 canonical would put -1 first.
    assert cbor.encode({-1: 0, 24: 0}).hex() == "a21818002000"
    assert cbor.decode(bytes.fromhex("a21818002000"), max_size=64) == {24: 0, -1: 0}
    with pytest.raises(MalformedError, match="order"):
        cbor.decode(bytes.fromhex("a22000181800"), max_size=64)


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-300, 300) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=25,
)


@given(values)
def test_cbor_round_trip_is_exact(value):
    data = cbor.encode(value)
    assert cbor.decode(data, max_size=1 << 20) == value
    assert cbor.encode(cbor.decode(data, max_size=1 << 20)) == data
