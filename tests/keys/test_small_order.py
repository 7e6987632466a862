"""Small-order and non-canonical Ed25519 public keys are refused wherever a key enters.

The reference list is libsodium's blocklist (ed25519_ref10.c, ``ge25519_has_small_order``),
copied here by hand as an independent source: seven y-encodings, compared ignoring the sign bit,
so each stands for two 32-byte encodings (tests/helpers/small_order.py holds it). It covers the
canonical encodings of all 8 points of order dividing 8 and the non-canonical ones (y = p, p+1
and the negative-zero sign variants).
"""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from nacl.bindings import crypto_core_ed25519_is_valid_point

from helpers.small_order import BAD_KEYS, LIBSODIUM_BLOCKLIST, P
from keys import (
    SMALL_ORDER_ENCODINGS,
    MalformedError,
    PublicKey,
    TrustEntry,
    TrustStore,
    b64url_encode,
    load_public_key,
)

WHY = "small order|non-canonical"  # refused for the right reason, not by accident


def _spki_pem(raw: bytes) -> bytes:
    der = bytes.fromhex("302a300506032b6570032100") + raw
    b64 = base64.b64encode(der).decode()
    return f"-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n".encode()


def _vkey(name: str, raw: bytes) -> str:
    # Built by hand with a correct hash, so that only the key itself is wrong.
    key_hash = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]
    blob = base64.b64encode(b"\x01" + raw).decode()
    return f"{name}+{key_hash.hex()}+{blob}"


def test_blocklist_is_fourteen_distinct_encodings_libsodium_refuses():
    assert len(set(BAD_KEYS)) == 14
    for raw in BAD_KEYS:
        assert not crypto_core_ed25519_is_valid_point(raw)


def test_our_small_order_list_is_inside_the_blocklist():
    assert len(SMALL_ORDER_ENCODINGS) == 8
    assert set(SMALL_ORDER_ENCODINGS) <= set(BAD_KEYS)


def test_cryptography_itself_accepts_them():
    # Why the check exists: the cryptography package loads small-order keys without complaint.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(bytes.fromhex(LIBSODIUM_BLOCKLIST[1]))


@pytest.mark.parametrize("raw", BAD_KEYS, ids=lambda r: r.hex()[:8] + r.hex()[-2:])
def test_refused_on_every_import_path(raw):
    with pytest.raises(MalformedError, match=WHY):
        PublicKey.from_raw(raw)
    with pytest.raises(MalformedError, match=WHY):
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)})
    with pytest.raises(MalformedError, match=WHY):
        PublicKey.from_pem(_spki_pem(raw))
    with pytest.raises(MalformedError, match=WHY):
        PublicKey.from_verifier_key(_vkey("example.com/log", raw))
    jwk = json.dumps({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}).encode()
    for data in (raw, jwk, _spki_pem(raw), _vkey("w", raw).encode()):
        with pytest.raises(MalformedError, match=WHY):
            load_public_key(data)


def test_refused_in_a_trust_store_file():
    good = PublicKey.from_raw(
        bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    )
    doc = TrustStore([TrustEntry(good, "issuer", "a")]).to_json()
    for raw in BAD_KEYS:
        doc["keys"][0]["public_key"]["x"] = b64url_encode(raw)
        with pytest.raises(MalformedError):
            TrustStore.loads(json.dumps(doc).encode())


def test_refused_by_lic_trust_add(tmp_path, lic_cli):
    run = lic_cli.with_env(LIC_HOME=tmp_path / "home")
    for i, raw in enumerate(BAD_KEYS):
        jwk = json.dumps({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}).encode()
        for j, data in enumerate((raw, jwk, _spki_pem(raw), _vkey("w", raw).encode())):
            f = tmp_path / f"k{i}-{j}"
            f.write_bytes(data)
            res = run("trust", "add", f, "--role", "witness", "--name", f"w{i}-{j}", code=None)
            assert res.exit_code == 2, res.output
            assert "Traceback" not in res.output
            assert "small order" in res.output or "non-canonical" in res.output
    assert not (tmp_path / "home" / "trust.json").exists()


def test_every_non_canonical_y_refused():
    # y in [p, 2^255): 19 values, each with both signs; none may be accepted.
    for y in range(P, 2**255):
        for sign in (0, 1):
            raw = (y | (sign << 255)).to_bytes(32, "little")
            with pytest.raises(MalformedError):
                PublicKey.from_raw(raw)


def test_random_valid_keys_accepted_like_libsodium():
    # Positive control: fresh keys are accepted by us and are valid points for libsodium.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    for _ in range(50):
        raw = (
            Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        assert crypto_core_ed25519_is_valid_point(raw)
        assert PublicKey.from_raw(raw).raw == raw


def test_sodium_through_pynacls_public_call_gives_the_same_answers(monkeypatch):
    """Where PyNaCl's libsodium binding cannot be reached directly, its public
    crypto_sign_open is used; both accept a good signature and refuse a changed one."""
    from keys import InvalidSignatureError, SigningKey, _ed25519

    key = SigningKey.from_seed(bytes(range(32)))
    pub = key.public_key.with_backend("sodium")
    msg = b"message" * 50
    sig = key.sign(msg)
    for direct in (_ed25519._sodium_lib_open, None):
        monkeypatch.setattr(_ed25519, "_sodium_lib_open", direct)
        checks = direct is not None and _ed25519._sodium_checks_itself()
        monkeypatch.setattr(_ed25519, "_SODIUM_CHECKS_ITSELF", checks)
        pub.verify(sig, msg)
        for i in (0, 31, 40, 63):
            bad = bytearray(sig)
            bad[i] ^= 1
            with pytest.raises(InvalidSignatureError):
                pub.verify(bytes(bad), msg)
        with pytest.raises(InvalidSignatureError):
            pub.verify(sig, msg + b"!")
