"""Ed25519 public and signing keys, key ids, and the verification backend. Pure; no file I/O.

Every public key that enters the program goes through ``PublicKey.from_raw``, which refuses
non-canonical encodings and points of small order (the ``cryptography`` package accepts both).
Signatures are checked for length, S < L and a small-order R before OpenSSL sees them (it
accepts a small-order R); libsodium makes the last two checks itself, which is verified at
import (``_sodium_checks_itself``), else it gets ours too. So the OpenSSL and libsodium
backends give the same answer on every input.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._codec import b64std_decode, b64std_encode, b64url_decode, b64url_encode
from .errors import InvalidSignatureError, KeyStoreError, MalformedError

# --- Edwards25519 arithmetic, only for load-time checks -------------------------------------
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_L = 2**252 + 27742317777372353535851937790883648493


def _decode_point(enc: bytes) -> tuple[int, int]:
    """Decode a point per RFC 8032 5.1.3, refusing every non-canonical encoding."""
    y = int.from_bytes(enc, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        raise MalformedError("Ed25519 public key: non-canonical encoding (y >= p)")
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P != 0:
            raise MalformedError("Ed25519 public key: not a point on the curve")
    if x == 0 and sign:
        raise MalformedError("Ed25519 public key: non-canonical encoding (negative zero x)")
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return x3, y3


def _has_small_order(point: tuple[int, int]) -> bool:
    q = point
    for _ in range(3):  # [8]P
        q = _add(q, q)
    return q == (0, 1)


def _encode_point(x: int, y: int) -> bytes:
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _small_order_encodings() -> frozenset[bytes]:
    """Canonical encodings of the 8 points of order dividing 8."""
    out = set()
    for y in (0, 1, _P - 1):
        for sign in (0, 1):
            try:
                x, yy = _decode_point((y | (sign << 255)).to_bytes(32, "little"))
            except MalformedError:
                continue
            out.add(_encode_point(x, yy))
    # The order-8 points: halve the order-4 point (x, 0) by solving 2Q = (sqrt(-1), 0).
    y8 = 0x05FC536D880238B13933C6D305ACDFD5F098EFF289F4C345B027B2C28F95E826
    for y in (y8, _P - y8):
        for sign in (0, 1):
            x, yy = _decode_point((y | (sign << 255)).to_bytes(32, "little"))
            if _has_small_order((x, yy)):
                out.add(_encode_point(x, yy))
    return frozenset(out)


SMALL_ORDER_ENCODINGS = _small_order_encodings()
assert len(SMALL_ORDER_ENCODINGS) == 8

# --- verification backend --------------------------------------------------------------------
_sodium_open: Any = None
try:  # libsodium through PyNaCl: optional, about twice as fast as OpenSSL for verification.
    from nacl.bindings import crypto_sign_open as _sodium_open
    from nacl.exceptions import BadSignatureError as _SodiumBad
except ImportError:  # pragma: no cover - depends on the environment
    pass
_sodium_lib_open: Any = None
_sodium_null: Any = None
if _sodium_open is not None:
    try:  # libsodium's crypto_sign_open itself, without PyNaCl's output buffer and its copy:
        # given NULL for the message out-pointers it only verifies (0 valid, -1 not).
        from nacl._sodium import ffi as _ffi
        from nacl._sodium import lib as _lib

        _sodium_null = _ffi.NULL
        _sodium_lib_open = _lib.crypto_sign_open
    except (ImportError, AttributeError):  # pragma: no cover - depends on the PyNaCl build
        _sodium_lib_open = None


def forgeries(seed: bytes = bytes(range(32))) -> tuple[bytes, bytes, tuple[bytes, bytes]]:
    """(public key, a valid signature of the empty message, and two signatures of it that a
    strict verifier refuses: the valid one with L added to S, the same scalar mod L; and one
    whose R is the identity, a point of small order, with S = k*a: [S]B = R + [k]A holds, so
    a verifier that does not refuse a small-order R accepts it, as OpenSSL does)."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    pub = key.public_key().public_bytes_raw()
    sig = key.sign(b"")
    s_plus_l = sig[:32] + (int.from_bytes(sig[32:], "little") + _L).to_bytes(32, "little")
    h = hashlib.sha512(seed).digest()
    a = (int.from_bytes(h[:32], "little") & ((1 << 254) - 8)) | (1 << 254)  # RFC 8032 5.1.5
    r = (1).to_bytes(32, "little")  # the identity, (0, 1)
    k = int.from_bytes(hashlib.sha512(r + pub).digest(), "little") % _L
    return pub, sig, (s_plus_l, r + (k * a % _L).to_bytes(32, "little"))


