"""The one place that reads a token: the byte-exact reader of its format first, the strict
reader when that declines.

Results depend only on the token, the trust store's answers and ``now`` (and ``leeway``):
the fast readers give exactly what the strict ones would (they decline where they could
differ), and their memo (``_cache.CACHE``) only saves repeating a strict check on bytes
already checked, so it cannot change a result. Nothing here reads the clock, files or the
network.
"""

from __future__ import annotations

from keys import PublicKey

from . import _cwt, _cwt_fast, _jwt, _jwt_fast
from ._fields import (
    DEFAULT_LEEWAY,
    MAX_TOKEN_SIZE,
    ROLE_ISSUER,
    OneKey,
    Trust,
    UnverifiedToken,
    VerifiedToken,
    check_leeway,
    check_time,
    is_cwt,
    token_bytes,
)


def verify(
    token: bytes | str, trust: Trust, *, now: int, leeway: int = DEFAULT_LEEWAY
) -> VerifiedToken:
    """Verify a token issued by a key the trust store holds with the issuer role, at ``now``.

    Raises MalformedError, InvalidSignatureError, UntrustedKeyError or ExpiredError; returns
    the verified token (its ``license`` is ready for ``evaluate``). ``trust.lookup(kid, role,
    now)`` gives the signer's key or raises.
    """
    if type(now) is not int or leeway is not DEFAULT_LEEWAY:  # (identity: 60.0 is checked)
        check_leeway(now, leeway)
    raw = token if type(token) is bytes and 0 < len(token) <= MAX_TOKEN_SIZE else token_bytes(token)
    result: VerifiedToken
    if raw[0] == 0xD2:  # tag 18: a COSE_Sign1 (is_cwt)
        cwt = _cwt_fast.read(VerifiedToken, raw)
        if cwt is None:
            return _cwt.verify(raw, trust, now, leeway)
        result, sig, message = cwt
        trust.lookup(result.kid, ROLE_ISSUER, now).verify(sig, message)
    else:
        jwt = _jwt_fast.read(VerifiedToken, raw)
        if jwt is None:
            return _jwt.verify(raw, trust, now, leeway)
        result, sig, signed = jwt
        trust.lookup(result.kid, ROLE_ISSUER, now).verify(sig, raw, signed)  # raw[:signed]
    if result.nbf > now + leeway or result.exp + leeway <= now or result.iat > now + leeway:
        check_time(result, now, leeway)  # raises, with the reason
    return result


def verify_with_key(
    token: bytes | str,
    key: PublicKey,
    *,
    kid: str | None = None,
    now: int,
    leeway: int = DEFAULT_LEEWAY,
) -> VerifiedToken:
    """Verify against one given key (a sublicense link against its parent's holder key)."""
    check_leeway(now, leeway)
    return verify(token_bytes(token), OneKey(key, kid or key.thumbprint), now=now, leeway=leeway)


def decode_unverified(token: bytes | str) -> UnverifiedToken:
    """Decode strictly WITHOUT verifying signature, issuer or time (to read kid/iss/sub/cnf)."""
    raw = token_bytes(token)
    if is_cwt(raw):
        cwt = _cwt_fast.read(UnverifiedToken, raw)
        result: UnverifiedToken = _cwt.decode(UnverifiedToken, raw) if cwt is None else cwt[0]
    else:
        jwt = _jwt_fast.read(UnverifiedToken, raw)
        result = _jwt.decode(UnverifiedToken, raw) if jwt is None else jwt[0]
    return result
