"""COSE_Sign1 (RFC 9052 section 4.2) with EdDSA over deterministic CBOR. No I/O; results depend
only on the arguments (decoded protected headers are memoised by their bytes; a copy is returned).

Used by CWT license tokens and by ledger entries. Only what this project needs: tag 18, one
signer, EdDSA (alg -8), empty external AAD, an attached payload. The algorithm is bound to the
key: ``verify_sign1`` checks that the protected ``alg`` is EdDSA and never looks elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keys import PublicKey, SigningKey
from keys.errors import InvalidSignatureError, MalformedError

from . import cbor

__all__ = [
    "ALG_EDDSA",
    "HDR_ALG",
    "HDR_CONTENT_TYPE",
    "HDR_CRIT",
    "HDR_KID",
    "HDR_TYP",
    "TAG_SIGN1",
    "Sign1",
    "decode_protected",
    "parse_sign1",
    "sign1",
    "verify_sign1",
]

TAG_SIGN1 = 18
ALG_EDDSA = -8
HDR_ALG, HDR_CRIT, HDR_CONTENT_TYPE, HDR_KID, HDR_TYP = 1, 2, 3, 4, 16  # RFC 9052, RFC 9596


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed, not yet verified, COSE_Sign1."""

    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        """The Sig_structure this message's signature covers (RFC 9052 section 4.4)."""
        return _sig_structure(self.protected_bytes, self.payload)


def _sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    # = cbor.encode(["Signature1", protected_bytes, b"", payload]), spelled out for speed
    return b"".join(
        (
            b"\x84\x6aSignature1",
            cbor.encode_bstr_head(len(protected_bytes)),
            protected_bytes,
            b"\x40",
            cbor.encode_bstr_head(len(payload)),
            payload,
        )
    )


def sign1(
    protected: dict[Any, Any],
    payload: bytes,
    key: SigningKey,
    unprotected: dict[Any, Any] | None = None,
) -> bytes:
    """Sign ``payload``; ``protected`` must name alg EdDSA. Returns tagged COSE_Sign1 bytes."""
    if protected.get(HDR_ALG) != ALG_EDDSA:
        raise MalformedError("COSE_Sign1: protected header must carry alg EdDSA (-8)")
    pbytes = cbor.encode(protected)
    tbs = _sig_structure(pbytes, payload)
    msg = [pbytes, unprotected or {}, payload, key.sign(tbs)]
    return cbor.encode(cbor.Tag(TAG_SIGN1, msg))


_PROTECTED_CACHE: dict[bytes, dict[Any, Any]] = {}
_PROTECTED_CACHE_CAP = 256


def decode_protected(pbytes: bytes, max_size: int) -> dict[Any, Any]:
    """Decode a protected header; one signer writes one header, so flat ones are cached."""
    cached = _PROTECTED_CACHE.get(pbytes)
    if cached is not None:
        return dict(cached)
    protected = cbor.decode(pbytes, max_size=max_size)
    if not isinstance(protected, dict) or not protected:
        raise MalformedError("COSE_Sign1: protected header must be a non-empty map")
    if len(pbytes) <= 1024 and all(isinstance(v, int | str | bytes) for v in protected.values()):
        if len(_PROTECTED_CACHE) >= _PROTECTED_CACHE_CAP:
            _PROTECTED_CACHE.clear()
        _PROTECTED_CACHE[pbytes] = dict(protected)
    return protected


def parse_sign1(data: bytes, *, max_size: int, require_tag: bool = True) -> Sign1:
    """Strictly decode a COSE_Sign1. Structure only; the signature is not checked here."""
    top = cbor.decode(data, max_size=max_size, tags=frozenset({TAG_SIGN1}))
    if isinstance(top, cbor.Tag):
        top = top.value
    elif require_tag:
        raise MalformedError("COSE_Sign1: missing tag 18")
    if not isinstance(top, list) or len(top) != 4:
        raise MalformedError("COSE_Sign1: must be an array of 4 items")
    pbytes, unprotected, payload, signature = top
    if not isinstance(pbytes, bytes) or not pbytes:
        raise MalformedError("COSE_Sign1: protected header must be a non-empty byte string")
    protected = decode_protected(pbytes, max_size)
    if not isinstance(unprotected, dict):
        raise MalformedError("COSE_Sign1: unprotected header must be a map")
    if set(protected) & set(unprotected):
        raise MalformedError("COSE_Sign1: a header label is both protected and unprotected")
    if not isinstance(payload, bytes):
        raise MalformedError("COSE_Sign1: payload must be an attached byte string")
    if not isinstance(signature, bytes):
        raise MalformedError("COSE_Sign1: signature must be a byte string")
    return Sign1(pbytes, protected, unprotected, payload, signature)


def verify_sign1(msg: Sign1, key: PublicKey) -> None:
    """Raise unless alg is EdDSA in the protected header and the signature verifies."""
    if msg.protected.get(HDR_ALG) != ALG_EDDSA:
        raise InvalidSignatureError("COSE_Sign1: alg must be EdDSA (-8) in the protected header")
    key.verify(msg.signature, msg.to_be_signed())
