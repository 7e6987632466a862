"""The audit's byte-exact fast path for records (ledger.entries.fast_open_record) accepts only
what the strict path (decode_record + open_entry) accepts, and returns the same fields."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.entry_examples import examples
from keys import LicError, SigningKey
from ledger.entries import decode_record, encode_record, fast_open_record, make_entry, open_entry

AUTHOR = SigningKey.from_seed(bytes(range(32)))
RECORDS = [
    encode_record(i * 977, bytes([i]) * 32, 1_767_225_600 + i * 10**6, etype, entry)
    for i, (etype, entry) in enumerate(
        (t, make_entry(t, p, AUTHOR)) for t, p in sorted(examples().items())
    )
]
# the integer heads at every size, and the largest index and time a record may hold
RECORDS += [
    encode_record(i, bytes(32), t, "grant", make_entry("grant", examples()["grant"], AUTHOR))
    for i, t in [(0, 0), (23, 24), (255, 256), (65535, 65536), (2**32, 2**63 - 1)]
]


def _strict(raw: bytes):
    """The strict path up to (not including) the payload's decoding."""
    try:
        rec = decode_record(raw)
        msg = rec.sign1()
        kid = msg.protected[4].decode("ascii")
    except (LicError, UnicodeDecodeError):
        return None
    return (
        rec.index,
        rec.prev,
        rec.time,
        rec.entry_type,
        kid,
        msg.payload,
        msg.signature,
        msg.to_be_signed(),
    )


def test_strict_and_fast_agree_with_open_entry():
    for raw in RECORDS:
        entry = open_entry(decode_record(raw))
        assert _strict(raw)[4] == entry.kid
        assert _strict(raw)[6:] == (entry.signature, entry.to_be_signed)


def _agrees(raw: bytes) -> None:
    fast = fast_open_record(raw)
    if fast is not None:
        assert fast == _strict(raw)


def test_every_valid_record_takes_the_fast_path():
    for raw in RECORDS:
        assert fast_open_record(raw) is not None
        assert fast_open_record(raw) == _strict(raw)


def test_every_single_byte_change_agrees():
    rng = random.Random(5)
    for raw in RECORDS[::3]:
        for pos in range(len(raw)):
            for value in {raw[pos] ^ 1, raw[pos] ^ 0x80, rng.randrange(256)}:
                _agrees(raw[:pos] + bytes([value]) + raw[pos + 1 :])


def test_every_truncation_and_extension_agrees():
    for raw in RECORDS[::4]:
        for end in range(len(raw)):
            assert fast_open_record(raw[:end]) is None
        for extra in (b"\x00", b"\xff", raw[-1:]):
            assert fast_open_record(raw + extra) is None


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(RECORDS), st.data())
def test_random_edits_agree(raw, data):
    edited = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(edited)))
        kind = data.draw(st.sampled_from(["set", "insert", "delete"]))
        byte = data.draw(st.integers(0, 255))
        if kind == "set" and pos < len(edited):
            edited[pos] = byte
        elif kind == "insert":
            edited[pos:pos] = bytes([byte])
        elif pos < len(edited):
            del edited[pos]
    _agrees(bytes(edited))


# -- payloads: ledger._payload.fast_decode against lic.cbor.decode ----------------------------

from ledger.entries import decode_payload  # noqa: E402
from ledger.entries._payload import MISS, fast_decode  # noqa: E402
from lic import cbor  # noqa: E402

_LEAVES = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64 - 1),
    st.binary(max_size=30),
    st.text(max_size=30),
    st.sampled_from([True, False, None, 0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32]),
)
_TREES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=26), inner, max_size=5)
    ),
    max_leaves=12,
)
_PAYLOADS = st.dictionaries(st.text(max_size=12), _TREES, max_size=8).map(cbor.encode)


def _strict_value(data: bytes):
    try:
        return repr(cbor.decode(data, max_size=1 << 20))  # repr: True and 1 differ
    except LicError:
        return None


def _payload_agrees(data: bytes) -> None:
    fast = fast_decode(data)
    if fast is not MISS:
        assert repr(fast) == _strict_value(data)
    try:
        full = repr(decode_payload(data, max_size=1 << 20))
    except LicError:
        full = None
    assert full == _strict_value(data)


@settings(max_examples=400, deadline=None)
@given(_PAYLOADS)
def test_valid_payloads_decode_alike(data):
    _payload_agrees(data)


def test_every_example_payload_takes_the_fast_path():
    for payload in examples().values():
        data = cbor.encode(payload)
        assert fast_decode(data) is not MISS
        assert repr(fast_decode(data)) == repr(cbor.decode(data, max_size=1 << 20))


@settings(max_examples=600, deadline=None)
@given(_PAYLOADS, st.data())
def test_mutated_payloads_decode_alike(data, draw):
    edited = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 3))):
        pos = draw.draw(st.integers(0, max(0, len(edited) - 1)))
        kind = draw.draw(st.sampled_from(["set", "insert", "delete"]))
        byte = draw.draw(st.integers(0, 255))
        if kind == "set" and edited:
            edited[pos] = byte
        elif kind == "insert":
            edited[pos:pos] = bytes([byte])
        elif edited:
            del edited[pos]
    _payload_agrees(bytes(edited))


