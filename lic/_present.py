"""Holder-bound presentations: the holder proves possession of its ``cnf`` key to a verifier.

A presentation is a JWS compact (EdDSA) with typ ``lic-pres+jwt``, signed by the token's holder
key, over the verifier's audience and nonce, the token's digest and a short validity window.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from keys import SigningKey, b64url_decode, b64url_encode, json_dumps_canonical, json_loads_strict
from keys.errors import ExpiredError, InvalidSignatureError, MalformedError, UntrustedKeyError

from .tokens import DEFAULT_LEEWAY, MAX_LEEWAY, TokenFields, token_bytes, token_digest

__all__ = [
    "MAX_PRESENTATION_LIFETIME",
    "PRESENTATION_TYP",
    "Presentation",
    "present",
    "verify_presentation",
]

PRESENTATION_TYP = "lic-pres+jwt"
MAX_PRESENTATION_LIFETIME = 600
MAX_PRESENTATION_SIZE = 4096
_CLAIMS = frozenset({"aud", "nonce", "iat", "exp", "tok"})


@dataclass(frozen=True, slots=True)
class Presentation:
    """A verified presentation: the audience and nonce it answers, its validity window and the
    digest of the token whose holder signed it."""

    audience: str
    nonce: str
    iat: int
    exp: int
    token_digest: bytes


def _text(v: object, what: str) -> str:
    if not isinstance(v, str) or not v or len(v) > 512:
        raise MalformedError(f"{what}: must be a non-empty string of at most 512 characters")
    return v


def present(
    token: bytes | str,
    holder_key: SigningKey,
    *,
    audience: str,
    nonce: str,
    now: int,
    lifetime: int = 120,
) -> bytes:
    """Sign a presentation of ``token`` for ``audience`` over the verifier's ``nonce``."""
    _text(audience, "audience")
    _text(nonce, "nonce")
    if not 0 < lifetime <= MAX_PRESENTATION_LIFETIME:
        raise MalformedError(f"lifetime: 1 to {MAX_PRESENTATION_LIFETIME} seconds")
    header = {"alg": "EdDSA", "kid": holder_key.public_key.thumbprint, "typ": PRESENTATION_TYP}
    claims = {"aud": audience, "nonce": nonce, "iat": now, "exp": now + lifetime,
              "tok": b64url_encode(token_digest(token_bytes(token)))}  # fmt: skip
    h = b64url_encode(json_dumps_canonical(header)).encode()
    p = b64url_encode(json_dumps_canonical(claims)).encode()
    return h + b"." + p + b"." + b64url_encode(holder_key.sign(h + b"." + p)).encode()


def verify_presentation(
    presentation: bytes | str,
    token: TokenFields,
    *,
    audience: str,
    nonce: str,
    now: int,
    leeway: int = DEFAULT_LEEWAY,
) -> Presentation:
    """Check that the holder of (already verified) ``token`` signed this presentation for
    ``audience`` and ``nonce`` and that it is fresh at ``now``. Raises on any failure."""
    if not 0 <= leeway <= MAX_LEEWAY:
        raise MalformedError(f"leeway: 0 to {MAX_LEEWAY} seconds")
    raw = presentation.encode("ascii", "replace") if isinstance(presentation, str) else presentation
    if len(raw) > MAX_PRESENTATION_SIZE:
        raise MalformedError(f"presentation larger than {MAX_PRESENTATION_SIZE} bytes")
    parts = raw.split(b".")
    if len(parts) != 3:
        raise MalformedError("presentation: must be a JWS compact (three parts)")
    h, p, s = parts
    header = json_loads_strict(b64url_decode(h, "presentation header"), max_size=1024,
                               what="presentation header", max_depth=2)  # fmt: skip
    if not isinstance(header, dict) or set(header) != {"alg", "kid", "typ"}:
        raise MalformedError("presentation header: exactly alg, kid and typ")
    if header["alg"] != "EdDSA":
        raise InvalidSignatureError("presentation: alg must be EdDSA")
    if header["typ"] != PRESENTATION_TYP:
        raise MalformedError(f"presentation: typ must be {PRESENTATION_TYP!r}")
    if header["kid"] != token.holder.thumbprint:
        raise UntrustedKeyError("presentation: not signed by the token's holder key")
    token.holder.verify(b64url_decode(s, "presentation signature"), h + b"." + p)
    claims = json_loads_strict(b64url_decode(p, "presentation claims"), max_size=2048,
                               what="presentation claims", max_depth=2)  # fmt: skip
    if not isinstance(claims, dict) or set(claims) != _CLAIMS:
        raise MalformedError(f"presentation claims: exactly {sorted(_CLAIMS)}")
    iat, exp = claims["iat"], claims["exp"]
    for name, v in (("iat", iat), ("exp", exp)):
        if type(v) is not int or v < 0:
            raise MalformedError(f"presentation {name}: must be an integer NumericDate")
    if not 0 < exp - iat <= MAX_PRESENTATION_LIFETIME:
        raise MalformedError(f"presentation: lifetime must be 1 to {MAX_PRESENTATION_LIFETIME} s")
    if iat > now + leeway:
        raise ExpiredError("presentation issued in the future")
    if exp + leeway <= now:
        raise ExpiredError("presentation expired")
    aud, got_nonce = _text(claims["aud"], "presentation aud"), _text(claims["nonce"], "nonce")
    if not hmac.compare_digest(aud.encode(), audience.encode()):
        raise InvalidSignatureError("presentation: made for another audience")
    if not hmac.compare_digest(got_nonce.encode(), nonce.encode()):
        raise InvalidSignatureError("presentation: nonce does not match the verifier's")
    digest = b64url_decode(_text(claims["tok"], "presentation tok"), "presentation tok")
    if not hmac.compare_digest(digest, token.digest):
        raise InvalidSignatureError("presentation: made for another token")
    return Presentation(aud, got_nonce, iat, exp, digest)