def _sodium_checks_itself() -> bool:
    """Whether this libsodium refuses S >= L and a small-order R itself (builds without
    ED25519_COMPAT do, as part of verification), tried on ``forgeries``: then the sodium
    backend skips our copies of those checks."""
    if _sodium_lib_open is None:
        return False
    pub, good, bad = forgeries()
    opens = [not _sodium_lib_open(_sodium_null, _sodium_null, sig, 64, pub) for sig in (good, *bad)]
    return opens == [True, False, False]


def _sodium_check(sm: bytes, pk: bytes) -> bool:
    """PyNaCl's public call, where its libsodium binding cannot be reached directly."""
    try:
        _sodium_open(sm, pk)
    except _SodiumBad:
        return False
    return True


_SODIUM_CHECKS_ITSELF = _sodium_checks_itself()

BACKENDS: tuple[str, ...] = (
    ("cryptography", "sodium") if _sodium_open is not None else ("cryptography",)
)
_env_backend = os.environ.get("LIC_ED25519_BACKEND", "")
DEFAULT_BACKEND = _env_backend if _env_backend in BACKENDS else BACKENDS[-1]


def check_signature_encoding(signature: bytes) -> None:
    """Length 64, S < L, R not of small order. Raises InvalidSignatureError."""
    if not _encoding_ok(signature):
        raise InvalidSignatureError("invalid signature")


def _s_not_below_l(signature: bytes) -> bool:
    """S >= L for a 64-byte signature. L = 2**252 + (a 125-bit number), so S's top byte
    decides alone unless it is 0x10: below, S < 2**252 < L; above, S > 0x11 * 2**248 > L."""
    top = signature[63]
    return top >= 0x10 and (top > 0x10 or int.from_bytes(signature[32:], "little") >= _L)


def _encoding_ok(signature: bytes) -> bool:
    """Length 64, S < L, R not of small order (``PublicKey.verify`` has it inline)."""
    return (
        len(signature) == 64
        and not _s_not_below_l(signature)
        and signature[:32] not in SMALL_ORDER_ENCODINGS
    )


def _sodium_valid(raw: bytes, signature: bytes, message: bytes) -> bool:
    """libsodium's verdict, after our encoding checks where libsodium does not make them
    itself (``_SODIUM_CHECKS_ITSELF``). libsodium also refuses a public key
    that is non-canonical, off the curve or of small order (sign bit ignored), which are the
    checks ``PublicKey`` makes at construction; ``verify_raw`` relies on that."""
    if len(signature) != 64 or not (_SODIUM_CHECKS_ITSELF or _encoding_ok(signature)):
        return False
    if _sodium_lib_open is not None:
        return not _sodium_lib_open(
            _sodium_null, _sodium_null, signature + message, len(message) + 64, raw
        )
    return _sodium_check(signature + message, raw)


def verify_raw(raw: bytes, signature: bytes, message: bytes, backend: str | None = None) -> bool:
    """True exactly when ``PublicKey(raw, backend=backend).verify(signature, message)`` would
    succeed, without building the key object when the backend does not need one. For keys
    used once (an anonymous reporter's), building it would cost more than the check: its
    point decoding in Python, and an OpenSSL key object the sodium backend never uses."""
    if (backend or DEFAULT_BACKEND) == "sodium" and isinstance(raw, bytes) and len(raw) == 32:
        return _sodium_valid(raw, signature, message)
    try:
        PublicKey(raw, backend=backend).verify(signature, message)
    except (InvalidSignatureError, MalformedError):
        return False
    return True


