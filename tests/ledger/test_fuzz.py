"""Every ledger parser of outside input turns any bytes into a value or one of our errors,
never another exception (random bytes and random mutations of valid inputs)."""

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.paths import load_vector
from keys import LicError
from ledger.entries import decode_record, verify_receipt
from ledger.tlog import (
    Ed25519NoteVerifier,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    parse_receipt,
)

V = load_vector("ledger_rfc8032.json")
LOG = Ed25519NoteVerifier.from_vkey(V["log_vkey"])
SEEDS = [
    bytes.fromhex(V["records"][0]["record_hex"]),
    V["checkpoint_note"].encode(),
    V["receipt"].encode(),
]


def _all_parsers(data: bytes) -> None:
    for f in (
        decode_record,
        parse_note,
        parse_receipt,
        lambda d: open_checkpoint(d, LOG),
        lambda d: verify_receipt(d, LOG),
        lambda d: parse_checkpoint(d.decode("utf-8", "replace")),
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
