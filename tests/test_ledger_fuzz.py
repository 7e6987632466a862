"""Every ledger parser of outside input turns any bytes into a value or one of our errors,
never another exception (random bytes and random mutations of valid inputs)."""

import contextlib
import random

from conftest import load_vector
from hypothesis import given, settings
from hypothesis import strategies as st

import ledger
from keys import LicError

V = load_vector("ledger_rfc8032.json")
LOG = ledger.Ed25519NoteVerifier.from_vkey(V["log_vkey"])
SEEDS = [
    bytes.fromhex(V["records"][0]["record_hex"]),
    V["checkpoint_note"].encode(),
    V["receipt"].encode(),
]


def _all_parsers(data: bytes) -> None:
    for f in (
        ledger.decode_record,
        ledger.parse_note,
        ledger.parse_receipt,
        lambda d: ledger.open_checkpoint(d, LOG),
        lambda d: ledger.verify_receipt(d, LOG),
        lambda d: ledger.parse_checkpoint(d.decode("utf-8", "replace")),
    ):
        with contextlib.suppress(LicError):
            f(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data):
    _all_parsers(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2), st.integers(0, 2**32), st.integers(1, 8))
def test_random_mutations_of_valid_inputs(which, seed, edits):
    rng = random.Random(seed)
    data = bytearray(SEEDS[which])
    for _ in range(edits):
        op = rng.randrange(3)
        i = rng.randrange(len(data) + 1)
        if op == 0 and i < len(data):
            data[i] = rng.randrange(256)
        elif op == 1:
            data[i:i] = bytes([rng.randrange(256)])
        elif i < len(data):
            del data[i]
    _all_parsers(bytes(data))