class PublicKey:
    """A validated Ed25519 public key. Construct with the ``from_*`` class methods."""

    __slots__ = ("_backend", "_crypto", "_sodium", "_thumbprint", "raw")

    raw: bytes

    def __init__(self, raw: bytes, *, backend: str | None = None) -> None:
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise MalformedError("Ed25519 public key: must be exactly 32 bytes")
        _decode_point(raw)  # canonical and on the curve, or raises
        # Canonical encodings are unique, so a small-order point can only be one of the 8
        # canonical small-order encodings (derived, and checked, at import time).
        if raw in SMALL_ORDER_ENCODINGS:
            raise MalformedError("Ed25519 public key: point of small order")
        self.raw = raw
        self._backend = backend or DEFAULT_BACKEND
        if self._backend not in BACKENDS:
            raise KeyStoreError(f"Ed25519 backend {self._backend!r} is not available")
        self._sodium = self._backend == "sodium"
        self._crypto = Ed25519PublicKey.from_public_bytes(raw)
        self._thumbprint: str | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        """The key with these 32 raw bytes; small-order and non-canonical encodings are refused."""
        return cls(bytes(raw))

    @classmethod
    def from_jwk(cls, jwk: Any) -> PublicKey:
        """From an RFC 8037 OKP JWK with exactly the members kty, crv, x (and optional kid)."""
        if not isinstance(jwk, dict):
            raise MalformedError("JWK: must be a JSON object")
        extra = set(jwk) - {"kty", "crv", "x", "kid"}
        if extra:
            raise MalformedError(f"JWK: unexpected members {sorted(extra)}")
        for name in ("kty", "crv", "x"):
            if name not in jwk:
                raise MalformedError(f"JWK: missing member {name!r}")
            if not isinstance(jwk[name], str):
                raise MalformedError(f"JWK: member {name!r} must be a string")
        if jwk["kty"] != "OKP" or jwk["crv"] != "Ed25519":
            raise MalformedError("JWK: only kty OKP with crv Ed25519 is accepted")
        key = cls(b64url_decode(jwk["x"], "JWK x"))
        if "kid" in jwk and jwk["kid"] != key.thumbprint:
            raise MalformedError("JWK: kid does not equal the key's RFC 7638 thumbprint")
        return key

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        """From a SubjectPublicKeyInfo PEM; refuses any other algorithm."""
        from cryptography.hazmat.primitives import serialization  # PEM only: kept off start-up

        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise MalformedError("public key PEM: not a valid SubjectPublicKeyInfo PEM") from e
        if not isinstance(key, Ed25519PublicKey):
            raise MalformedError(
                f"public key PEM: {type(key).__name__.removeprefix('_')} given; only Ed25519"
            )
        return cls(key.public_bytes_raw())

    @classmethod
    def from_verifier_key(cls, vkey: str, *, cosignature: bool = False) -> tuple[str, PublicKey]:
        """Parse a C2SP note verifier key ``name+hexhash+base64(0x01||pub)``; with
        ``cosignature``, a C2SP tlog-cosignature witness key (type 0x04) is accepted too.

        The key hash is re-derived (over the key's own type byte) and a mismatch refused.
        Returns (name, key).
        """
        if not isinstance(vkey, str) or len(vkey) > 1024:
            raise MalformedError("verifier key: not a string of reasonable size")
        vkey = vkey.strip()
        parts = vkey.split("+", 2)  # the name has no "+"; base64 may
        if len(parts) != 3:
            raise MalformedError("verifier key: expected name+hash+key")
        name, hexhash, b64 = parts
        check_note_key_name(name)
        if len(hexhash) != 8 or any(c not in "0123456789abcdef" for c in hexhash):
            raise MalformedError("verifier key: hash must be 8 lowercase hex digits")
        blob = b64std_decode(b64, "verifier key")
        types = (0x01, 0x04) if cosignature else (0x01,)
        if len(blob) != 33 or blob[0] not in types:
            what = "0x01, or 0x04 for a witness" if cosignature else "0x01"
            raise MalformedError(f"verifier key: only Ed25519 (type {what}) keys of 32 bytes")
        key = cls(blob[1:])
        digest = hashlib.sha256(name.encode() + b"\n" + blob[:1] + key.raw).digest()
        if digest[:4].hex() != hexhash:
            raise MalformedError("verifier key: key hash does not match name and key")
        return name, key

    # -- use ------------------------------------------------------------------------------
    def verify(self, signature: bytes, message: bytes, length: int | None = None) -> None:
        """Raise InvalidSignatureError unless ``signature`` is valid for ``message``, or with
        ``length`` for ``message[:length]``, which is not copied (a JWS signs the token up to
        its last dot)."""
        if length is None:
            length = len(message)
        elif not 0 <= length <= len(message):  # (an int: callers are the program's own)
            raise InvalidSignatureError("invalid signature: no such message")
        if self._sodium and _SODIUM_CHECKS_ITSELF:
            # libsodium reads its smlen bytes of signature || message: the signature and the
            # prefix; it refuses S >= L and a small-order R itself (checked at import)
            if len(signature) != 64 or _sodium_lib_open(
                _sodium_null, _sodium_null, signature + message, length + 64, self.raw
            ):
                raise InvalidSignatureError("invalid signature")
            return
        if (
            len(signature) != 64
            or (
                signature[63] >= 0x10
                and (signature[63] > 0x10 or int.from_bytes(signature[32:], "little") >= _L)
            )
            or signature[:32] in SMALL_ORDER_ENCODINGS
        ):  # = not _encoding_ok(signature), inline (this runs once per token)
            raise InvalidSignatureError("invalid signature")
        if self._sodium:
            if _sodium_lib_open is not None:
                if _sodium_lib_open(
                    _sodium_null, _sodium_null, signature + message, length + 64, self.raw
                ):
                    raise InvalidSignatureError("invalid signature")
            elif not _sodium_check(signature + message[:length], self.raw):
                raise InvalidSignatureError("invalid signature")
            return
        try:
            self._crypto.verify(signature, message if length == len(message) else message[:length])
        except InvalidSignature:
            raise InvalidSignatureError("invalid signature") from None

    def with_backend(self, backend: str) -> PublicKey:
        """The same key, verifying through the named backend (one of ``BACKENDS``)."""
        return PublicKey(self.raw, backend=backend)

    # -- ids and exports ------------------------------------------------------------------
    def jwk(self) -> dict[str, str]:
        """The key as an RFC 8037 OKP JWK (``kty``, ``crv``, ``x``)."""
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(self.raw)}

    @property
    def thumbprint(self) -> str:
        """RFC 7638 JWK thumbprint, base64url SHA-256: the key id for JOSE and COSE."""
        if self._thumbprint is None:
            self._thumbprint = jwk_thumbprint(self.raw)
        return self._thumbprint

    def pem(self) -> bytes:
        """The key as SubjectPublicKeyInfo PEM."""
        from cryptography.hazmat.primitives import serialization  # PEM only: kept off start-up

        return self._crypto.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def note_key_hash(self, name: str) -> bytes:
        """C2SP signed-note key hash: SHA-256(name || 0x0A || 0x01 || pub)[:4]."""
        check_note_key_name(name)
        return hashlib.sha256(name.encode() + b"\n\x01" + self.raw).digest()[:4]

    def verifier_key(self, name: str) -> str:
        """C2SP note verifier key string ``name+hexhash+base64(0x01||pub)``."""
        blob = b64std_encode(b"\x01" + self.raw)
        return f"{name}+{self.note_key_hash(name).hex()}+{blob}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"PublicKey({self.thumbprint})"


