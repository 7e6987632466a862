"""Strict CWT (COSE_Sign1, EdDSA) reading: the reference every faster reader must equal.

SPEC.md section 4: a tagged COSE_Sign1 in strict deterministic CBOR; alg, kid and typ in the
protected header, an empty unprotected header, no key material and no ``crit``; the claim
set, its types and the holder's COSE_Key checked. This module reads no memo of this package
and imports no fast reader (``cose.parse_sign1`` keeps its own memo of decoded protected
headers, by their bytes, and returns a copy: the ledger reads many envelopes of few authors).
"""

from __future__ import annotations

from typing import Any

from keys import PublicKey, b64url_encode
from keys.errors import InvalidSignatureError, MalformedError, UntrustedKeyError

from .. import cbor, cose
from ._fields import (
    CWT_TYP,
    MAX_TOKEN_SIZE,
    ROLE_ISSUER,
    TokenFields,
    Trust,
    VerifiedToken,
    build,
    check_time,
)

# CWT claim keys (RFC 8392 section 4, RFC 8747 for cnf); the license claim keeps its text name.
C_ISS, C_SUB, C_AUD, C_EXP, C_NBF, C_IAT, C_CTI, C_CNF = 1, 2, 3, 4, 5, 6, 7, 8
C_LIC = "lic"
CWT_KEYS = frozenset({C_ISS, C_SUB, C_AUD, C_EXP, C_NBF, C_IAT, C_CTI, C_CNF, C_LIC})
CWT_REQUIRED = (C_ISS, C_SUB, C_IAT, C_NBF, C_EXP, C_CTI, C_CNF, C_LIC)
CWT_NAMES = {C_ISS: "iss", C_SUB: "sub", C_AUD: "aud", C_EXP: "exp", C_NBF: "nbf",
             C_IAT: "iat", C_CTI: "cti", C_CNF: "cnf", C_LIC: "lic"}  # fmt: skip
COSE_KEY_LABELS = (33, 34, 35, -1)  # x5chain, x5t, x5u, and COSE_Key in headers (RFC 9360)


def check_headers(protected: dict[Any, Any], unprotected: dict[Any, Any]) -> str:
    """The kid (base64url) of a COSE_Sign1's decoded header buckets, after every check."""
    for label in COSE_KEY_LABELS:
        if label in protected or label in unprotected:
            raise UntrustedKeyError(
                "CWT: key material in a header is refused; keys come from the trust store"
            )
    if cose.HDR_CRIT in protected or cose.HDR_CRIT in unprotected:
        raise MalformedError("CWT: no critical header parameter ('crit') is understood")
    if unprotected:
        raise MalformedError("CWT: the unprotected header must be empty")
    extra = set(protected) - {cose.HDR_ALG, cose.HDR_KID, cose.HDR_TYP}
    if extra:
        raise MalformedError(f"CWT: unexpected protected header label(s) {sorted(map(str, extra))}")
    if protected.get(cose.HDR_ALG) != cose.ALG_EDDSA:
        raise InvalidSignatureError("CWT: alg must be EdDSA (-8), the algorithm of the key")
    if protected.get(cose.HDR_TYP) != CWT_TYP:
        raise MalformedError(f"CWT: typ must be {CWT_TYP!r}")
    kid = protected.get(cose.HDR_KID)
    if not isinstance(kid, bytes) or len(kid) != 32:
        raise MalformedError("CWT: kid must be the 32-byte RFC 7638 thumbprint")
    return b64url_encode(kid)


def decode_license_claim(raw: bytes) -> Any:
    """The license claim's value from its exact bytes, cut out of the claims map by
    ``cbor.decode_map_split`` (so it sits at depth 1)."""
    return cbor.decode(raw, max_size=MAX_TOKEN_SIZE, depth=1)


def fields(token: bytes, payload: bytes, kid: str) -> dict[str, Any]:
    """The fields of the claims ``payload``, after the claim set, cti and cnf checks
    (``build`` checks the values' types)."""
    claims, lic_raw = cbor.decode_map_split(payload, max_size=MAX_TOKEN_SIZE, last_key=C_LIC)
    if lic_raw is not None:
        claims[C_LIC] = decode_license_claim(lic_raw)
    extra = claims.keys() - CWT_KEYS
    if extra:
        raise MalformedError(f"CWT claims: unexpected claim key(s) {sorted(map(str, extra))}")
    for label in CWT_REQUIRED:
        if label not in claims:
            raise MalformedError(f"CWT claims: missing required claim {CWT_NAMES[label]!r}")
    cti = claims[C_CTI]
    if not isinstance(cti, bytes) or not 1 <= len(cti) <= 64:
        raise MalformedError("claim cti: must be 1 to 64 bytes")
    cnf = claims[C_CNF]
    if not isinstance(cnf, dict) or set(cnf) != {1}:
        raise MalformedError("claim cnf: must be {1: COSE_Key}")
    ck = cnf[1]
    if not isinstance(ck, dict) or set(ck) != {1, -1, -2} or ck[1] != 1 or ck[-1] != 6:
        raise MalformedError(
            "claim cnf: COSE_Key must be exactly {1: 1 (OKP), -1: 6 (Ed25519), -2: x}"
        )
    if not isinstance(ck[-2], bytes):
        raise MalformedError("claim cnf: COSE_Key x must be a byte string")
    return {
        "format": "cwt", "raw": token, "kid": kid,
        "iss": claims[C_ISS], "sub": claims[C_SUB], "aud": claims.get(C_AUD),
        "iat": claims[C_IAT], "nbf": claims[C_NBF], "exp": claims[C_EXP],
        "jti": b64url_encode(cti), "holder": PublicKey.from_raw(ck[-2]), "lic": claims[C_LIC],
    }  # fmt: skip


def parse(token: bytes) -> tuple[cose.Sign1, str]:
    """The COSE_Sign1 and its kid, the headers checked."""
    msg = cose.parse_sign1(token, max_size=MAX_TOKEN_SIZE)
    return msg, check_headers(msg.protected, msg.unprotected)


def decode(cls: type[TokenFields], token: bytes) -> Any:
    """The token of ``cls``, decoded strictly; the signature is not checked."""
    msg, kid = parse(token)
    return build(cls, fields(token, msg.payload, kid))


def verify(token: bytes, trust: Trust, now: int, leeway: int) -> VerifiedToken:
    """Structure and headers, issuer key, signature, claims, time: in that order."""
    msg, kid = parse(token)
    cose.verify_sign1(msg, trust.lookup(kid, ROLE_ISSUER, now))
    result: VerifiedToken = build(VerifiedToken, fields(token, msg.payload, kid))
    check_time(result, now, leeway)
    return result
