"""Token issuance: JWTs signed through pyjwt's JWS layer, CWTs through ``lic.cose``.

The claims are serialised here, as SPEC.md 4.2 pins them, and pyjwt signs those bytes:
``jwt.encode`` would serialise the claims itself (members in insertion order, non-ASCII
escaped), which is not the SPEC's encoding. pyjwt writes the header as we would (members
sorted, compact) and Ed25519 signatures are deterministic, so a token is byte-identical to
the one our own JWS code wrote for the same inputs (tests/vectors holds them).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from keys import PublicKey, SigningKey, b64url_decode, b64url_encode, json_dumps_canonical
from keys.errors import MalformedError

from .. import cbor, cose
from .._model import MAX_INT, License
from ._cwt import C_AUD, C_CNF, C_CTI, C_EXP, C_IAT, C_ISS, C_LIC, C_NBF, C_SUB
from ._fields import CWT_TYP, JWT_TYP, MAX_TOKEN_SIZE, TokenFormat

if TYPE_CHECKING:
    from jwt.api_jws import PyJWS

DEFAULT_LIFETIME = 365 * 86400  # seconds a root token is valid when no end is given


@functools.cache
def _jws() -> PyJWS:
    """pyjwt's JWS signer, built on the first issuance: importing pyjwt costs start-up time
    that a command which only verifies or reads the ledger should not pay."""
    from jwt.api_jws import PyJWS

    return PyJWS(algorithms=["EdDSA"])


def jwt_payload(claims: dict[str, Any]) -> bytes:
    """Compact JSON, member names sorted, except that ``lic`` comes last (SPEC.md 4.2)."""
    rest = {k: v for k, v in claims.items() if k != "lic"}
    return json_dumps_canonical(rest)[:-1] + b',"lic":' + json_dumps_canonical(claims["lic"]) + b"}"


def _sign_jwt(payload: bytes, kid: str, key: SigningKey) -> bytes:
    token = _jws().encode(
        payload, key.to_pem(), algorithm="EdDSA", headers={"kid": kid, "typ": JWT_TYP}
    )
    return token.encode("ascii")


def _cose_key(pub: PublicKey) -> dict[int, Any]:
    return {1: 1, -1: 6, -2: pub.raw}  # kty OKP, crv Ed25519, x


def _check_claims(iss: str, sub: str, aud: Sequence[str], times: dict[str, int]) -> None:
    for name, v in (("iss", iss), ("sub", sub), *(("aud", a) for a in aud)):
        if not isinstance(v, str) or not v or len(v) > 1024:
            raise MalformedError(f"{name}: must be a non-empty string")
    for name, t in times.items():
        if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t <= MAX_INT:
            raise MalformedError(f"{name}: must be an integer number of seconds")
    if times["exp"] <= times["nbf"]:
        raise MalformedError("exp must be after nbf")


def sign_token(
    license: License,
    key: SigningKey,
    holder: PublicKey,
    *,
    iss: str,
    sub: str,
    iat: int,
    nbf: int,
    exp: int,
    aud: Sequence[str] = (),
    fmt: TokenFormat = "jwt",
    jti: bytes | None = None,
) -> bytes:
    """Encode and sign a token exactly as given (no vocabulary check; see ``issue``)."""
    _check_claims(iss, sub, aud, {"iat": iat, "nbf": nbf, "exp": exp})
    jti = os.urandom(16) if jti is None else jti
    kid = key.public_key.thumbprint
    if fmt == "jwt":
        claims: dict[str, Any] = {"iss": iss, "sub": sub, "iat": iat, "nbf": nbf, "exp": exp,
                                  "jti": b64url_encode(jti), "cnf": {"jwk": holder.jwk()},
                                  "lic": license.to_claim()}  # fmt: skip
        if aud:
            claims["aud"] = aud[0] if len(aud) == 1 else list(aud)
        token = _sign_jwt(jwt_payload(claims), kid, key)
    elif fmt == "cwt":
        cclaims: dict[Any, Any] = {C_ISS: iss, C_SUB: sub, C_IAT: iat, C_NBF: nbf, C_EXP: exp,
                                   C_CTI: jti, C_CNF: {1: _cose_key(holder)},
                                   C_LIC: license.to_claim()}  # fmt: skip
        if aud:
            cclaims[C_AUD] = aud[0] if len(aud) == 1 else list(aud)
        protected = {cose.HDR_ALG: cose.ALG_EDDSA, cose.HDR_KID: b64url_decode(kid),
                     cose.HDR_TYP: CWT_TYP}  # fmt: skip
        token = cose.sign1(protected, cbor.encode(cclaims), key)
    else:
        raise MalformedError("token format must be jwt or cwt")
    if len(token) > MAX_TOKEN_SIZE:
        raise MalformedError(f"token larger than {MAX_TOKEN_SIZE} bytes")
    return token


def issue(
    license: License,
    key: SigningKey,
    holder: PublicKey,
    *,
    iss: str,
    sub: str,
    now: int,
    lifetime: int | None = None,
    nbf: int | None = None,
    exp: int | None = None,
    aud: Sequence[str] = (),
    fmt: TokenFormat = "jwt",
    jti: bytes | None = None,
) -> bytes:
    """Issue a root license token signed by an issuer key. Unknown vocabulary codes are refused.

    Valid from ``nbf`` (default ``now``) until ``exp``, or for ``lifetime`` seconds (default
    365 days), never both; ``exp`` must be after ``nbf``. ``holder`` goes into ``cnf``.
    """
    license.check_known_codes()
    if license.parent is not None:
        raise MalformedError("a root license has no parent; use delegate for a sublicense")
    start = now if nbf is None else nbf
    if exp is not None:
        if lifetime is not None:
            raise MalformedError("give the end of validity or the lifetime, not both")
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= start:
            raise MalformedError("not after: must be after not before (the start of validity)")
        end = exp
    else:
        lifetime = DEFAULT_LIFETIME if lifetime is None else lifetime
        if not isinstance(lifetime, int) or lifetime <= 0:
            raise MalformedError("lifetime: must be a positive number of seconds")
        end = start + lifetime
    return sign_token(license, key, holder, iss=iss, sub=sub, iat=now, nbf=start,
                      exp=end, aud=aud, fmt=fmt, jti=jti)  # fmt: skip
