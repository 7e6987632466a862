"""``keys.verify_raw`` gives exactly the verdict of building a ``PublicKey`` and verifying.

The sodium backend skips the key object and leaves the key checks to libsodium, so the cases that
matter are keys ``PublicKey`` refuses: small order, non-canonical, off the curve. For the
identity key a signature R = [S]B verifies for every message when nobody checks the key (shown
against OpenSSL's raw verify below); verify_raw must refuse it on every backend.
"""

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_scalarmult_ed25519_base_noclamp

from helpers.small_order import BAD_KEYS, P
from keys import BACKENDS, InvalidSignatureError, MalformedError, PublicKey, SigningKey, verify_raw

_KEY = SigningKey.from_seed(hashlib.sha256(b"verify_raw").digest())
_MSG = b"a message"
_SIG = _KEY.sign(_MSG)


def _reference(raw: bytes, sig: bytes, msg: bytes, backend: str) -> bool:
    try:
        PublicKey(raw, backend=backend).verify(sig, msg)
    except (InvalidSignatureError, MalformedError):
        return False
    return True


def _forged_for_identity(msg: bytes) -> bytes:
    s = (987654321).to_bytes(32, "little")
    return crypto_scalarmult_ed25519_base_noclamp(s) + s


def _non_canonical() -> list[bytes]:
    """y = p .. 2^255 - 1 (every value that is not reduced), with both sign bits."""
    out = []
    for y in range(P, 2**255):
        raw = y.to_bytes(32, "little")
        out += [raw, raw[:31] + bytes([raw[31] | 0x80])]
    return out


def _off_curve(n: int) -> list[bytes]:
    out = []
    i = 0
    while len(out) < n:
        raw = hashlib.sha256(i.to_bytes(4, "big")).digest()
        raw = raw[:31] + bytes([raw[31] & 0x7F])
        try:
            PublicKey(raw)
        except MalformedError:
            out.append(raw)
        i += 1
    return out


def test_the_identity_forgery_is_real_without_key_checks():
    forged = _forged_for_identity(_MSG)
    Ed25519PublicKey.from_public_bytes(b"\x01" + bytes(31)).verify(forged, _MSG)  # accepted


@pytest.mark.parametrize("backend", BACKENDS)
def test_refused_keys_are_refused_even_with_a_forgery_that_fits_them(backend):
    forged = _forged_for_identity(_MSG)
    bad = BAD_KEYS + _non_canonical() + _off_curve(40)
    assert len(bad) == 14 + 38 + 40
    for raw in bad:
        with pytest.raises(MalformedError):
            PublicKey(raw, backend=backend)
        for sig in (forged, _SIG):
            assert verify_raw(raw, sig, _MSG, backend) is False, raw.hex()


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_lengths_and_types_are_refused(backend):
    raw = _KEY.public_key.raw
    for key in (raw[:31], raw + b"\x00", b"", bytearray(raw)):
        assert verify_raw(key, _SIG, _MSG, backend) is False  # type: ignore[arg-type]
    for sig in (_SIG[:63], _SIG + b"\x00", b""):
        assert verify_raw(raw, sig, _MSG, backend) is False


@settings(max_examples=300, deadline=None)
@given(
    key_seed=st.binary(min_size=32, max_size=32),
    msg=st.binary(max_size=80),
    where=st.sampled_from(["none", "sig", "msg", "key"]),
    pos=st.integers(0, 255),
    val=st.integers(1, 255),
)
def test_verify_raw_equals_building_the_key_and_verifying(key_seed, msg, where, pos, val):
    sk = SigningKey.from_seed(key_seed)
    raw, sig = sk.public_key.raw, sk.sign(msg)
    if where == "sig":
        sig = sig[: pos % 64] + bytes([sig[pos % 64] ^ val]) + sig[pos % 64 + 1 :]
    elif where == "msg":
        msg = msg + bytes([val])
    elif where == "key":  # often off the curve: the reference then refuses at construction
        raw = raw[: pos % 32] + bytes([raw[pos % 32] ^ val]) + raw[pos % 32 + 1 :]
    for backend in BACKENDS:
        expected = _reference(raw, sig, msg, backend)
        assert verify_raw(raw, sig, msg, backend) is expected
        assert expected is (where == "none")
