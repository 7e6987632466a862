"""Strict JWT (JWS compact, EdDSA) reading: the reference every faster reader must equal.

SPEC.md section 4: three base64url parts; a header of exactly alg EdDSA, typ, kid (never a
key or a key reference, no ``crit``, no ``b64``); strict JSON (no duplicate members, no NaN,
UTF-8, depth cap); the claim set and types checked. This module reads no memo and imports no
fast reader: every call decides from the bytes alone.
"""

from __future__ import annotations

from typing import Any

from keys import PublicKey, json_loads_strict
from keys.errors import InvalidSignatureError, MalformedError, UntrustedKeyError

from ._fields import (
    JWT_TYP,
    MAX_TOKEN_JSON_DEPTH,
    MAX_TOKEN_SIZE,
    ROLE_ISSUER,
    TokenFields,
    Trust,
    VerifiedToken,
    b64url,
    build,
    check_time,
    str_claim,
)

JWT_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "cnf", "lic"})
JWT_REQUIRED = ("iss", "sub", "iat", "nbf", "exp", "jti", "cnf", "lic")
# Header parameters that would let a token choose its own key: never honoured, always refused.
KEY_HEADERS = ("jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256")


def check_header(header: Any) -> str:
    """The kid of a decoded JWS header, after every header check."""
    if not isinstance(header, dict):
        raise MalformedError("JWT header: must be a JSON object")
    for name in KEY_HEADERS:
        if name in header:
            raise UntrustedKeyError(
                f"JWT header: {name!r} is refused; keys come from the trust store"
            )
    if "crit" in header:
        raise MalformedError("JWT header: no critical extension ('crit') is understood")
    if "b64" in header:
        raise MalformedError("JWT header: 'b64' is refused (RFC 7797 payloads are not accepted)")
    extra = set(header) - {"alg", "typ", "kid"}
    if extra:
        raise MalformedError(f"JWT header: unexpected parameter(s) {sorted(extra)}")
    if header.get("alg") != "EdDSA":
        raise InvalidSignatureError("JWT header: alg must be EdDSA, the algorithm of the key")
    if header.get("typ") != JWT_TYP:
        raise MalformedError(f"JWT header: typ must be {JWT_TYP!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise MalformedError("JWT header: kid must be a non-empty string")
    return kid


def header_kid(h: bytes) -> str:
    """The kid of the base64url header part ``h``, after decoding it strictly and checking it."""
    header = json_loads_strict(
        b64url(h, "JWT header"), max_size=MAX_TOKEN_SIZE, what="JWT header",
        max_depth=MAX_TOKEN_JSON_DEPTH,
    )  # fmt: skip
    return check_header(header)


def split(token: bytes) -> tuple[bytes, bytes, bytes, str]:
    """(header part, payload part, signature part, kid), the header checked."""
    parts = token.split(b".")
    if len(parts) != 3:
        raise MalformedError("JWT: must be three base64url parts separated by dots (JWS compact)")
    h, p, s = parts
    return h, p, s, header_kid(h)


def claims_json(payload: bytes) -> Any:
    """The decoded payload: strict JSON within the size and depth caps."""
    return json_loads_strict(
        payload, max_size=MAX_TOKEN_SIZE, what="JWT claims", max_depth=MAX_TOKEN_JSON_DEPTH
    )


def fields(token: bytes, p: bytes, kid: str) -> dict[str, Any]:
    """The fields of the payload part ``p``, after the claim set and cnf checks (``build``
    checks the values' types)."""
    claims = claims_json(b64url(p, "JWT payload"))
    if not isinstance(claims, dict):
        raise MalformedError("JWT claims: must be a JSON object")
    extra = claims.keys() - JWT_CLAIMS
    if extra:
        raise MalformedError(f"JWT claims: unexpected claim(s) {sorted(extra)}")
    for name in JWT_REQUIRED:
        if name not in claims:
            raise MalformedError(f"JWT claims: missing required claim {name!r}")
    cnf = claims["cnf"]
    if not isinstance(cnf, dict) or set(cnf) != {"jwk"}:
        raise MalformedError("claim cnf: must be {'jwk': <OKP Ed25519 JWK>}")
    jti = claims["jti"]
    str_claim(jti, "jti")
    return {
        "format": "jwt", "raw": token, "kid": kid,
        "iss": claims["iss"], "sub": claims["sub"], "aud": claims.get("aud"),
        "iat": claims["iat"], "nbf": claims["nbf"], "exp": claims["exp"], "jti": jti,
        "holder": PublicKey.from_jwk(cnf["jwk"]), "lic": claims["lic"],
    }  # fmt: skip


def decode(cls: type[TokenFields], token: bytes) -> Any:
    """The token of ``cls``, decoded strictly; the signature is not checked."""
    _h, p, _s, kid = split(token)
    return build(cls, fields(token, p, kid))


def verify(token: bytes, trust: Trust, now: int, leeway: int) -> VerifiedToken:
    """Header, issuer key, signature, claims, time: in that order, each raising its error."""
    h, p, s, kid = split(token)
    key = trust.lookup(kid, ROLE_ISSUER, now)
    key.verify(b64url(s, "JWT signature"), token, len(h) + 1 + len(p))
    result: VerifiedToken = build(VerifiedToken, fields(token, p, kid))
    check_time(result, now, leeway)
    return result