def test_payload_fast_path_refuses_what_strict_refuses():
    cases = [
        b"\xa2\x61b\x01\x61a\x02",  # keys out of order
        b"\xa2\x61a\x01\x61a\x02",  # duplicate key
        b"\xa1\x61a\x18\x05",  # non-shortest integer
        b"\xa1\x61a\xf9\x3c\x00",  # float
        b"\xa1\x61a\xc1\x01",  # tag
        b"\xa1\x61a\x5f\x41\x00\xff",  # indefinite length
        b"\xa1\x61a\x61\xff",  # invalid UTF-8
        b"\xa1\x61a\x01\x00",  # trailing byte
        b"\xa1\x01\x01",  # integer key (not a payload, but CBOR: the strict path decides)
    ]
    for data in cases:
        assert fast_decode(data) is MISS, data
        _payload_agrees(data)


# -- the appender's state: apply_stored (fast paths) against apply_record (strict) ------------

from helpers.ledger_world import build  # noqa: E402
from ledger.state import (  # noqa: E402
    LedgerState,
    apply_record,
    apply_stored,
)
from ledger.store import Ledger  # noqa: E402


def _both(rows, log_key):
    fast, strict = LedgerState(log_key), LedgerState(log_key)
    found_fast, found_strict = [], []
    for raw in rows:
        try:
            rec = decode_record(raw)
        except LicError:
            assert fast_open_record(raw) is None
            continue
        found_strict.append(apply_record(strict, rec))
        found_fast.append(apply_stored(fast, raw))
    return fast, strict, found_fast, found_strict


def test_apply_stored_derives_the_same_state(ledger_at):
    """The records as either backend stores them (``ledger_at``)."""
    w = build(ledger_at("w"))
    with Ledger.open(w.path) as led:
        rows = [raw for _, raw in led.iter_raw()]
        log_key = led.log_verifier.public_key.raw
    fast, strict, found_fast, found_strict = _both(rows, log_key)
    assert found_fast == found_strict
    assert all(f == [] for f in found_fast)
    assert fast.table_rows() == strict.table_rows()
    # Records whose payload bytes were changed: the same findings and the same state.
    rng = random.Random(11)
    edited = []
    for raw in rows:
        b = bytearray(raw)
        pos = rng.randrange(len(b) - 120, len(b) - 66)  # inside the payload, mostly
        b[pos] ^= 1 << rng.randrange(8)
        edited.append(bytes(b))
    fast, strict, found_fast, found_strict = _both(edited, log_key)
    assert found_fast == found_strict
    assert sum(1 for f in found_fast if f) >= 3  # the edits did break some entries
    assert fast.table_rows() == strict.table_rows()


# -- the append path's entry check: _validate_entry against check_entry ----------------------

from ledger.entries import check_entry  # noqa: E402
from ledger.entries import check_entry_unparsed as _validate_entry  # noqa: E402

ENTRIES = [(t, make_entry(t, p, AUTHOR)) for t, p in sorted(examples().items())]
# payloads of 256 bytes and more: a two-byte length head
_LONG = {**examples()["appeal.decide"], "rationale": "r" * 400}
ENTRIES.append(("appeal.decide", make_entry("appeal.decide", _LONG, AUTHOR)))
RECORDS.append(encode_record(7, bytes(32), 1_790_000_000, *ENTRIES[-1]))


def _same_verdict(etype: str, entry: bytes) -> None:
    try:
        check_entry(etype, entry)
        strict = None
    except LicError as e:
        strict = type(e)
    try:
        _validate_entry(etype, entry)
        fast = None
    except LicError as e:
        fast = type(e)
    assert fast == strict, (etype, entry.hex())


def test_validate_entry_agrees_with_check_entry_on_every_byte_change():
    rng = random.Random(8)
    for etype, entry in ENTRIES[::2]:
        _same_verdict(etype, entry)
        for pos in range(len(entry)):
            for value in {entry[pos] ^ 1, entry[pos] ^ 0x40, rng.randrange(256)}:
                _same_verdict(etype, entry[:pos] + bytes([value]) + entry[pos + 1 :])
        for end in range(0, len(entry), 7):
            _same_verdict(etype, entry[:end])
        _same_verdict(etype, entry + b"\x00")
        other = "grant" if etype != "grant" else "revoke"
        _same_verdict(other, entry)  # typ differs from the type it is appended as


def test_long_payload_record_and_entry_agree_on_every_byte_change():
    raw, (etype, entry) = RECORDS[-1], ENTRIES[-1]
    assert fast_open_record(raw) is not None and fast_open_record(raw) == _strict(raw)
    for pos in range(len(raw)):
        _agrees(raw[:pos] + bytes([raw[pos] ^ 1]) + raw[pos + 1 :])
    for pos in range(len(entry)):
        _same_verdict(etype, entry[:pos] + bytes([entry[pos] ^ 1]) + entry[pos + 1 :])