_JWK_HEAD = b'{"crv":"Ed25519","kty":"OKP","x":"'


def jwk_thumbprint(raw: bytes) -> str:
    """RFC 7638 thumbprint of the OKP JWK of a raw Ed25519 key (a hash: no key validation).

    The canonical JSON of {"kty": "OKP", "crv": "Ed25519", "x": ...} is written out directly
    (members sorted, no spaces; base64url needs no escaping): the replay computes one for every
    holder and one-time key. A test compares it with json_dumps_canonical of the JWK."""
    x = base64.urlsafe_b64encode(raw).rstrip(b"=")
    digest = hashlib.sha256(b"".join((_JWK_HEAD, x, b'"}'))).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_note_key_name(name: str) -> None:
    """C2SP: a key name is non-empty UTF-8 with no Unicode spaces and no plus."""
    try:
        encoded = name.encode() if isinstance(name, str) else None
    except UnicodeEncodeError as e:  # a lone surrogate (from argv or any other text source)
        raise MalformedError("note key name: not Unicode text (a lone surrogate)") from e
    if encoded is None or not name or len(encoded) > 255:
        raise MalformedError("note key name: must be 1 to 255 bytes")
    if "+" in name or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise MalformedError("note key name: no spaces, control characters or '+'")


class SigningKey:
    """An Ed25519 private key. Never printed; export only via ``to_pem``."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = PublicKey(key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """From the 32-byte RFC 8032 secret (for test vectors and fixed test keys)."""
        if len(seed) != 32:
            raise MalformedError("Ed25519 secret: must be exactly 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with the passphrase when one is given."""
        from cryptography.hazmat.primitives import serialization  # PEM only: kept off start-up

        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> SigningKey:
        """Load a PKCS#8 PEM; refuses other algorithms and says when a passphrase is needed."""
        from cryptography.hazmat.primitives import serialization  # PEM only: kept off start-up

        if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data and not passphrase:
            raise KeyStoreError("private key is encrypted: a passphrase is required")
        try:
            key = serialization.load_pem_private_key(data, password=passphrase or None)
        except TypeError as e:
            if passphrase:
                raise KeyStoreError("private key is not encrypted; no passphrase needed") from e
            raise KeyStoreError("private key is encrypted: a passphrase is required") from e
        except ValueError as e:
            if passphrase and b"ENCRYPTED" in data:
                raise KeyStoreError("private key: wrong passphrase or corrupt file") from e
            raise MalformedError("private key: not a valid PKCS#8 PEM") from e
        except UnsupportedAlgorithm as e:
            raise MalformedError("private key: unsupported algorithm; only Ed25519") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise MalformedError(
                f"private key: {type(key).__name__.removeprefix('_')} given; only Ed25519"
            )
        return cls(key)

    def __repr__(self) -> str:
        return f"SigningKey(public={self.public_key.thumbprint})"
