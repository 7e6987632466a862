"""Published vectors reproduced exactly: RFC 8032, RFC 8037 (JWK, thumbprint, JWS), C2SP note.

Also: both verification backends agree on every vector and on mutated signatures and messages.
"""

import base64
import hashlib
import json

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey

from keys import (
    BACKENDS,
    InvalidSignatureError,
    MalformedError,
    PublicKey,
    SigningKey,
    b64url_decode,
    b64url_encode,
    json_dumps_canonical,
    load_public_key,
)


def _cases(vector):
    return vector("ed25519_rfc8032.json")["cases"]


# --- RFC 8032 section 7.1 ----------------------------------------------------------------
def test_rfc8032_public_keys_and_signatures_reproduce(vector):
    cases = _cases(vector)
    assert len(cases) == 3
    for case in cases:
        key = SigningKey.from_seed(bytes.fromhex(case["secret_hex"]))
        assert key.public_key.raw.hex() == case["public_hex"]
        msg = bytes.fromhex(case["message_hex"])
        assert key.sign(msg).hex() == case["signature_hex"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_rfc8032_signatures_verify_on_each_backend(vector, backend):
    for case in _cases(vector):
        pub = PublicKey.from_raw(bytes.fromhex(case["public_hex"])).with_backend(backend)
        msg = bytes.fromhex(case["message_hex"])
        sig = bytes.fromhex(case["signature_hex"])
        pub.verify(sig, msg)
        with pytest.raises(InvalidSignatureError):
            pub.verify(sig, msg + b"\x00")


def test_both_backends_are_available():
    # The test extra installs PyNaCl: the agreement tests below must compare two backends.
    assert BACKENDS == ("cryptography", "sodium")


# --- RFC 8037 Appendix A --------------------------------------------------------------------
def test_rfc8037_jwk_and_thumbprint(vector):
    v = vector("jose_rfc8037.json")
    seed = b64url_decode(v["private_jwk"]["d"])
    key = SigningKey.from_seed(seed)
    pub = key.public_key
    assert pub.jwk() == v["public_jwk"]
    assert json_dumps_canonical(pub.jwk()).decode() == v["thumbprint_input"]
    assert pub.thumbprint == v["thumbprint_sha256_b64url"]
    # Independently: SHA-256 of the RFC's thumbprint input, and joserfc's thumbprint.
    digest = hashlib.sha256(v["thumbprint_input"].encode()).digest()
    assert b64url_encode(digest) == v["thumbprint_sha256_b64url"]
    assert OKPKey.import_key(v["public_jwk"]).thumbprint() == v["thumbprint_sha256_b64url"]
    assert PublicKey.from_jwk(v["public_jwk"]) == pub
    assert load_public_key(json.dumps(v["public_jwk"]).encode()) == pub


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # joserfc: RFC 9864 naming only
def test_rfc8037_jws_compact_reproduces_exactly(vector):
    v = vector("jose_rfc8037.json")
    key = SigningKey.from_seed(b64url_decode(v["private_jwk"]["d"]))
    header = b64url_encode(b'{"alg":"EdDSA"}')
    payload = b64url_encode(v["jws_payload"].encode())
    signing_input = f"{header}.{payload}"
    ours = f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"
    assert ours == v["jws_compact"]
    for backend in BACKENDS:
        sig = b64url_decode(v["jws_compact"].rsplit(".", 1)[1])
        key.public_key.with_backend(backend).verify(sig, signing_input.encode())
    # Two independent JOSE implementations accept the RFC's JWS with our exported key.
    okp = OKPKey.import_key(key.public_key.jwk())
    assert jws.deserialize_compact(v["jws_compact"], okp, algorithms=["EdDSA"]).payload == (
        v["jws_payload"].encode()
    )
    pyjwt_key = jwt.PyJWK(key.public_key.jwk(), algorithm="EdDSA").key
    assert jwt.api_jws.decode(v["jws_compact"], pyjwt_key, algorithms=["EdDSA"]) == (
        v["jws_payload"].encode()
    )


# --- C2SP signed-note -----------------------------------------------------------------------
def _split_note(note: str) -> tuple[bytes, str, bytes]:
    text, sigs = note.split("\n\n", 1)
    line = sigs.rstrip("\n")
    assert line.startswith("\u2014 ")
    name, b64 = line[2:].split(" ")
    return (text + "\n").encode(), name, base64.b64decode(b64, validate=True)


def test_c2sp_verifier_key_parses_and_reproduces(vector):
    v = vector("signed_note_c2sp.json")
    name, pub = PublicKey.from_verifier_key(v["verifier_key"])
    assert name == "example.com/foo"
    assert pub.verifier_key(name) == v["verifier_key"]
    assert pub.note_key_hash(name).hex() == "530d903a"
    # Independently, from the rule in the vector file.
    blob = base64.b64decode(v["verifier_key"].split("+", 2)[2])
    expect = hashlib.sha256(name.encode() + b"\n" + blob).digest()[:4]
    assert pub.note_key_hash(name) == expect
    assert load_public_key(v["verifier_key"].encode() + b"\n") == pub


@pytest.mark.parametrize("backend", BACKENDS)
def test_c2sp_example_note_signature_verifies(vector, backend):
    v = vector("signed_note_c2sp.json")
    assert v["expect"] == "verifies"
    name, pub = PublicKey.from_verifier_key(v["verifier_key"])
    msg, sig_name, blob = _split_note(v["note"])
    assert sig_name == name
    assert blob[:4] == pub.note_key_hash(name)
    pub.with_backend(backend).verify(blob[4:], msg)
    with pytest.raises(InvalidSignatureError):
        pub.with_backend(backend).verify(blob[4:], msg.replace(b"example", b"Example"))


def test_verifier_key_every_proper_substring_refused(vector):
    vkey = vector("signed_note_c2sp.json")["verifier_key"]
    subs = {vkey[i:j] for i in range(len(vkey)) for j in range(i, len(vkey) + 1)} - {vkey}
    for s in subs:
        with pytest.raises(MalformedError):
            PublicKey.from_verifier_key(s)


def test_verifier_key_every_single_byte_change_refused(vector):
    vkey = vector("signed_note_c2sp.json")["verifier_key"].encode()
    tried = 0
    for i in range(len(vkey)):
        for b in range(256):
            if b == vkey[i]:
                continue
            bad = vkey[:i] + bytes([b]) + vkey[i + 1 :]
            with pytest.raises(MalformedError):
                load_public_key(bad)
            tried += 1
    assert tried == len(vkey) * 255


def test_verifier_key_with_tampered_hash_refused(vector):
    vkey = vector("signed_note_c2sp.json")["verifier_key"]
    name, hexhash, b64 = vkey.split("+")
    for i in range(len(hexhash)):
        for c in "0123456789abcdef":
            if c == hexhash[i]:
                continue
            bad = f"{name}+{hexhash[:i]}{c}{hexhash[i + 1 :]}+{b64}"
            with pytest.raises(MalformedError, match="key hash does not match"):
                PublicKey.from_verifier_key(bad)
    # The right hash under another name is refused too: the hash binds the name.
    with pytest.raises(MalformedError, match="key hash does not match"):
        PublicKey.from_verifier_key(f"example.com/bar+{hexhash}+{b64}")


def test_verifier_key_roundtrip_with_plus_in_base64():
    # base64 may contain '+': the name cannot, so the key splits from the left.
    for i in range(64):
        pub = SigningKey.from_seed(hashlib.sha256(bytes([i])).digest()).public_key
        vkey = pub.verifier_key("log.example/1")
        assert PublicKey.from_verifier_key(vkey) == ("log.example/1", pub)


# --- backend agreement on mutations ----------------------------------------------------------
_KEY = SigningKey.from_seed(bytes(range(32)))
_PUBS = [_KEY.public_key.with_backend(b) for b in BACKENDS]


def _outcomes(sig: bytes, msg: bytes) -> list[bool]:
    out = []
    for pub in _PUBS:
        try:
            pub.verify(sig, msg)
            out.append(True)
        except InvalidSignatureError:
            out.append(False)
    return out


def test_backends_agree_on_every_bit_flip_of_a_vector(vector):
    case = _cases(vector)[1]
    pubs = [PublicKey.from_raw(bytes.fromhex(case["public_hex"])).with_backend(b) for b in BACKENDS]
    sig = bytes.fromhex(case["signature_hex"])
    msg = bytes.fromhex(case["message_hex"])
    for i in range(len(sig) * 8):
        bad = bytearray(sig)
        bad[i // 8] ^= 1 << (i % 8)
        for pub in pubs:
            with pytest.raises(InvalidSignatureError):
                pub.verify(bytes(bad), msg)


@settings(max_examples=150, deadline=None)
@given(
    msg=st.binary(max_size=64),
    pos=st.integers(min_value=0, max_value=63),
    val=st.integers(min_value=0, max_value=255),
    mutate_msg=st.booleans(),
)
def test_backends_agree_on_mutated_signatures_and_messages(msg, pos, val, mutate_msg):
    sig = _KEY.sign(msg)
    assert _outcomes(sig, msg) == [True] * len(BACKENDS)
    if mutate_msg:
        msg2 = (
            msg + bytes([val])
            if not msg
            else msg[: pos % len(msg)] + bytes([val]) + msg[pos % len(msg) + 1 :]
        )
        sig2 = sig
    else:
        msg2 = msg
        sig2 = sig[:pos] + bytes([val]) + sig[pos + 1 :]
    result = _outcomes(sig2, msg2)
    assert len(set(result)) == 1
    assert result[0] == (sig2 == sig and msg2 == msg)


def test_backends_agree_on_non_canonical_and_small_order_signature_parts():
    msg = b"edge cases"
    sig = _KEY.sign(msg)
    l_order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(sig[32:], "little")
    cases = [
        sig[:32] + (s + l_order).to_bytes(32, "little"),  # S + L: same value mod L, refused
        sig[:32] + (2**256 - 1).to_bytes(32, "little"),
        bytes(32) + sig[32:],  # small-order R
        b"\x01" + bytes(31) + sig[32:],
        sig[:63],
        sig + b"\x00",
        b"",
    ]
    for bad in cases:
        assert _outcomes(bad, msg) == [False] * len(BACKENDS)


_L_ORDER = 2**252 + 27742317777372353535851937790883648493
_R = _KEY.sign(b"m")[:32]  # an R of large order


@settings(max_examples=3000, deadline=None)
@given(
    st.integers(0, 2**256 - 1)
    | st.integers(_L_ORDER - 2**130, _L_ORDER + 2**130)
    | st.integers(0, 2**8 - 1).map(lambda top: top << 248)
    | st.integers(-(2**8), 2**8).map(lambda d: _L_ORDER + d)
)
def test_s_range_check_by_top_byte_equals_the_full_comparison(s):
    """The signature check reads S's top byte first; it refuses exactly the S >= L."""
    from keys import _ed25519

    sig = bytes(32) + s.to_bytes(32, "little")
    assert _ed25519._s_not_below_l(sig) is (s >= _L_ORDER)
    refused = s >= _L_ORDER
    try:
        _ed25519.check_signature_encoding(_R + sig[32:])
    except InvalidSignatureError:
        assert refused
    else:
        assert not refused


def test_every_s_plus_multiple_of_l_is_refused_and_s_accepted():
    """PublicKey.verify's inline copy of the S check: for valid signatures, S + k*L (every
    k that fits in 32 bytes, top bytes 0x10 to 0xff) is refused, S itself accepted."""
    for i in range(20):
        msg = b"m%d" % i
        sig = _KEY.sign(msg)
        s = int.from_bytes(sig[32:], "little")
        for pub in _PUBS:
            pub.verify(sig, msg)
            k = 1
            while s + k * _L_ORDER < 2**256:
                bad = sig[:32] + (s + k * _L_ORDER).to_bytes(32, "little")
                with pytest.raises(InvalidSignatureError):
                    pub.verify(bad, msg)
                k += 1
            assert k >= 15


def test_backends_agree_on_every_small_order_r_encoding():
    # R from libsodium's blocklist (tests/helpers/small_order.py), canonical and not, with the
    # S of a valid signature: every form is refused by both backends.
    from helpers.small_order import BAD_KEYS

    msg = b"small-order R"
    sig = _KEY.sign(msg)
    for r in BAD_KEYS:
        assert _outcomes(r + sig[32:], msg) == [False] * len(BACKENDS)


def test_a_small_order_r_forgery_that_openssl_accepts_is_refused_by_both_backends(
    monkeypatch,
):
    """``forgeries``: R the identity and S = k*a satisfy the verification equation, so OpenSSL
    (which does not refuse a small-order R) accepts the signature; and S + L is the same
    scalar. Both backends refuse both, whether libsodium's own checks are relied on (as the
    import-time probe found) or ours run before it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from keys import _ed25519

    pub, good, (s_plus_l, identity_r) = _ed25519.forgeries()
    raw_openssl = Ed25519PublicKey.from_public_bytes(pub)
    raw_openssl.verify(good, b"")
    raw_openssl.verify(identity_r, b"")  # the forgery is real: plain OpenSSL takes it
    with pytest.raises(InvalidSignature):
        raw_openssl.verify(s_plus_l, b"")
    assert _ed25519._SODIUM_CHECKS_ITSELF is ("sodium" in BACKENDS)
    for relied_on in (True, False):
        monkeypatch.setattr(_ed25519, "_SODIUM_CHECKS_ITSELF", relied_on and "sodium" in BACKENDS)
        for backend in BACKENDS:
            key = PublicKey(pub, backend=backend)
            key.verify(good, b"")
            assert _ed25519.verify_raw(pub, good, b"", backend)
            for bad in (s_plus_l, identity_r):
                with pytest.raises(InvalidSignatureError):
                    key.verify(bad, b"")
                with pytest.raises(InvalidSignatureError):
                    key.verify(bad, b"tail", 0)
                assert not _ed25519.verify_raw(pub, bad, b"", backend)


def test_verify_with_a_length_checks_the_prefix_only():
    """``verify(sig, data, n)`` is ``verify(sig, data[:n])`` on both backends; a length
    outside the data is refused."""
    msg = b"header.payload"
    sig = _KEY.sign(msg)
    for pub in _PUBS:
        pub.verify(sig, msg + b".signature", len(msg))
        pub.verify(sig, msg, len(msg))
        for data, n in ((msg + b".x", len(msg) + 1), (msg, len(msg) - 1), (b"x" + msg, len(msg))):
            with pytest.raises(InvalidSignatureError):
                pub.verify(sig, data, n)
        for n in (-1, len(msg) + 1, 10**9):
            with pytest.raises(InvalidSignatureError, match="no such message"):
                pub.verify(sig, msg, n)


def test_public_api_is_exported():
    import keys

    contract = [
        "Keyring", "TrustEntry", "TrustStore", "read_passphrase", "load_public_key",
        "PublicKey", "SigningKey", "LicError", "MalformedError", "KeyStoreError",
        "UntrustedKeyError", "InvalidSignatureError",
    ]  # fmt: skip
    for name in contract:
        assert name in keys.__all__
        assert getattr(keys, name) is not None
    assert sorted(keys.__all__) == sorted(set(keys.__all__))
    for name in keys.__all__:
        getattr(keys, name)


def test_thumbprint_equals_the_canonical_json_jwk_hash():
    import random

    from keys import b64url_encode, jwk_thumbprint

    rng = random.Random(3)
    for raw in [bytes(32), b"\xff" * 32, *(rng.randbytes(32) for _ in range(200))]:
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
        expected = b64url_encode(hashlib.sha256(json_dumps_canonical(jwk)).digest())
        assert jwk_thumbprint(raw) == expected
